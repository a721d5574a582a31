// A network's interface group holds nlkit's host veths, but anyone can put a link there (`ip link set X
// group N`). Detaching all of a network's sandboxes (detachAll, network delete) deletes only nlkit's veths of
// that network, by index, and leaves any other member in place with a process warning. An unmarked veth of a
// dead attach (it died before marking it) goes too, also once its network's record is gone (the attach's
// intent recorded the group). Foreign links are made with `ip`; what is left is read back with `ip -j`.
import { describe, expect, it } from 'vitest';
import { pendingIntents } from '../../lib/network/intents';
import { hostVethName, vethMark } from '../../lib/network/names';
import { SCRATCH_GROUP } from '../../lib/network/veth-owner';
import { useForeignLinkHost } from '../helpers/foreign-links';
import { ipJson } from '../helpers/netns';

describe("a foreign link in a network's interface group", () => {
  const lab = useForeignLinkHost('t9-grp', ['gf', 'gd', 'gz', 'gs', 'gt', 'gr', 'gb']);
  /** An intent of a dead process (a pid that does not run): an attach that died before marking its veth. */
  const deadAttach = (network: string, id: string, group?: number) => lab.deadAttachIntent(network, id, { pid: 4194000, mac: '02:00:00:00:00:09', group });
  type IpLink = { ifname: string; ifindex: number; group: string; link_type: string };
  const links = () => ipJson(lab.host(), 'link', 'show') as IpLink[];
  const names = () => links().map((l) => l.ifname);
  const groupOf = async (net: string) => (await lab.nets.get(net)).group;
  const stateTag = () => (lab.nets as unknown as { ctx: { store: { tag: string } } }).ctx.store.tag;

  it('detachAll() leaves a foreign veth put into the group, warns, and deletes nlkit veths', async () => {
    await lab.nets.create({ name: 'gf', subnet: '10.94.0.0/24' });
    const atts = [
      await lab.nets.attach('gf', { sandbox: lab.sandbox('ga'), create: true }),
      await lab.nets.attach('gf', { sandbox: lab.sandbox('gb'), create: true }),
    ];
    lab.ipHost('link', 'add', 'fx', 'type', 'veth', 'peer', 'name', 'fy');
    lab.ipHost('link', 'set', 'fx', 'group', String(await groupOf('gf')));
    const fx = links().find((l) => l.ifname === 'fx')?.ifindex;
    expect(await lab.nets.detachAll('gf')).toBe(2);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(links().find((l) => l.ifname === 'fx')).toMatchObject({ ifindex: fx, group: String(await groupOf('gf')) });
    expect(names()).toContain('fy');
    for (const a of atts) expect(names()).not.toContain(a.hostIfname);
    expect(lab.foreignWarnings()).toEqual([expect.stringMatching(new RegExp(`fx \\(index ${fx}\\), in network gf's interface group, left untouched`))]);
    lab.ipHost('link', 'del', 'fx');
  });

  // The scratch group (the network's group + 0x8000) is where a detach of several veths moves them to delete
  // them in one request; a link someone else put there must not go with them.
  it('a detach of several (not all) sandboxes leaves a foreign link in the scratch group', async () => {
    await lab.nets.create({ name: 'gs', subnet: '10.94.3.0/24' });
    const a = await lab.nets.attach('gs', { sandbox: lab.sandbox('sa'), create: true });
    const b = await lab.nets.attach('gs', { sandbox: lab.sandbox('sb'), create: true });
    const c = await lab.nets.attach('gs', { sandbox: lab.sandbox('sc'), create: true });
    const scratch = String((await groupOf('gs')) + SCRATCH_GROUP);
    lab.ipHost('link', 'add', 't9-scr', 'group', scratch, 'type', 'bridge');
    const index = links().find((l) => l.ifname === 't9-scr')?.ifindex;
    expect(await lab.nets.detach('gs', [{ id: a.id }, { id: b.id }])).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(links().find((l) => l.ifname === 't9-scr')).toMatchObject({ ifindex: index, group: scratch });
    expect(names()).not.toContain(a.hostIfname);
    expect(names()).not.toContain(b.hostIfname);
    expect(names()).toContain(c.hostIfname);
    lab.ipHost('link', 'del', 't9-scr');
  });

  it('detachAll() leaves a foreign link in the scratch group and still deletes every nlkit veth', async () => {
    await lab.nets.create({ name: 'gt', subnet: '10.94.4.0/24' });
    const atts = [
      await lab.nets.attach('gt', { sandbox: lab.sandbox('ta'), create: true }),
      await lab.nets.attach('gt', { sandbox: lab.sandbox('tb'), create: true }),
    ];
    const scratch = String((await groupOf('gt')) + SCRATCH_GROUP);
    lab.ipHost('link', 'add', 't9-scr2', 'group', scratch, 'type', 'bridge');
    expect(await lab.nets.detachAll('gt')).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(links().find((l) => l.ifname === 't9-scr2')).toMatchObject({ group: scratch });
    for (const x of atts) expect(names()).not.toContain(x.hostIfname);
    expect(lab.foreignWarnings()).toEqual([expect.stringMatching(/t9-scr2 .* in network gt's interface group, left untouched: a bridge/)]);
    lab.ipHost('link', 'del', 't9-scr2');
  });

  // check() calls a link in the group that no attachment claims a stray veth, and reconcile() deletes it: only
  // nlkit's veths of the network are strays (its mark), not what detach leaves as foreign. A crashed attach's
  // unmarked veth goes with its intent (reconcile undoes the attach first); one named like it that no intent names
  // is left (network-foreign-left.test.ts).
  it("reconcile() deletes a crashed attach's veth and a marked stray, not a foreign link in the group", async () => {
    await lab.nets.create({ name: 'gr', subnet: '10.94.5.0/24' });
    const att = await lab.nets.attach('gr', { sandbox: lab.sandbox('ra'), create: true });
    const group = String(await groupOf('gr'));
    lab.ipHost('link', 'add', 't9-ubr', 'group', group, 'type', 'bridge');
    lab.ipHost('link', 'add', 't9-uv', 'group', group, 'type', 'veth', 'peer', 'name', 't9-uvp');
    lab.ipHost('link', 'add', 't9-ov', 'group', group, 'type', 'veth', 'peer', 'name', 't9-ovp');
    lab.ipHost('link', 'set', 't9-ov', 'alias', 'nlkit:0badcafe:gr/x'); // another state directory's mark
    const crashed = hostVethName('gr', 'crashed');
    lab.ipHost('link', 'add', crashed, 'group', group, 'type', 'veth', 'peer', 'name', 't9-crp');
    deadAttach('gr', 'crashed', Number(group));
    const stray = hostVethName('gr', 'stray');
    lab.ipHost('link', 'add', stray, 'group', group, 'type', 'veth', 'peer', 'name', 't9-stp');
    lab.ipHost('link', 'set', stray, 'alias', vethMark(stateTag(), 'gr', 'stray'));
    expect((await lab.nets.check()).map((d) => [d.kind, d.link])).toEqual([
      ['stray-veth', stray],
      ['interrupted-attach', undefined],
    ]);
    await lab.nets.reconcile();
    expect(names()).not.toContain(crashed);
    expect(names()).not.toContain(stray);
    for (const n of [att.hostIfname, 't9-ubr', 't9-uv', 't9-ov']) expect(names()).toContain(n);
    expect(await lab.nets.check()).toEqual([]);
    for (const n of ['t9-ubr', 't9-uv', 't9-ov']) lab.ipHost('link', 'del', n);
  });

  // The bridge's name can come to mean another link (nlkit's bridge deleted, a user's made under its name):
  // network delete deletes it only if it is nlkit's (a bridge with the network's mark, or unmarked with the
  // network's recorded bridge MAC: a create that died before marking it), else warns (network-foreign-left.test.ts).
  it("network delete leaves a user's link that took the bridge's name", async () => {
    await lab.nets.create({ name: 'gb', subnet: '10.94.6.0/24', bridge: 't9-gbbr' });
    lab.ipHost('link', 'del', 't9-gbbr');
    lab.ipHost('link', 'add', 't9-gbbr', 'type', 'bridge');
    lab.ipHost('link', 'set', 't9-gbbr', 'alias', "the user's");
    const index = links().find((l) => l.ifname === 't9-gbbr')?.ifindex;
    expect(await lab.nets.delete('gb')).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(links().find((l) => l.ifname === 't9-gbbr')?.ifindex).toBe(index);
    expect(lab.foreignWarnings()).toEqual([expect.stringMatching(/delete network gb: t9-gbbr, .* left untouched: .* has alias "the user's"/)]);
    lab.ipHost('link', 'del', 't9-gbbr');
  });

  it("network delete leaves a foreign bridge in the group, and deletes a dead attach's unmarked veth", async () => {
    await lab.nets.create({ name: 'gd', subnet: '10.94.1.0/24' });
    const att = await lab.nets.attach('gd', { sandbox: lab.sandbox('gc'), create: true });
    const group = String(await groupOf('gd'));
    lab.ipHost('link', 'add', 'fdum', 'group', group, 'type', 'bridge');
    const dead = hostVethName('gd', 'dead1');
    lab.ipHost('link', 'add', dead, 'group', group, 'type', 'veth', 'peer', 'name', 't9-deadp');
    deadAttach('gd', 'dead1');
    expect(await lab.nets.delete('gd')).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(names()).toContain('fdum');
    expect(names()).not.toContain(dead);
    expect(names()).not.toContain(att.hostIfname);
    expect(lab.foreignWarnings()).toEqual([expect.stringMatching(/fdum .* in network gd's interface group, left untouched: a bridge/)]);
    await lab.nets.reconcile(); // settles the dead attach (its veth is gone already)
    expect(pendingIntents(lab.stateDir)).toEqual([]);
    lab.ipHost('link', 'del', 'fdum');
  });

  it("reconcile deletes a dead attach's unmarked veth once its network's record is gone (the intent's group)", async () => {
    await lab.nets.create({ name: 'gz', subnet: '10.94.2.0/24' });
    const group = await groupOf('gz');
    const dead = hostVethName('gz', 'dead2');
    lab.ipHost('link', 'add', dead, 'group', String(group), 'type', 'veth', 'peer', 'name', 't9-deadq');
    deadAttach('gz', 'dead2', group);
    expect(await lab.nets.delete('gz')).toBe(true); // no attachment: the group is not read
    expect(names()).toContain(dead);
    expect((await lab.nets.check()).map((d) => d.kind)).toEqual(['interrupted-attach']);
    await lab.nets.reconcile();
    await new Promise((r) => setImmediate(r));
    expect(names()).not.toContain(dead);
    expect(lab.foreignWarnings()).toEqual([]);
    expect(pendingIntents(lab.stateDir)).toEqual([]);
    expect(await lab.nets.check()).toEqual([]);
  });
});
