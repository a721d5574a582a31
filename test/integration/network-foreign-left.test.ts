// What nlkit cannot prove is its own it leaves, and says so (an NlkitWarning, code NLKIT_FOREIGN_LINK_LEFT):
// a link that took a network's bridge name (network delete), a veth made with `ip` in a network's interface
// group and named like nlkit's host veths but neither marked nor named by any attach's intent (detachAll,
// reconcile), the unmarked veth of an intent journaled by an earlier build (no `group`) once the network's
// record is gone. What it can prove is its own goes: an attach in flight in another process keeps its unmarked
// veth through a reconcile and a detachAll here; an old intent's veth goes by its network's recorded group.
// Links are made with `ip` in a test namespace and read back with `ip -j`.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pendingIntents } from '../../lib/network/intents';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { hostVethName, vethMark } from '../../lib/network/names';
import { oldNetworkState } from '../helpers/old-network-state';
import { useForeignLinkHost } from '../helpers/foreign-links';
import { exitOf, runCrashFixture, waitUntilStopped } from '../helpers/stopped-child';
import { ipJson, uniqueNetnsName } from '../helpers/netns';

describe('links nlkit cannot prove its own are left, with a warning', () => {
  const lab = useForeignLinkHost('t10', ['fb', 'fu', 'fm', 'fv', 'crash', 'fo', 'fg']);
  /** An attach intent as a build before the `group` field journaled it, of a dead process (a pid that does not run). */
  const oldFormatIntent = (network: string, id: string) => lab.deadAttachIntent(network, id, { pid: 4194001, mac: '02:00:00:00:00:0a' });
  type IpLink = { ifname: string; ifindex: number; group: string; link_type: string; address?: string; ifalias?: string; master?: string };
  const links = () => ipJson(lab.host(), 'link', 'show') as IpLink[];
  const linkNamed = (name: string) => links().find((l) => l.ifname === name);
  const nextTick = () => new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  const groupOf = async (net: string) => String((await lab.nets.get(net)).group);

  it("network delete leaves a bridge made with ip under the bridge's name, warns, and removes the record", async () => {
    await lab.nets.create({ name: 'fb', subnet: '10.95.0.0/24', bridge: 't10-fbbr' });
    lab.ipHost('link', 'del', 't10-fbbr'); // nlkit's bridge goes; someone makes one under its name (unmarked, another MAC)
    lab.ipHost('link', 'add', 't10-fbbr', 'type', 'bridge');
    const index = linkNamed('t10-fbbr')?.ifindex;
    expect(await lab.nets.delete('fb')).toBe(true);
    await nextTick();
    expect(linkNamed('t10-fbbr')).toMatchObject({ ifindex: index, link_type: 'ether' });
    expect(await lab.nets.find('fb')).toBeUndefined();
    expect(lab.foreignWarnings()).toEqual([
      expect.stringMatching(
        new RegExp(
          `delete network fb: t10-fbbr, network fb's bridge name, reaches a link nlkit left untouched: t10-fbbr \\(index ${index}\\) is an unmarked bridge with MAC`,
        ),
      ),
    ]);
    expect(await lab.nets.check()).toEqual([]);
    lab.ipHost('link', 'del', 't10-fbbr');
  });

  // A create that died between adding the bridge and marking it leaves it unmarked: its MAC, fixed at creation and
  // recorded, proves it nlkit's.
  it('network delete deletes its own bridge left unmarked, told by the MAC the network recorded', async () => {
    const rec = await lab.nets.create({ name: 'fu', subnet: '10.95.5.0/24', bridge: 't10-fubr' });
    lab.ipHost('link', 'set', 't10-fubr', 'alias', ''); // the mark cleared
    expect(linkNamed('t10-fubr')).toMatchObject({ address: rec.mac });
    expect(linkNamed('t10-fubr')?.ifalias).toBeUndefined();
    expect(await lab.nets.delete('fu')).toBe(true);
    await nextTick();
    expect(linkNamed('t10-fubr')).toBeUndefined();
    expect(lab.foreignWarnings()).toEqual([]);
  });

  // 0.1.0 made every bridge unmarked, with the kernel's MAC, and recorded none: a network it made is deleted whole
  // after an upgrade, its bridge told by the gateway that version put on it; an unmarked bridge without it stays.
  it("network delete of a record of 0.1.0 (no MAC, bridge unmarked) deletes the bridge carrying the network's gateway", async () => {
    const oldDir = oldNetworkState(
      { name: 'o1', bridge: 't10-o1', net24: '10.95.7', group: 0x4e4c0007 },
      { name: 'o2', bridge: 't10-o2', net24: '10.95.8', group: 0x4e4c0008 },
    );
    for (const name of ['t10-o1', 't10-o2']) lab.ipHost('link', 'add', name, 'up', 'type', 'bridge'); // as 0.1.0 made them
    lab.ipHost('address', 'add', '10.95.7.1/24', 'dev', 't10-o1');
    const old = await networks({ host: lab.host(), stateDir: oldDir });
    try {
      expect(await old.delete('o1')).toBe(true);
      expect(await old.delete('o2')).toBe(true); // its bridge lacks the gateway: not proven nlkit's
      await nextTick();
      expect(linkNamed('t10-o1')).toBeUndefined();
      expect(linkNamed('t10-o2')).toBeDefined();
      expect(lab.foreignWarnings()).toEqual([
        expect.stringMatching(
          /^delete network o2: t10-o2, network o2's bridge name, reaches a link nlkit left untouched: t10-o2 \(index \d+\) is an unmarked bridge, and network o2's record \(of an earlier version\) has no bridge MAC to prove it nlkit's, nor does it carry the network's gateway 10\.95\.8\.1\/24$/,
        ),
      ]);
      expect(await old.list()).toEqual([]);
    } finally {
      old.close();
      for (const name of ['t10-o1', 't10-o2']) if (linkNamed(name)) lab.ipHost('link', 'del', name);
      fs.rmSync(oldDir, { recursive: true, force: true });
    }
  });

  // A create stopped (the fault hook's `:stop`) right after it made and marked its bridge; meanwhile the bridge
  // goes and another link takes its name as an altname (the kernel's lookup by name matches altnames). The rest
  // of the create, and its rollback, act on the bridge it made (by index): the other link gets no gateway and
  // is not deleted.
  it('a create whose bridge was replaced by an altname holder neither addresses nor deletes that link', async () => {
    const child = runCrashFixture(lab.host(), lab.stateDir, 'create', 'unused', 'create:3:stop' /* after 'create bridge' */);
    const exited = exitOf(child);
    try {
      await waitUntilStopped(child.pid as number);
      expect(linkNamed('nlk-crash')?.ifalias).toBe(`nlkit:${stateTag(lab.nets)}:crash`);
      lab.ipHost('link', 'del', 'nlk-crash');
      lab.ipHost('link', 'add', 't10-fx', 'type', 'bridge'); // someone's, unmarked
      lab.ipHost('link', 'property', 'add', 'dev', 't10-fx', 'altname', 'nlk-crash');
      const index = linkNamed('t10-fx')?.ifindex;
      child.kill('SIGCONT');
      const run = await exited;
      expect(run.status).not.toBe(0); // the bridge it made is gone: the create fails, and is rolled back
      expect(linkNamed('t10-fx')?.ifindex).toBe(index);
      expect(ipJson(lab.host(), 'address', 'show', 'dev', 't10-fx')[0]?.addr_info ?? []).toEqual([]);
      expect(await lab.nets.find('crash')).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
      child.kill('SIGCONT');
      await exited;
      if (linkNamed('t10-fx')) lab.ipHost('link', 'del', 't10-fx');
    }
  });

  it("network delete leaves another state's bridge, and a veth, under the bridge's name", async () => {
    await lab.nets.create({ name: 'fm', subnet: '10.95.1.0/24', bridge: 't10-fmbr' });
    lab.ipHost('link', 'del', 't10-fmbr');
    lab.ipHost('link', 'add', 't10-fmbr', 'type', 'bridge');
    lab.ipHost('link', 'set', 't10-fmbr', 'alias', 'nlkit:0badcafe:fm'); // another state directory's mark of a network of that name
    expect(await lab.nets.delete('fm')).toBe(true);
    await nextTick();
    expect(linkNamed('t10-fmbr')).toBeDefined();
    expect(lab.foreignWarnings()).toEqual([expect.stringMatching(/t10-fmbr \(index \d+\) has alias "nlkit:0badcafe:fm", not "nlkit:[0-9a-f]{8}:fm"/)]);
    lab.ipHost('link', 'del', 't10-fmbr');
    lab.clearWarnings();

    await lab.nets.create({ name: 'fm', subnet: '10.95.1.0/24', bridge: 't10-fmbr' });
    lab.ipHost('link', 'del', 't10-fmbr');
    lab.ipHost('link', 'add', 't10-fmbr', 'type', 'veth', 'peer', 'name', 't10-fmp');
    expect(await lab.nets.delete('fm')).toBe(true);
    await nextTick();
    expect(linkNamed('t10-fmbr')).toBeDefined();
    expect(lab.foreignWarnings()).toEqual([expect.stringMatching(/t10-fmbr \(index \d+\) is a veth, not nlkit's bridge/)]);
    lab.ipHost('link', 'del', 't10-fmbr');
  });

  it("a veth made with ip in the group, named like nlkit's, unmarked and in no intent, survives detachAll() and reconcile()", async () => {
    await lab.nets.create({ name: 'fv', subnet: '10.95.2.0/24' });
    const att = await lab.nets.attach('fv', { sandbox: lab.sandbox('fva'), create: true });
    const group = await groupOf('fv');
    const lookalike = hostVethName('fv', 'nobody'); // "nv" + 12 hex, as nlkit names host veths
    lab.ipHost('link', 'add', lookalike, 'group', group, 'type', 'veth', 'peer', 'name', 't10-lkp');
    const index = linkNamed(lookalike)?.ifindex;

    expect(await lab.nets.detachAll('fv')).toBe(1);
    await nextTick();
    expect(linkNamed(att.hostIfname)).toBeUndefined();
    expect(linkNamed(lookalike)).toMatchObject({ ifindex: index, group });
    expect(lab.foreignWarnings()).toEqual([
      expect.stringMatching(new RegExp(`detach from network fv: ${lookalike} \\(index ${index}\\), in network fv's interface group, left untouched`)),
    ]);
    lab.clearWarnings();

    expect(await lab.nets.check()).toEqual([]); // not a stray: nothing proves it nlkit's
    await lab.nets.reconcile();
    await nextTick();
    expect(linkNamed(lookalike)).toMatchObject({ ifindex: index, group });
    expect(linkNamed('t10-lkp')).toBeDefined();
    expect(lab.foreignWarnings()).toEqual([
      expect.stringMatching(new RegExp(`reconcile: ${lookalike} \\(index ${index}\\), in network fv's interface group, left untouched: a veth`)),
    ]);
    lab.ipHost('link', 'del', lookalike);
    expect(await lab.nets.delete('fv')).toBe(true);
  });

  // An attach in another process, stopped (SIGSTOP, the fault hook's `:stop`) right after it created its host
  // veth in the group and before it marked it: its intent is live, so this process's reconcile and detachAll
  // leave the veth; continued, the attach completes.
  it("another process's attach in flight keeps its unmarked veth through reconcile() and detachAll() here", async () => {
    const NET = { name: 'crash', subnet: '10.77.0.0/24' }; // the fixture's network, created here first (create is idempotent)
    await lab.nets.create(NET);
    const other = await lab.nets.attach('crash', { sandbox: lab.sandbox('fib'), create: true });
    const tag = uniqueNetnsName('fi');
    lab.deleteAfterwards(`${tag}a`);
    const child = runCrashFixture(lab.host(), lab.stateDir, 'attach', tag, 'attachveth:1:stop');
    const exited = exitOf(child);
    try {
      await waitUntilStopped(child.pid as number);
      const inFlight = hostVethName('crash', `${tag}a`);
      const veth = linkNamed(inFlight);
      expect(veth).toMatchObject({ group: await groupOf('crash') });
      expect(veth?.ifalias).toBeUndefined(); // not marked yet
      expect(pendingIntents(lab.stateDir).map((p) => [p.record.op, p.live])).toEqual([['attach', true]]);

      await lab.nets.reconcile();
      expect(await lab.nets.detachAll('crash')).toBe(1);
      await nextTick();
      expect(linkNamed(inFlight)?.ifindex).toBe(veth?.ifindex);
      expect(linkNamed(other.hostIfname)).toBeUndefined();
      expect(lab.foreignWarnings()).toEqual([]);

      child.kill('SIGCONT');
      const run = await exited;
      expect(run.status, run.stderr).toBe(0);
      expect(linkNamed(inFlight)).toMatchObject({ ifindex: veth?.ifindex, ifalias: vethMark(stateTag(lab.nets), 'crash', `${tag}a`), master: 'nlk-crash' });
      expect(Object.keys((await lab.nets.state()).attachments.crash)).toEqual([`${tag}a`]);
      expect(await lab.nets.check()).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      child.kill('SIGCONT');
      await exited;
      await lab.nets.delete('crash');
    }
  });

  it("an intent of an earlier build (no group) for an unmarked veth: the network's recorded group proves it, reconcile deletes it", async () => {
    await lab.nets.create({ name: 'fo', subnet: '10.95.3.0/24' });
    const left = hostVethName('fo', 'old1');
    lab.ipHost('link', 'add', left, 'group', await groupOf('fo'), 'type', 'veth', 'peer', 'name', 't10-oldp');
    oldFormatIntent('fo', 'old1');
    expect((await lab.nets.check()).map((d) => d.kind)).toEqual(['interrupted-attach']);
    await lab.nets.reconcile();
    await nextTick();
    expect(linkNamed(left)).toBeUndefined();
    expect(lab.foreignWarnings()).toEqual([]);
    expect(pendingIntents(lab.stateDir)).toEqual([]);
    expect(await lab.nets.check()).toEqual([]);
    expect(await lab.nets.delete('fo')).toBe(true);
  });

  it('an intent of an earlier build (no group) for an unmarked veth whose network is gone: left with a warning, the intent settled', async () => {
    await lab.nets.create({ name: 'fg', subnet: '10.95.4.0/24' });
    const left = hostVethName('fg', 'old2');
    lab.ipHost('link', 'add', left, 'group', await groupOf('fg'), 'type', 'veth', 'peer', 'name', 't10-oldq');
    expect(await lab.nets.delete('fg')).toBe(true); // no attachment: the group is not read
    oldFormatIntent('fg', 'old2');
    await lab.nets.reconcile();
    await nextTick();
    expect(linkNamed(left)).toBeDefined(); // nothing proves it nlkit's: no record, no group, no mark, no master
    expect(lab.foreignWarnings()).toEqual([
      expect.stringMatching(new RegExp(`recover attach on network fg: ${left}, recorded as old2's host veth on network fg, left untouched`)),
    ]);
    expect(pendingIntents(lab.stateDir)).toEqual([]);
    expect(await lab.nets.check()).toEqual([]);
    lab.ipHost('link', 'del', left);
  });
});

/** The state directory's owner tag, as the manager's marks carry it. */
function stateTag(nets: NetworkManager): string {
  return (nets as unknown as { ctx: { store: { tag: string } } }).ctx.store.tag;
}
