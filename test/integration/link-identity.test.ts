// getLinkOwnership (internal: an attach's bridge proof, a host veth's check) reads index, kind, parent, name,
// alias, group and MAC from the reply without decoding the whole link: the same values as links.get(), and as
// `ip -d -j link` reports them.
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../lib';
import { getLinkOwnership } from '../../lib/rtnetlink/link-identity';
import { ipJson, useNetns } from '../helpers/netns';

describe('getLinkOwnership', () => {
  const box = useNetns('host', 'peer');

  it('agrees with links.get() and ip for a bridge, a veth with its peer in another namespace, a macvlan on the bridge and lo', async () => {
    const h = box.h('host');
    await h.links.add({ name: 'idbr0', kind: 'bridge' });
    await h.links.set('idbr0', { alias: 'some mark', group: 7 });
    await h.links.add({ name: 'idv0', kind: 'veth', master: 'idbr0', peer: { name: 'eth0', netns: box.ns('peer') } });
    await h.links.add({ name: 'idvl0', kind: 'macvlan', parent: 'idbr0', mode: 'bridge' });
    for (const name of ['idbr0', 'idv0', 'idvl0', 'lo']) {
      const got = await h.run(getLinkOwnership(name));
      const full = await h.links.get(name);
      expect(got).toEqual({
        index: full.index,
        kind: full.kind,
        parentIndex: full.parentIndex,
        name: full.name,
        alias: full.alias || undefined,
        group: full.group,
        mac: full.mac,
      });
      const ipl = ipJson(box.ns('host'), '-d', 'link', 'show', 'dev', name)[0];
      expect(got.index).toBe(ipl.ifindex);
      expect(got.kind).toBe(ipl.linkinfo?.info_kind);
      expect(got.mac).toBe(ipl.address);
      expect(got.alias).toBe(ipl.ifalias);
    }
    expect(await h.run(getLinkOwnership('idbr0'))).toMatchObject({ alias: 'some mark', group: 7 });
    // The veth's parent is its peer's index in the other namespace (ip shows it as link_index there).
    const peer = ipJson(box.ns('peer'), 'link', 'show', 'dev', 'eth0')[0];
    expect((await h.run(getLinkOwnership('idv0'))).parentIndex).toBe(peer.ifindex);
    expect((await h.run(getLinkOwnership('idbr0'))).parentIndex).toBeUndefined();
    expect((await h.run(getLinkOwnership('idvl0'))).parentIndex).toBe((await h.links.get('idbr0')).index);
    expect((await h.run(getLinkOwnership('idbr0'))).kind).toBe('bridge');
  });

  it('a missing link is a NotFoundError, as getLink', async () => {
    await expect(box.h('host').run(getLinkOwnership('idnone0'))).rejects.toThrow(NotFoundError);
  });
});
