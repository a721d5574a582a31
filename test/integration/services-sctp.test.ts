// An SCTP service port with real packets. This kernel tracks and NATs SCTP
// but has no SCTP sockets, so the client sends a hand-built INIT (raw
// socket, CRC32c checksum) to the VIP and a raw socket in the endpoint's
// namespace shows it arriving DNATed to the endpoint's address and target
// port, its checksum rewritten along. With no endpoint the INIT is refused at
// once with ICMP port unreachable, and nothing reaches the endpoint.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { services, type ServiceManager } from '../../lib/services/manager';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { sctpInit } from '../helpers/sctp';

const VIP = '10.96.8.10';
const VIP6 = 'fd96::8:10';

describe('services: an SCTP port with real packets', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let svcs: ServiceManager;
  let stateDir: string;
  const c = { client: uniqueNetnsName('sc'), e1: uniqueNetnsName('s1') };
  const ip4: Record<string, string> = {};
  const ip6: Record<string, string> = {};

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-svc-sctp-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    svcs = await services({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'sctp', subnet: '10.98.0.0/24', subnet6: 'fd98::/64' });
    for (const [name, ns] of Object.entries(c)) {
      const a = await nets.attach('sctp', { sandbox: ns, create: true });
      ip4[name] = (a.ipv4 ?? '').split('/')[0];
      ip6[name] = (a.ipv6 ?? '').split('/')[0];
    }
  });
  afterAll(async () => {
    for (const s of (await svcs?.list()) ?? []) await svcs.delete(s.name).catch(() => undefined);
    svcs?.close();
    await nets?.delete('sctp', { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('without a service, an INIT to the VIP reaches no endpoint (the probe can fail)', async () => {
    const { seen } = await sctpInit(c.client, c.e1, VIP, 3868, { timeoutSeconds: 1 });
    expect(seen).toEqual({ timeout: true });
  });

  it('DNATs an INIT to the VIP to the endpoint address and target port, checksum rewritten, IPv4 and IPv6', async () => {
    await svcs.add({
      name: 'diameter',
      vips: [VIP, VIP6],
      ports: [{ port: 3868, protocol: 'sctp', targetPort: 3869 }],
      endpoints: [{ ip: ip4.e1 }, { ip: ip6.e1 }],
    });
    const v4 = await sctpInit(c.client, c.e1, VIP, 3868, { sport: 41000, tag: 0x1234abcd });
    expect(v4.seen).toMatchObject({ dst: ip4.e1, dport: 3869, sport: 41000, vtag: 0, tag: 0x1234abcd, crcOk: true });
    expect(v4.icmp).toBeNull();
    const v6 = await sctpInit(c.client, c.e1, VIP6, 3868, { sport: 41001, tag: 0x5678 });
    expect(v6.seen).toMatchObject({ dst: ip6.e1, dport: 3869, sport: 41001, tag: 0x5678, crcOk: true });
    // other ports of the VIP are not the service's
    expect((await sctpInit(c.client, c.e1, VIP, 3870, { timeoutSeconds: 1 })).seen).toEqual({ timeout: true });
  });

  it('with no endpoint, refuses an INIT at once with ICMP port unreachable, and nothing reaches the old endpoint', async () => {
    await svcs.set('diameter', { endpoints: [] });
    const v4 = await sctpInit(c.client, c.e1, VIP, 3868, { timeoutSeconds: 1.5 });
    expect(v4.icmp).toEqual({ type: 3, code: 3 });
    expect(v4.seen).toEqual({ timeout: true });
    const v6 = await sctpInit(c.client, c.e1, VIP6, 3868, { timeoutSeconds: 1.5 });
    expect(v6.icmp).toEqual({ type: 1, code: 4 });
    expect(v6.seen).toEqual({ timeout: true });
  });
});
