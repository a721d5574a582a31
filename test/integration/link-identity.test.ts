// getLinkIdentity (internal: an attach's bridge check and veth read-back) reads index, kind, name and
// parent from the reply without decoding the whole link: the same values as links.get(), and
// as `ip -d -j link` reports them.
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../lib';
import { getLinkIdentity } from '../../lib/rtnetlink/link-identity';
import { ipJson, useNetns } from '../helpers/netns';

describe('getLinkIdentity', () => {
  const box = useNetns('host', 'peer');

  it('agrees with links.get() and ip for a bridge, a veth with its peer in another namespace, a macvlan on the bridge and lo', async () => {
    const h = box.h('host');
    await h.links.add({ name: 'idbr0', kind: 'bridge' });
    await h.links.add({ name: 'idv0', kind: 'veth', master: 'idbr0', peer: { name: 'eth0', netns: box.ns('peer') } });
    await h.links.add({ name: 'idvl0', kind: 'macvlan', parent: 'idbr0', mode: 'bridge' });
    for (const name of ['idbr0', 'idv0', 'idvl0', 'lo']) {
      const got = await h.run(getLinkIdentity(name));
      const full = await h.links.get(name);
      expect(got).toEqual({ index: full.index, kind: full.kind, parentIndex: full.parentIndex, name: full.name });
      const ipl = ipJson(box.ns('host'), '-d', 'link', 'show', 'dev', name)[0];
      expect(got.index).toBe(ipl.ifindex);
      expect(got.kind).toBe(ipl.linkinfo?.info_kind);
    }
    // The veth's parent is its peer's index in the other namespace (ip shows it as link_index there).
    const peer = ipJson(box.ns('peer'), 'link', 'show', 'dev', 'eth0')[0];
    expect((await h.run(getLinkIdentity('idv0'))).parentIndex).toBe(peer.ifindex);
    expect((await h.run(getLinkIdentity('idbr0'))).parentIndex).toBeUndefined();
    expect((await h.run(getLinkIdentity('idvl0'))).parentIndex).toBe((await h.links.get('idbr0')).index);
    expect((await h.run(getLinkIdentity('idbr0'))).kind).toBe('bridge');
  });

  it('a missing link is a NotFoundError, as getLink', async () => {
    await expect(box.h('host').run(getLinkIdentity('idnone0'))).rejects.toThrow(NotFoundError);
  });
});
