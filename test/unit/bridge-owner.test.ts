// Whose a link found under a network's bridge name is (lib/network/host-conflicts.ts, notOurBridge), the rule
// network delete acts by: a bridge with the network's mark, or unmarked with the bridge MAC the network recorded
// (a create that died before marking it). An unmarked bridge alone proves nothing: `ip link add … type bridge`
// makes one; a record of an earlier version has no MAC.
import { describe, expect, it } from 'vitest';
import { notOurBridge } from '../../lib/network/host-conflicts';
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
