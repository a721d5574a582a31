// The services' own state (one record file per service: its addresses,
// ports, NodePorts and endpoints; the intent journal) is checked when read,
// as the networks' state is: a record file or journal line that is not one
// is a CorruptStateError naming the file and what is wrong, thrown by every
// call that reads it before anything is changed. Read as "no service" (or
// as a service without ports), reconcile() and apply() deleted the live
// dispatch elements; read as it was, a TypeError halfway. The dispatch
// maps are read back with `nft -j list ruleset` after each refusal. A
// record an older nlkit made with a loopback or multicast VIP is reported
// by check() (`address-special`), so that an operator can fix it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptStateError, ValidationError } from '../../lib';
import { services, type ServiceManager } from '../../lib/services/manager';
import type { ServiceSpec } from '../../lib/services/spec';
import { useNetns } from '../helpers/netns';

/** The elements of the services table's dispatch maps, as `nft -j list ruleset` lists them: "map key → chain", sorted. */
function dispatch(ns: string): string[] {
  const items = (
    JSON.parse(execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' })) as {
      nftables: Array<{ map?: { table: string; name: string; elem?: Array<[unknown, { goto?: { target: string } }]> } }>;
    }
  ).nftables;
  const out: string[] = [];
  for (const i of items) {
    if (i.map?.table !== 'nlkit-svc' || !/^(vips|nodeports)[46]$/.test(i.map.name)) continue;
    for (const [key, verdict] of i.map.elem ?? []) out.push(`${i.map.name} ${JSON.stringify(key)} → ${verdict.goto?.target ?? '?'}`);
  }
  return out.sort();
}

const DESIRED: ServiceSpec[] = [
  { name: 'web', vips: ['10.96.9.1', 'fd00:96::9:1'], ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }], endpoints: [{ ip: '10.88.9.2' }] },
  { name: 'db', vips: ['10.96.9.2'], ports: [{ port: 5432 }], endpoints: [{ ip: '10.88.9.3' }] },
];

describe('services: a corrupt record file or journal is a CorruptStateError, never read as no service', () => {
  const box = useNetns('host');
  let svcs: ServiceManager;
  let stateDir: string;
  let live: string[] = [];
  const records = () => path.join(stateDir, 'services', 'records');
  const intents = () => path.join(stateDir, 'services', 'intents');

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-svc-trust-'));
    svcs = await services({ host: box.ns('host'), stateDir });
    await svcs.apply(DESIRED);
    live = dispatch(box.ns('host'));
    // web's VIPs and NodePort (both families), db's VIP
    expect(live).toHaveLength(5);
    expect(live.filter((l) => l.includes('"10.96.9.1"') || l.includes('30080'))).toHaveLength(3);
  });
  afterAll(async () => {
    await svcs?.apply([]).catch(() => undefined);
    svcs?.close();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  /** Every call that reads the records throws `type` naming `file` with `reason`; the dispatch elements are all still there. */
  async function refusedEverywhere(file: string, reason: RegExp, calls = ['list', 'get', 'check', 'reconcile', 'apply', 'set'] as const): Promise<void> {
    const run: Record<(typeof calls)[number], () => Promise<unknown>> = {
      list: () => svcs.list(),
      get: () => svcs.get('web'),
      check: () => svcs.check(),
      reconcile: () => svcs.reconcile(),
      apply: () => svcs.apply(DESIRED),
      set: () => svcs.set('web', { endpoints: [{ ip: '10.88.9.4' }] }),
    };
    for (const call of calls) {
      const e = await run[call]().then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e, call).toBeInstanceOf(CorruptStateError);
      expect((e as CorruptStateError).path, call).toBe(file);
      expect((e as CorruptStateError).reason, call).toMatch(reason);
      expect(dispatch(box.ns('host')), call).toEqual(live);
    }
  }

  it('refuses a record file that is not a record of its service, and changes nothing', async () => {
    const file = path.join(records(), 'web.json');
    const good = fs.readFileSync(file, 'utf8');
    const rec = JSON.parse(good) as Record<string, unknown> & { ports: Array<Record<string, unknown>>; endpoints: Array<Record<string, unknown>> };
    const bad: Array<[string, RegExp]> = [
      ['', /^is not JSON/], // truncated to nothing
      [good.slice(0, 40), /^is not JSON/], // a cut write
      ['null', /^record is not an object$/],
      ['[]', /^record is not an object$/],
      ['{}', /^record\.name is missing$/],
      [JSON.stringify({ ...rec, ports: [] }), /^record\.ports is empty/], // read as a service without ports: reconcile() deleted its dispatch
      [JSON.stringify({ ...rec, ports: undefined }), /^record\.ports is missing$/],
      [JSON.stringify({ ...rec, vips: '10.96.9.1' }), /^record\.vips is not an array$/],
      [JSON.stringify({ ...rec, vips: ['10.96.9.300'] }), /^record\.vips\[0\] is not an IP address/],
      [JSON.stringify({ ...rec, vips: ['FD00:96::9:1'] }), /^record\.vips\[0\] is not in canonical form/],
      [JSON.stringify({ ...rec, endpoints: [{ ...rec.endpoints[0], ip: 5 }] }), /^record\.endpoints\[0\]\.ip is not a string$/],
      [JSON.stringify({ ...rec, endpoints: [{ ...rec.endpoints[0], ready: 'yes' }] }), /^record\.endpoints\[0\]\.ready is not a boolean$/],
      [JSON.stringify({ ...rec, ports: [{ ...rec.ports[0], nodePort: 0 }] }), /^record\.ports\[0\]\.nodePort is not a port 1-65535$/],
      [JSON.stringify({ ...rec, ports: [{ ...rec.ports[0], protocol: 'icmp' }] }), /^record\.ports\[0\]\.protocol is not one of/],
      [JSON.stringify({ ...rec, name: 'db' }), /^record is filed under another name than its own \("db"\)$/],
    ];
    try {
      for (const [text, reason] of bad) {
        fs.writeFileSync(file, text, { mode: 0o600 });
        await refusedEverywhere(file, reason);
        expect(fs.readFileSync(file, 'utf8')).toBe(text); // not rewritten
      }
    } finally {
      fs.writeFileSync(file, good, { mode: 0o600 });
    }
    expect(await svcs.check()).toEqual([]);
  });

  it('refuses a record filed under a name no service can have', async () => {
    const file = path.join(records(), 'Web.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(records(), 'web.json'), 'utf8')), name: 'Web' }), { mode: 0o600 });
    try {
      await refusedEverywhere(file, /^record\.name is not a service name \("Web"\)$/, ['list', 'check', 'reconcile', 'apply']);
    } finally {
      fs.rmSync(file);
    }
    expect(await svcs.check()).toEqual([]);
  });

  it('refuses an intent journal line that is not one; a cut last line (a writer killed mid-line) is not corruption', async () => {
    fs.mkdirSync(intents(), { mode: 0o700, recursive: true });
    const file = path.join(intents(), '4194000-1.log');
    const record = { op: 'publish', network: '', publication: 'web', pid: 4194000, pidStart: '1', started: new Date().toISOString() };
    const begin = JSON.stringify({ t: 'begin', id: '1', record }) + '\n';
    for (const [tail, reason] of [
      ['{"t":"end","id":"1"\n', /^line 2 is not JSON/], // unreadable: the change read as interrupted, reconcile() rolled it back
      ['{"t":"end","id":1}\n', /^line 2: line\.id is not a string$/],
    ] as Array<[string, RegExp]>) {
      fs.writeFileSync(file, begin + tail, { mode: 0o600 });
      await refusedEverywhere(file, reason, ['check', 'reconcile']);
      expect(fs.existsSync(file)).toBe(true); // kept for a human, not swept
    }
    fs.writeFileSync(file, begin + '{"t":"end","id":"1"}\n{"t":"begin","id":"2","rec', { mode: 0o600 });
    expect(await svcs.check()).toEqual([]);
    expect(await svcs.reconcile()).toEqual([]);
    expect(dispatch(box.ns('host'))).toEqual(live);
    fs.rmSync(file, { force: true });
  });

  it('reports a loopback or multicast VIP an older nlkit recorded (address-special), and set() with unicast VIPs fixes it', async () => {
    // As an older nlkit recorded it, before such addresses were refused.
    const old = {
      name: 'old',
      vips: ['127.0.0.53', 'ff02::5'],
      externalIps: ['224.0.0.9'],
      ports: [{ protocol: 'tcp', port: 53, targetPort: 53 }],
      endpoints: [],
    };
    fs.writeFileSync(path.join(records(), 'old.json'), JSON.stringify(old), { mode: 0o600 });
    const found = await svcs.reconcile(); // its dispatch elements made, as the older nlkit had them
    expect(found.filter((d) => d.kind === 'address-special')).toHaveLength(3);
    const drift = await svcs.check();
    expect(drift.map((d) => [d.service, d.kind])).toEqual([
      ['old', 'address-special'],
      ['old', 'address-special'],
      ['old', 'address-special'],
    ]);
    expect(drift[0].detail).toMatch(/^vips 127\.0\.0\.53 is a loopback address/);
    expect(drift[1].detail).toMatch(/^vips ff02::5 is a multicast address/);
    expect(drift[2].detail).toMatch(/^externalIps 224\.0\.0\.9 is a multicast address.*set\('old', \{ externalIps: \[\.\.\.\] \}\)/);
    expect(dispatch(box.ns('host')).some((l) => l.includes('"127.0.0.53"'))).toBe(true); // left as recorded
    await expect(svcs.set('old', { endpoints: [{ ip: '10.88.9.5' }] })).rejects.toThrow(ValidationError);
    await svcs.set('old', { vips: ['10.96.9.3'], externalIps: [] });
    expect(await svcs.check()).toEqual([]);
    expect(dispatch(box.ns('host')).some((l) => l.includes('"127.0.0.53"') || l.includes('"10.96.9.3"'))).toBe(true);
    expect(dispatch(box.ns('host')).some((l) => l.includes('"127.0.0.53"'))).toBe(false);
    await svcs.delete('old');
    expect(dispatch(box.ns('host'))).toEqual(live);
  });
  it('reports a loopback endpoint an older nlkit recorded (address-special), and set() without it fixes it', async () => {
    const old = {
      name: 'oldep',
      vips: ['10.96.9.4'],
      externalIps: [],
      ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }],
      endpoints: [{ ip: '127.0.0.1', weight: 1, ready: true, serving: true, terminating: false }],
    };
    fs.writeFileSync(path.join(records(), 'oldep.json'), JSON.stringify(old), { mode: 0o600 });
    await svcs.reconcile();
    const drift = await svcs.check();
    expect(drift.map((d) => [d.service, d.kind])).toEqual([['oldep', 'address-special']]);
    expect(drift[0].detail).toMatch(/^endpoints 127\.0\.0\.1 is a loopback address.*set\('oldep', \{ endpoints: \[\.\.\.\] \}\)/);
    await expect(svcs.set('oldep', { vips: ['10.96.9.5'] })).rejects.toMatchObject({ field: 'endpoint ip' });
    await svcs.set('oldep', { endpoints: [{ ip: '10.88.9.5' }] });
    expect(await svcs.check()).toEqual([]);
    await svcs.delete('oldep');
    expect(dispatch(box.ns('host'))).toEqual(live);
  });
});
