// Services refuse virtual and external IPs no service can have (loopback,
// unspecified, link-local, multicast, broadcast, also IPv4-mapped) with a
// ValidationError before the kernel is touched: the table's dispatch maps
// and the records are as before, and the host's own 127.0.0.1:80 is not
// taken over by a service's endpoints.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, listenTcp, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { services, type ServiceManager } from '../../lib/services/manager';
import type { ServiceSpec } from '../../lib/services/spec';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

/** The elements of the services table's dispatch maps (vips4, vips6), as `nft` lists them. */
function dispatchMaps(ns: string): string {
  const list = (m: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'map', 'inet', 'nlkit-svc', m], { encoding: 'utf8' });
  return list('vips4') + list('vips6');
}

const SPECIAL: Array<[field: 'vips' | 'externalIps', ip: string, why: RegExp]> = [
  ['vips', '127.0.0.1', /loopback/],
  ['vips', '127.8.9.10', /loopback/],
  ['vips', '::1', /loopback/],
  ['vips', '::ffff:127.0.0.1', /loopback/],
  ['vips', '0.0.0.0', /unspecified/],
  ['vips', '::', /unspecified/],
  ['vips', '169.254.169.254', /link-local/],
  ['vips', 'fe80::1', /link-local/],
  ['vips', '224.0.0.251', /multicast/],
  ['vips', 'ff02::1', /multicast/],
  ['vips', '::ffff:239.1.2.3', /multicast/],
  ['vips', '255.255.255.255', /broadcast/],
  ['vips', '::ffff:10.96.7.9', /IPv4-mapped.*10\.96\.7\.9/],
  ['externalIps', '::ffff:192.0.2.10', /IPv4-mapped/],
  ['externalIps', '127.0.0.1', /loopback/],
  ['externalIps', 'fe80::2', /link-local/],
  ['externalIps', '224.0.0.1', /multicast/],
  ['externalIps', '255.255.255.255', /broadcast/],
];

describe('services: special virtual and external IPs', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let svcs: ServiceManager;
  let stateDir: string;
  const ep = uniqueNetnsName('ep');
  const client = uniqueNetnsName('cl');
  let e1 = '';
  const closers: Array<() => void> = [];

  const web = (): ServiceSpec => ({ name: 'web', vips: ['10.96.7.1', 'fd00:96::7:1'], ports: [{ port: 80 }], endpoints: [{ ip: e1 }] });

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-svc-special-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    svcs = await services({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'spec1', subnet: '10.97.7.0/24' });
    e1 = ((await nets.attach('spec1', { sandbox: ep, create: true })).ipv4 ?? '').split('/')[0];
    await nets.attach('spec1', { sandbox: client, create: true });
    const endpoint = await listenTcp({ netns: ep, port: 80 }, (s) => s.end('endpoint'));
    const hostOwn = await listenTcp({ netns: box.ns('host'), host: '127.0.0.1', port: 80 }, (s) => s.end('host'));
    closers.push(
      () => endpoint.close(),
      () => hostOwn.close(),
    );
    await svcs.add(web()); // the table exists: what a refused change would have written is looked for in it
  });
  afterAll(async () => {
    closers.forEach((f) => f());
    await svcs?.apply([]).catch(() => undefined);
    svcs?.close();
    await nets?.delete('spec1', { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const n of [ep, client]) await deleteNetns(n, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('add, replace, set and apply refuse each special address as a ValidationError and send nothing', async () => {
    const ns = box.ns('host');
    const maps = dispatchMaps(ns);
    expect(maps).toContain('10.96.7.1 . tcp . 80');
    const gen = (await box.h('host').nft.generation.get()).id;
    for (const [field, ip, why] of SPECIAL) {
      const other: ServiceSpec = { name: 'other', vips: ['10.96.7.2'], ports: [{ port: 80 }], endpoints: [{ ip: e1 }], [field]: [ip] };
      const changed: ServiceSpec = { ...web(), [field]: field === 'vips' ? ['10.96.7.1', ip] : [ip] };
      const attempts: Array<[string, () => Promise<unknown>]> = [
        ['add', () => svcs.add(other)],
        ['replace', () => svcs.replace(changed)],
        ['set', () => svcs.set('web', { [field]: changed[field] })],
        ['apply', () => svcs.apply([changed])],
      ];
      for (const [verb, attempt] of attempts) {
        const label = `${verb} ${field} ${ip}`;
        const err = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, label).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field, label).toBe(field);
        expect((err as ValidationError).message, label).toMatch(why);
      }
    }
    // nothing reached the kernel (not one transaction), and the records are as they were
    expect((await box.h('host').nft.generation.get()).id).toBe(gen);
    expect(dispatchMaps(ns)).toBe(maps);
    expect((await svcs.list()).map((s) => [s.name, s.vips, s.externalIps])).toEqual([['web', ['10.96.7.1', 'fd00:96::7:1'], []]]);
    expect(await svcs.check()).toEqual([]);
  });

  it("refuses a VIP that is an address of the host (a network's gateway), in every verb, and sends nothing", async () => {
    const gateway = '10.97.7.1'; // spec1's bridge address
    const gen = (await box.h('host').nft.generation.get()).id;
    const grab: ServiceSpec = { name: 'grab', vips: [gateway], ports: [{ protocol: 'udp', port: 53 }], endpoints: [{ ip: e1 }] };
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['add', () => svcs.add(grab)],
      ['replace', () => svcs.replace({ ...web(), vips: ['10.96.7.1', gateway] })],
      ['set', () => svcs.set('web', { vips: [gateway] })],
      ['apply', () => svcs.apply([web(), grab])],
    ];
    for (const [verb, attempt] of attempts) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, verb).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field, verb).toBe('vips');
      expect((err as ValidationError).message, verb).toMatch(/10\.97\.7\.1.*address of the host/);
    }
    expect((await box.h('host').nft.generation.get()).id).toBe(gen);
    expect((await svcs.list()).map((s) => s.name)).toEqual(['web']);
    // As an external IP it is what the field is for: accepted.
    await svcs.add({ name: 'ext', vips: ['10.96.7.5'], externalIps: [gateway], ports: [{ port: 8081 }], endpoints: [{ ip: e1 }] });
    await svcs.delete('ext');
    expect(await svcs.check()).toEqual([]);
  });

  it("the host's own 127.0.0.1:80 stays the host's; the service answers on its VIP (from a container)", async () => {
    await expect(svcs.add({ name: 'grab', vips: ['127.0.0.1'], ports: [{ port: 80 }], endpoints: [{ ip: e1 }] })).rejects.toBeInstanceOf(ValidationError);
    expect(await hello(box.ns('host'), '127.0.0.1', 80)).toBe('host');
    expect(await hello(client, '10.96.7.1', 80)).toBe('endpoint');
  });
  it("refuses a special endpoint address: a container never reaches the host's loopback-only 127.0.0.1:80 through a VIP", async () => {
    const gen = (await box.h('host').nft.generation.get()).id;
    for (const [ip, why] of [
      ['127.0.0.1', /loopback/],
      ['::1', /loopback/],
      ['::ffff:127.0.0.1', /loopback/],
      ['0.0.0.0', /unspecified/],
      ['169.254.169.254', /link-local/],
      ['224.0.0.1', /multicast/],
      ['255.255.255.255', /broadcast/],
    ] as const) {
      const grab: ServiceSpec = { name: 'grab', vips: ['10.96.7.3', 'fd00:96::7:3'], ports: [{ port: 80 }], endpoints: [{ ip }] };
      for (const [verb, attempt] of [
        ['add', () => svcs.add(grab)],
        ['set', () => svcs.set('web', { endpoints: [{ ip: e1 }, { ip }] })],
        ['apply', () => svcs.apply([web(), grab])],
      ] as const) {
        const err = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, `${verb} ${ip}`).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field, `${verb} ${ip}`).toBe('endpoint ip');
        expect((err as ValidationError).message, `${verb} ${ip}`).toMatch(why);
      }
    }
    expect((await box.h('host').nft.generation.get()).id).toBe(gen);
    // The DNAT would have gone through: nlkit's bridge has route_localnet (for 127.0.0.1 publications).
    expect(await hello(client, '10.96.7.3', 80, 2000)).not.toBe('host');
    expect(await hello(client, '10.96.7.1', 80)).toBe('endpoint');
    expect((await svcs.list()).map((x) => x.name)).toEqual(['web']);
  });
});
