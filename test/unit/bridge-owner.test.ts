// Whose a link found under a network's bridge name is (lib/network/bridge-owner.ts, notOurBridge), the rule
// network delete acts by: a bridge with the network's mark, or unmarked with the bridge MAC the network recorded
// (a create that died before marking it). An unmarked bridge alone proves nothing: `ip link add … type bridge`
// makes one; a record of an earlier version has no MAC. notNetworksBridge, what delete, check() and reconcile's
// rebuild ask, adds the altname holder and the 0.1.0 proof (an unmarked bridge carrying the network's gateway).
import { describe, expect, it } from 'vitest';
import { notNetworksBridge, notOurBridge } from '../../lib/network/bridge-owner';
import { bridgeMark } from '../../lib/network/names';
import type { Link } from '../../lib/rtnetlink/link-types';

const tag = '0123abcd';
const mac = '02:aa:bb:cc:dd:ee';
const ours = { index: 4, name: 'nlk-web', kind: 'bridge', alias: bridgeMark(tag, 'web'), mac: '6a:00:00:00:00:01' } as Link;

describe('notOurBridge', () => {
  it("takes a bridge with the network's mark, or unmarked with the recorded MAC (any case)", () => {
    expect(notOurBridge(tag, 'web', ours, mac)).toBeUndefined();
    expect(notOurBridge(tag, 'web', { ...ours, alias: undefined, mac }, mac)).toBeUndefined();
    expect(notOurBridge(tag, 'web', { ...ours, alias: undefined, mac: mac.toUpperCase() }, mac)).toBeUndefined();
  });

  it('refuses an unmarked bridge with another MAC or without a recorded one, another mark, another kind', () => {
    expect(notOurBridge(tag, 'web', { ...ours, alias: undefined }, mac)).toMatch(
      /nlk-web \(index 4\) is an unmarked bridge with MAC 6a:00:00:00:00:01, not the 02:aa:bb:cc:dd:ee MAC/,
    );
    expect(notOurBridge(tag, 'web', { ...ours, alias: undefined, mac }, undefined)).toMatch(
      /is an unmarked bridge, and network web's record \(of an earlier version\) has no bridge MAC to prove it nlkit's/,
    );
    expect(notOurBridge(tag, 'web', { ...ours, alias: bridgeMark(tag, 'db') }, mac)).toMatch(/has alias "nlkit:0123abcd:db", not "nlkit:0123abcd:web"/);
    expect(notOurBridge(tag, 'web', { ...ours, alias: bridgeMark('ffffffff', 'web') }, mac)).toMatch(/has alias "nlkit:ffffffff:web"/);
    expect(notOurBridge(tag, 'web', { ...ours, alias: `${bridgeMark(tag, 'web')}/c1` }, mac)).toMatch(/has alias/); // a veth's mark
    expect(notOurBridge(tag, 'web', { ...ours, kind: 'veth' } as Link, mac)).toMatch(/is a veth, not nlkit's bridge/);
  });
});

describe('notNetworksBridge', () => {
  const ref = { network: 'web', bridge: 'nlk-web', mac, gateway: '10.0.0.1/24' };
  const old = { network: 'web', bridge: 'nlk-web', gateway: '10.0.0.1/24' }; // a 0.1.0 record: no MAC
  const unmarked = { ...ours, alias: undefined } as Link;

  it("takes nlkit's bridge, and a 0.1.0 record's unmarked bridge carrying the gateway with its prefix", () => {
    expect(notNetworksBridge(tag, ref, ours, undefined)).toBeUndefined();
    expect(notNetworksBridge(tag, old, unmarked, ['10.0.0.1/24'])).toBeUndefined();
  });

  it('refuses an altname holder, a 0.1.0 bridge without the gateway (or with another prefix), and a MAC-less proof for a marked link', () => {
    expect(notNetworksBridge(tag, ref, { ...ours, name: 'br9' }, undefined)).toMatch(/^br9 \(index 4\) carries the name as an altname$/);
    expect(notNetworksBridge(tag, old, unmarked, [])).toMatch(
      /has no bridge MAC to prove it nlkit's, nor does it carry the network's gateway 10\.0\.0\.1\/24$/,
    );
    expect(notNetworksBridge(tag, old, unmarked, ['10.0.0.1/16'])).toMatch(/nor does it carry/);
    expect(notNetworksBridge(tag, old, { ...unmarked, kind: 'veth' } as Link, ['10.0.0.1/24'])).toMatch(/is a veth, not nlkit's bridge/);
    // A record with a MAC is never proven by the gateway: someone's bridge given the address stays someone's.
    expect(notNetworksBridge(tag, ref, unmarked, ['10.0.0.1/24'])).toMatch(/is an unmarked bridge with MAC/);
  });
});
