// reconcile() and a link that holds a network's bridge name but is not nlkit's bridge of it (check() reports
// `bridge-foreign`): the rebuild is asked to prove the link again as it is now (a leftover deleted first frees
// the name), and when it leaves it, reconcile warns (NLKIT_FOREIGN_LINK_LEFT); check() does not count that link's
// route_localnet as drift. A fake context records what is asked.
import { describe, expect, it } from 'vitest';
import type { Link } from '../../lib/rtnetlink/link-types';
import { check, reconcile, type Drift } from '../../lib/network/reconcile';
import type { HostState, NetworkRecord } from '../../lib/network/state';
import { fakeReconcileContext, warningsDuring } from '../helpers/reconcile-context';

const rec = { name: 'n', bridge: 'nlk-n', subnet: '10.9.0.0/24', gateway: '10.9.0.1', group: 0x4e4c0001, mac: '02:00:00:00:00:01' } as NetworkRecord;
const st = { version: 1, networks: { n: rec }, attachments: { n: {} }, publications: {} } as unknown as HostState;
const theirs = { index: 3, name: 'nlk-n', kind: 'bridge', up: false, mac: '02:00:00:00:00:99' } as Link; // made with ip: unmarked, another MAC
const routeLocalnet: Drift = { network: 'n', kind: 'sysctl', detail: 'net.ipv4.conf.nlk-n.route_localnet is 0, not 1' };
const ipForward: Drift = { network: '', kind: 'sysctl', detail: 'net.ipv4.ip_forward is 0, not 1' };

function setting() {
  const host = { links: { list: async () => [theirs], find: async () => theirs }, addresses: { list: async () => [] } };
  const ctx = fakeReconcileContext(host, () => st);
  const asked = { rebuilt: [] as string[] };
  ctx.checkFirewall = async () => [routeLocalnet, ipForward];
  ctx.rebuildNetwork = async (r) => {
    asked.rebuilt.push(r.name);
    return "nlk-n (index 3) is an unmarked bridge with MAC 02:00:00:00:00:99, not the 02:00:00:00:00:01 MAC of network n's bridge";
  };
  return { ctx, asked };
}

describe('reconcile() and a foreign link under a bridge name', () => {
  it('check() reports bridge-foreign, and not the route_localnet of that link', async () => {
    const drift = await check(setting().ctx);
    expect(drift.map((d) => [d.network, d.kind, d.link])).toEqual([
      ['n', 'bridge-foreign', 'nlk-n'],
      ['', 'sysctl', undefined],
    ]);
    expect(drift[0].detail).toMatch(/^nlk-n \(index 3\) is an unmarked bridge with MAC 02:00:00:00:00:99, not the 02:00:00:00:00:01 MAC/);
  });

  it('reconcile() asks the rebuild to prove it again, and warns when it is left', async () => {
    const { ctx, asked } = setting();
    const warnings = await warningsDuring(() => reconcile(ctx));
    expect(asked.rebuilt).toEqual(['n']);
    expect(warnings.map((w) => [(w as Error & { code?: string }).code, w.message])).toEqual([
      [
        'NLKIT_FOREIGN_LINK_LEFT',
        expect.stringMatching(/^reconcile: nlk-n, network n's bridge name, reaches a link nlkit left untouched: nlk-n \(index 3\) is an unmarked bridge/),
      ],
    ]);
  });
});
