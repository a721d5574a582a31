// Namespace ids (h.nsids: RTM_GETNSID by fd, RTM_NEWNSID, RTM_GETNSID dump)
// against `ip netns set` / `ip -j netns list-id`, both ways; the id a veth
// peer's namespace got reads the same as the link's IFLA_LINK_NETNSID; an
// unnamed namespace; refusals.
import { afterAll, describe, expect, it } from 'vitest';
import { createAnonymousNetns, NetlinkError, NotFoundError, ValidationError, type NetworkNamespace } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

describe('namespace ids', () => {
  const box = useNetns('a', 'b', 'c', 'd', 'e');
  const h = () => box.h('a');
  const listId = () => ipJson<Array<{ nsid: number; name?: string }>>(box.ns('a'), 'netns', 'list-id');
  const opened: NetworkNamespace[] = [];
  afterAll(() => opened.forEach((ns) => ns.close()));

  it('an id set by ip is read by get and list', async () => {
    ip(box.ns('a'), 'netns', 'set', box.ns('b'), '5');
    expect(await h().nsids.get(box.ns('b'))).toEqual({ id: 5, name: box.ns('b') });
    expect(await h().nsids.list()).toEqual([{ id: 5, name: box.ns('b') }]);
    // The dump takes no filter: one given was ignored (every id listed), now refused.
    await expect(h().nsids.list({ name: box.ns('c') } as never)).rejects.toThrow(ValidationError);
  });

  it('an id added by nlkit (given, or picked by the kernel) is listed by ip netns list-id', async () => {
    await h().nsids.add({ netns: box.ns('c'), id: 9 });
    await h().nsids.add({ netns: { name: box.ns('d') } });
    const d = await h().nsids.get({ name: box.ns('d') });
    expect(d.id).not.toBe(5);
    expect(d.id).not.toBe(9);
    const fromIp = listId().sort((x, y) => x.nsid - y.nsid);
    const expected = [
      { nsid: 5, name: box.ns('b') },
      { nsid: 9, name: box.ns('c') },
      { nsid: d.id, name: box.ns('d') },
    ].sort((x, y) => x.nsid - y.nsid);
    expect(fromIp).toEqual(expected);
    expect((await h().nsids.list()).map((e) => ({ nsid: e.id, name: e.name }))).toEqual(expected);
  });

  it('the id of a veth peer namespace is the link-netnsid of the veth', async () => {
    await h().links.add({ name: 'ids0', kind: 'veth', peer: { name: 'ids1', netns: box.ns('e') } });
    const link = await h().links.get('ids0');
    const e = await h().nsids.get(box.ns('e'));
    expect(link.linkNetnsId).toBe(e.id);
    expect(ipJson(box.ns('a'), 'link', 'show', 'dev', 'ids0')[0].link_netnsid).toBe(e.id);
  });

  it('an unnamed namespace gets an id and is listed without a name', async () => {
    const anon = await createAnonymousNetns();
    opened.push(anon);
    expect(await h().nsids.find(anon)).toBeUndefined();
    await h().nsids.add({ netns: anon, id: 77 });
    expect((await h().nsids.get(anon)).id).toBe(77);
    expect(await h().nsids.list()).toContainEqual({ id: 77 });
    expect(listId()).toContainEqual({ nsid: 77 });
  });

  it('a namespace without an id is a NotFoundError (find: undefined); taken ids and second ids are EEXIST', async () => {
    const other = box.h('b');
    await expect(other.nsids.get(box.ns('c'))).rejects.toBeInstanceOf(NotFoundError);
    expect(await other.nsids.find(box.ns('c'))).toBeUndefined();
    expect(await other.nsids.list()).toEqual([]);
    const taken = await h()
      .nsids.add({ netns: box.ns('b'), id: 9 })
      .catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(NetlinkError);
    expect((taken as NetlinkError).code).toBe('EEXIST');
    await expect(h().nsids.add({ netns: box.ns('c'), id: 10 })).rejects.toMatchObject({ code: 'EEXIST' });
    // A namespace that does not exist is the namespace's NotFoundError, also for find.
    await expect(h().nsids.find('nlkit-no-such-netns')).rejects.toMatchObject({ name: 'NotFoundError', what: 'network namespace' });
  });

  it('wrong options are ValidationErrors naming the field; nothing is assigned', async () => {
    for (const id of [-1, 1.5, 2 ** 31, '3', NaN]) {
      await expect(h().nsids.add({ netns: box.ns('b'), id } as never)).rejects.toMatchObject({ name: 'ValidationError', field: 'id' });
    }
    await expect(h().nsids.add({ netns: 5 } as never)).rejects.toMatchObject({ name: 'ValidationError', field: 'netns' });
    await expect(h().nsids.add({ netns: box.ns('b'), nsid: 3 } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(h().nsids.get(7 as never)).rejects.toBeInstanceOf(ValidationError);
    expect(listId()).toHaveLength(5);
  });
});
