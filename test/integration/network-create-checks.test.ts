// What create() and attach() refuse: gateways no host can hold, subnets the
// host namespace already routes or holds addresses of (unless overlapOk), and
// an exhausted pool reaching the caller as IpamExhaustedError.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, ValidationError } from '../../lib';
import { IpamExhaustedError } from '../../lib/network/ipam';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ip, ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

const isValidation = (field: string, message?: RegExp) => (e: unknown) =>
  e instanceof ValidationError && e.field === field && (message === undefined || message.test(e.message));

describe('network manager: what create and attach refuse', () => {
  const box = useNetns('host');
  const sandboxes = [uniqueNetnsName('ex1'), uniqueNetnsName('ex2')];
  let stateDir: string;
  let nets: NetworkManager;
  const bridges = (): string[] => ipJson(box.ns('host'), 'link', 'show', 'type', 'bridge').map((l: { ifname: string }) => l.ifname);

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-chk-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    // The host's own uplink, made with ip: an address, a route, a default route.
    const h = box.ns('host');
    ip(h, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p');
    ip(h, 'link', 'set', 'up0p', 'up');
    ip(h, 'link', 'set', 'up0', 'up');
    ip(h, 'addr', 'add', '10.51.0.5/24', 'dev', 'up0');
    ip(h, 'addr', 'add', 'fd51::5/64', 'dev', 'up0', 'nodad');
    ip(h, 'addr', 'add', '10.46.0.5/24', 'dev', 'up0', 'noprefixroute'); // an address without its route
    ip(h, 'route', 'add', '10.50.0.0/16', 'via', '10.51.0.1');
    ip(h, 'route', 'add', 'default', 'via', '10.51.0.1');
  });
  afterAll(async () => {
    for (const n of await nets.list().catch(() => [])) await nets.delete(n.name).catch(() => undefined);
    nets?.close();
    for (const s of sandboxes) await deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('refuses a gateway on the network or broadcast address (v6: the subnet-router anycast)', async () => {
    await expect(nets.create({ name: 'g', subnet: '10.49.0.0/24', gateway: '10.49.0.0' })).rejects.toSatisfy(isValidation('gateway', /network or broadcast/));
    await expect(nets.create({ name: 'g', subnet: '10.49.0.0/24', gateway: '10.49.0.255' })).rejects.toSatisfy(isValidation('gateway'));
    await expect(nets.create({ name: 'g', subnet: '10.49.0.0/24', subnet6: 'fd49::/64', gateway6: 'fd49::' })).rejects.toSatisfy(
      isValidation('gateway6', /subnet-router anycast/),
    );
    expect(bridges()).toEqual([]);
    // The last usable addresses are fine.
    const n = await nets.create({ name: 'g', subnet: '10.49.0.0/24', gateway: '10.49.0.254', subnet6: 'fd49::/64', gateway6: 'fd49::ffff' });
    expect(ipJson(box.ns('host'), 'addr', 'show', n.bridge)[0].addr_info.map((a: { local: string }) => a.local)).toEqual(
      expect.arrayContaining(['10.49.0.254', 'fd49::ffff']),
    );
  });

  it("refuses subnets overlapping the host's addresses and routes, unless overlapOk", async () => {
    await expect(nets.create({ name: 'o', subnet: '10.51.0.128/25' })).rejects.toSatisfy(isValidation('subnet', /route to 10\.51\.0\.0\/24 via up0/));
    await expect(nets.create({ name: 'o', subnet: '10.46.0.0/24' })).rejects.toSatisfy(isValidation('subnet', /address 10\.46\.0\.5\/24 on up0/));
    await expect(nets.create({ name: 'o', subnet: '10.50.7.0/24' })).rejects.toSatisfy(isValidation('subnet', /route to 10\.50\.0\.0\/16/));
    await expect(nets.create({ name: 'o', subnet: '10.48.0.0/24', subnet6: 'fd51::/64' })).rejects.toSatisfy(isValidation('subnet6', /fd51::\/64 via up0/));
    await expect(nets.create({ name: 'o', subnet: '10.50.7.0/24', overlapOk: 'yes' as never })).rejects.toSatisfy(isValidation('overlapOk'));
    expect(bridges()).toEqual(['nlk-g']);
    // The default route overlaps everything and does not count; neither do nlkit's own bridges.
    const free = await nets.create({ name: 'o', subnet: '10.48.0.0/24', subnet6: 'fd48::/64' });
    expect(free.subnet).toBe('10.48.0.0/24');
    // Routed setups that mean it.
    const routed = await nets.create({ name: 'r', subnet: '10.50.7.0/24', overlapOk: true });
    expect(ipJson(box.ns('host'), 'route', 'show', '10.50.7.0/24')[0].dev).toBe(routed.bridge);
  });

  it('refuses an IPv6 address on a network without an IPv6 subnet, before anything is made', async () => {
    await nets.create({ name: 'v4only', subnet: '10.44.0.0/24' });
    const before = ipJson(box.ns('host'), 'link', 'show', 'type', 'veth').length;
    await expect(nets.attach('v4only', { sandbox: sandboxes[1], create: true, ip6: 'fd44::2' })).rejects.toSatisfy(
      (e: unknown) => e instanceof ValidationError && e.field === 'ip6',
    );
    expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'veth')).toHaveLength(before);
    expect(fs.existsSync(`/run/netns/${sandboxes[1]}`)).toBe(false);
    await nets.delete('v4only');
  });

  it('lets IpamExhaustedError reach the caller as itself, leaving nothing behind', async () => {
    await nets.create({ name: 'tiny', subnet: '10.47.0.0/30' }); // one host address besides the gateway
    const a = await nets.attach('tiny', { sandbox: sandboxes[0], create: true });
    expect(a.ipv4).toBe('10.47.0.2/30');
    const before = ipJson(box.ns('host'), 'link', 'show', 'type', 'veth').length;
    await expect(nets.attach('tiny', { sandbox: sandboxes[1], create: true })).rejects.toBeInstanceOf(IpamExhaustedError);
    expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'veth')).toHaveLength(before);
    expect(fs.existsSync(`/run/netns/${sandboxes[1]}`)).toBe(false); // the namespace it made is gone again
    expect((await nets.get('tiny')).attachments.map((x) => x.id)).toEqual([sandboxes[0]]);
    expect(JSON.parse(fs.readFileSync(path.join(stateDir, 'ipam', 'tiny.json'), 'utf8')).allocations).toEqual({ '10.47.0.2': sandboxes[0] });
    expect(await nets.check()).toEqual([]);
  });
});
