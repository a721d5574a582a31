// links.add() resolves to the indexes the kernel gave the new link, read from its echo of the
// create (NLM_F_ECHO): they must be the ones `ip -j link` reports, in both namespaces for a veth
// whose peer was created in another one.
import { describe, expect, it } from 'vitest';
import { ipJson, useNetns } from '../helpers/netns';

describe('links.add() result', () => {
  const box = useNetns('ae-host', 'ae-peer');

  it("a veth with its peer in another namespace: the host end's index here, the peer's there", async () => {
    const h = box.h('ae-host');
    await h.links.add({ name: 'aebr0', kind: 'bridge' });
    const added = await h.links.add({ name: 'aev0', kind: 'veth', master: 'aebr0', up: true, peer: { name: 'eth0', netns: box.ns('ae-peer') } });
    const host = ipJson(box.ns('ae-host'), 'link', 'show', 'dev', 'aev0')[0];
    const peer = ipJson(box.ns('ae-peer'), 'link', 'show', 'dev', 'eth0')[0];
    expect(added).toEqual({ index: host.ifindex, peerIndex: peer.ifindex });
    // The peer is addressed by that index in its namespace.
    expect(peer.ifindex).not.toBe(host.ifindex);
  });

  it('a veth in this namespace, and kinds without a peer', async () => {
    const h = box.h('ae-host');
    const v = await h.links.add({ name: 'aev1', kind: 'veth', peer: { name: 'aev1p' } });
    const link = (name: string) => ipJson(box.ns('ae-host'), 'link', 'show', 'dev', name)[0].ifindex;
    expect(v).toEqual({ index: link('aev1'), peerIndex: link('aev1p') });
    const br = await h.links.add({ name: 'aebr1', kind: 'bridge' });
    expect(br).toEqual({ index: link('aebr1') });
    const mv = await h.links.add({ name: 'aemv1', kind: 'macvlan', parent: 'aebr1', mode: 'bridge' });
    expect(mv).toEqual({ index: link('aemv1') }); // IFLA_LINK is its parent, not a peer
    const tun = await h.links.add({ name: 'aetun1', kind: 'tun', mode: 'tap' }); // made outside rtnetlink: read back
    expect(tun).toEqual({ index: link('aetun1') });
  });

  it('a link created in another namespace: no index (the kernel reports it there), and nothing echoed to a socket there', async () => {
    const h = box.h('ae-host');
    const before = ipJson(box.ns('ae-peer'), 'link', 'show').length;
    expect(await h.links.add({ name: 'aebr2', kind: 'bridge', netns: box.ns('ae-peer') })).toEqual({});
    expect(ipJson(box.ns('ae-peer'), 'link', 'show').length).toBe(before + 1);
    // The other namespace's handle is not handed a stray echo: its next request still gets its own answer.
    expect((await box.h('ae-peer').links.get('aebr2')).kind).toBe('bridge');
  });
});
