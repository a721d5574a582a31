// The state directory is untrusted input: directories others can change are
// refused, nothing is read or written through a symbolic link, a file that
// cannot be read as state is refused (never read as empty), and a state
// recorded for another host namespace or boot is set aside, not obeyed.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CorruptStateError, createNetns, deleteNetns, UnsafeStateDirError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { pendingIntents } from '../../lib/network/intents';
import { ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

const NOBODY = 65534;

/** A scratch directory (root's, 0700, under the sticky /tmp), removed after each test. */
const scratch: string[] = [];
function tmp(label: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `nlkit-trust-${label}-`));
  scratch.push(d);
  return d;
}

/** A file outside the state directory that must never change. */
function victim(): { file: string; unchanged: () => boolean } {
  const file = path.join(tmp('victim'), 'precious');
  fs.writeFileSync(file, 'precious\n');
  return { file, unchanged: () => fs.readFileSync(file, 'utf8') === 'precious\n' };
}

/** The bridges in a namespace, read with ip. */
const bridges = (netns: string): string[] => ipJson(netns, 'link', 'show', 'type', 'bridge').map((l: { ifname: string }) => l.ifname);

async function refused(p: Promise<unknown>, where: string): Promise<UnsafeStateDirError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(UnsafeStateDirError);
  expect((e as UnsafeStateDirError).path).toBe(where);
  return e as UnsafeStateDirError;
}

describe('network manager: the state directory is untrusted input', () => {
  const box = useNetns('host');
  afterEach(() => {
    for (const d of scratch.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('refuses a group-writable state directory, and one owned by another user', async () => {
    const dir = path.join(tmp('gw'), 'state');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chmodSync(dir, 0o770);
    const e = await refused(networks({ host: box.ns('host'), stateDir: dir }), dir);
    expect(e.reason).toMatch(/writable by its group/);
    fs.chmodSync(dir, 0o700);
    fs.chownSync(dir, NOBODY, NOBODY);
    expect((await refused(networks({ host: box.ns('host'), stateDir: dir }), dir)).reason).toMatch(/owned by uid 65534/);
    expect(fs.readdirSync(dir)).toEqual([]); // nothing written
  });

  it('refuses a state directory below a parent others can write (not sticky)', async () => {
    const parent = tmp('ww');
    fs.chmodSync(parent, 0o777);
    const dir = path.join(parent, 'state');
    fs.mkdirSync(dir, { mode: 0o700 });
    expect((await refused(networks({ host: box.ns('host'), stateDir: dir }), parent)).reason).toMatch(/writable by others and not sticky/);
    // A symbolic link through such a parent is refused the same way.
    const link = path.join(tmp('ln'), 'via');
    fs.symlinkSync(dir, link);
    await refused(networks({ host: box.ns('host'), stateDir: link }), parent);
  });

  it('takes a sticky world-writable parent (like /tmp) only with a state directory of the caller', async () => {
    const sticky = tmp('sticky');
    fs.chmodSync(sticky, 0o1777);
    const theirs = path.join(sticky, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o700 });
    fs.chownSync(theirs, NOBODY, NOBODY);
    expect((await refused(networks({ host: box.ns('host'), stateDir: theirs }), theirs)).reason).toMatch(/only the caller's own entries/);
    // Another user's symbolic link in it, even to a good directory, is not followed.
    const good = tmp('good');
    const link = path.join(sticky, 'link');
    fs.symlinkSync(good, link);
    fs.lchownSync(link, NOBODY, NOBODY);
    await refused(networks({ host: box.ns('host'), stateDir: link }), link);
    // The caller's own directory there (made now, 0700) is fine.
    const mine = path.join(sticky, 'mine', 'state');
    const nets = await networks({ host: box.ns('host'), stateDir: mine });
    try {
      expect(await nets.list()).toEqual([]);
      expect(fs.statSync(mine).mode & 0o7777).toBe(0o700);
      expect(fs.statSync(path.dirname(mine)).mode & 0o7777).toBe(0o700);
    } finally {
      nets.close();
    }
  });

  it('reads and writes nothing through a symbolic link in the state directory', async () => {
    const dir = tmp('links');
    const v = victim();
    // The state file itself: refused before anything is created.
    fs.symlinkSync(v.file, path.join(dir, 'state.json'));
    const nets = await networks({ host: box.ns('host'), stateDir: dir });
    const sb = uniqueNetnsName('trust');
    try {
      await refused(nets.create({ name: 'trust', subnet: '10.59.0.0/24' }), path.join(dir, 'state.json'));
      expect(bridges(box.ns('host'))).toEqual([]);
      // The lock file.
      fs.rmSync(path.join(dir, 'state.json'));
      const absent = path.join(path.dirname(v.file), 'absent');
      fs.rmSync(path.join(dir, 'state.lock'));
      fs.symlinkSync(absent, path.join(dir, 'state.lock'));
      await refused(nets.list(), path.join(dir, 'state.lock'));
      expect(fs.existsSync(absent)).toBe(false);
      fs.rmSync(path.join(dir, 'state.lock'));
      // Temporary files: the names an earlier version used are planted, and never written through.
      for (const name of [`state.json.${process.pid}.tmp`, `.state.json.${process.pid}.tmp`]) fs.symlinkSync(v.file, path.join(dir, name));
      await nets.create({ name: 'trust', subnet: '10.59.0.0/24' });
      expect(bridges(box.ns('host'))).toEqual(['nlk-trust']);
      expect(fs.lstatSync(path.join(dir, 'state.json')).isFile()).toBe(true);
      // The journal (attachments are appended to it) and a lease file.
      fs.symlinkSync(v.file, path.join(dir, 'state.journal'));
      await refused(nets.attach('trust', { sandbox: sb, create: true }), path.join(dir, 'state.journal'));
      fs.rmSync(path.join(dir, 'state.journal'));
      fs.mkdirSync(path.join(dir, 'ipam'), { recursive: true, mode: 0o700 });
      fs.symlinkSync(v.file, path.join(dir, 'ipam', 'trust.json'));
      await refused(nets.attach('trust', { sandbox: sb, create: true }), path.join(dir, 'ipam', 'trust.json'));
      expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'veth')).toEqual([]); // nothing half-built
      expect(fs.existsSync(`/run/netns/${sb}`)).toBe(false);
      // The lease directory itself (checked while the kernel creates the veth: the veth is undone). A sandbox
      // that exists already: deleting one attach created would take a leaked veth pair with it.
      fs.rmSync(path.join(dir, 'ipam'), { recursive: true });
      fs.symlinkSync(path.dirname(v.file), path.join(dir, 'ipam'));
      await createNetns(sb);
      await refused(nets.attach('trust', { sandbox: sb }), path.join(dir, 'ipam'));
      expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'veth')).toEqual([]);
      expect(ipJson(sb, 'link', 'show').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
      await deleteNetns(sb);
      expect(fs.readdirSync(path.dirname(v.file))).toEqual(['precious']);
      expect(pendingIntents(dir)).toEqual([]); // the attach's intent was ended: nothing for reconcile
      expect(v.unchanged()).toBe(true);
    } finally {
      await nets.delete('trust', { missingOk: true }).catch(() => undefined);
      nets.close();
      await deleteNetns(sb, { missingOk: true });
    }
  });

  it("takes no lock through a symbolic link: the lock files' directory is checked, and again when it is made anew", async () => {
    const dir = tmp('locks');
    const v = victim();
    const locks = path.join(dir, 'locks');
    fs.symlinkSync(path.dirname(v.file), locks);
    const nets = await networks({ host: box.ns('host'), stateDir: dir });
    try {
      await refused(nets.create({ name: 'lk', subnet: '10.56.0.0/24' }), locks);
      expect(fs.readdirSync(path.dirname(v.file))).toEqual(['precious']); // no lock file made there
      expect(bridges(box.ns('host'))).toEqual([]);
      // A private directory is taken; removed and replaced by a symbolic link meanwhile, it is refused when made anew.
      fs.rmSync(locks);
      await nets.create({ name: 'lk', subnet: '10.56.0.0/24' });
      fs.rmSync(locks, { recursive: true });
      fs.symlinkSync(path.join(path.dirname(v.file), 'gone'), locks); // dangling: opening a lock file there fails ENOENT
      await refused(nets.delete('lk'), locks);
      expect(fs.readdirSync(path.dirname(v.file))).toEqual(['precious']);
      expect(bridges(box.ns('host'))).toHaveLength(1); // the delete did not start
      fs.rmSync(locks);
      await nets.delete('lk');
      expect(fs.statSync(locks).mode & 0o777).toBe(0o700);
    } finally {
      await nets.delete('lk', { missingOk: true }).catch(() => undefined);
      nets.close();
    }
  });

  it("trusts, inside a user namespace, the directories of owners outside it (the real root's /tmp)", () => {
    // As nobody mapped to root in its own user namespace: / and /tmp show the overflow uid there.
    const dist = path.resolve('dist/network/state-dir.js');
    const script = `const fs = require('fs'); const d = fs.mkdtempSync('/tmp/nlkit-trust-userns-');
      try { console.log(JSON.stringify([require(${JSON.stringify(dist)}).ensureTrustedDir(d + '/state') === d + '/state', fs.statSync('/').uid]));
        fs.chmodSync(d, 0o770); try { require(${JSON.stringify(dist)}).ensureTrustedDir(d + '/state'); } catch (e) { console.log(e.name); } }
      finally { fs.rmSync(d, { recursive: true }); }`;
    const out = execFileSync('su', ['nobody', '-s', '/bin/sh', '-c', `unshare --user --map-root-user ${process.execPath} -e "$0"`, script], {
      cwd: '/tmp',
      encoding: 'utf8',
    });
    expect(out.trim().split('\n')).toEqual(['[true,65534]', 'UnsafeStateDirError']);
  });

  it('works in the default directory, /run/nlkit/<host>, made private', async () => {
    const dir = path.join('/run/nlkit', box.ns('host'));
    const hadParent = fs.existsSync('/run/nlkit'); // /run is left as it was found
    const nets = await networks({ host: box.ns('host') });
    try {
      await nets.create({ name: 'dflt', subnet: '10.58.0.0/24' });
      expect(fs.lstatSync(path.join(dir, 'state.json')).isFile()).toBe(true);
      expect(fs.statSync(dir).mode & 0o077).toBe(0);
      expect(bridges(box.ns('host'))).toEqual(['nlk-dflt']);
    } finally {
      await nets.delete('dflt', { missingOk: true });
      nets.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (!hadParent && fs.readdirSync('/run/nlkit').length === 0) fs.rmdirSync('/run/nlkit');
    }
  });
});

describe('network manager: state bound to the host namespace and the boot', () => {
  const host = uniqueNetnsName('idhost');
  let stateDir: string;
  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-ident-'));
    await createNetns(host);
  });
  afterAll(async () => {
    await deleteNetns(host, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const setAside = () => fs.readdirSync(stateDir).filter((f) => /^state\.json\.stale-[^.]+$/.test(f));
  const reasons = () =>
    fs
      .readdirSync(stateDir)
      .filter((f) => f.endsWith('.reason'))
      .map((f) => fs.readFileSync(path.join(stateDir, f), 'utf8'));

  it('sets aside the state of a host namespace re-created under the same name, and builds anew', async () => {
    let nets: NetworkManager = await networks({ host, stateDir });
    const before = await nets.create({ name: 'idn', subnet: '10.57.0.0/24' });
    nets.close();
    await deleteNetns(host);
    await createNetns(host); // same name, new (empty) namespace

    nets = await networks({ host, stateDir });
    try {
      expect(await nets.list()).toEqual([]);
      expect(setAside()).toHaveLength(1);
      expect(reasons()[0]).toMatch(/another host namespace/);
      expect(JSON.parse(fs.readFileSync(path.join(stateDir, setAside()[0]), 'utf8')).networks.idn.subnet).toBe('10.57.0.0/24'); // kept for reading
      const after = await nets.create({ name: 'idn', subnet: '10.57.0.0/24' });
      expect(after.mac).not.toBe(before.mac);
      const [br] = ipJson(host, 'link', 'show', 'nlk-idn');
      expect(br.address).toBe(after.mac);
      expect(await nets.check()).toEqual([]);
    } finally {
      nets.close();
    }
  });

  it('sets aside a state recorded in another boot (boot_id differs)', async () => {
    const file = path.join(stateDir, 'state.json');
    const st = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(st.host.bootId).toBe(fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    st.host.bootId = '00000000-0000-4000-8000-000000000000';
    fs.writeFileSync(file, JSON.stringify(st));

    const nets = await networks({ host, stateDir });
    try {
      expect(await nets.list()).toEqual([]);
      expect(setAside()).toHaveLength(2);
      expect(reasons().some((r) => /another boot/.test(r))).toBe(true);
      // The bridge of that "earlier boot" is still here (same namespace): marked, so it is reported as a leftover,
      // and so is its nftables table ...
      expect((await nets.check()).map((d) => `${d.kind}:${d.network}`).sort()).toEqual(['firewall-leftover:', 'leftover-bridge:idn']);
      // ... and create() replaces it rather than failing with EEXIST.
      const rec = await nets.create({ name: 'idn', subnet: '10.57.0.0/24' });
      expect(ipJson(host, 'link', 'show', 'nlk-idn')[0].address).toBe(rec.mac);
      expect(await nets.check()).toEqual([]);
      await nets.delete('idn');
    } finally {
      nets.close();
    }
  });
});

describe('network manager: a state directory that cannot be read as state is refused, never read as empty', () => {
  const box = useNetns('host');
  let dir: string;
  let nets: NetworkManager;
  const sandboxes: string[] = []; // what an attach that should have been refused may have made
  // A state directory of its own per test, recording network cs (bridge nlk-cs).
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-trust-corrupt-'));
    nets = await networks({ host: box.ns('host'), stateDir: dir });
    await nets.create({ name: 'cs', subnet: '10.55.0.0/24' });
  });
  afterEach(async () => {
    nets.close();
    // Whatever the test left: the bridge and nlkit's table go with a clean state directory.
    fs.rmSync(dir, { recursive: true, force: true });
    for (const l of ipJson(box.ns('host'), 'link', 'show').filter((x: { ifname: string }) => x.ifname !== 'lo'))
      execFileSync('ip', ['-n', box.ns('host'), 'link', 'del', l.ifname]);
    for (const sb of sandboxes.splice(0)) await deleteNetns(sb, { missingOk: true });
    execFileSync('ip', ['netns', 'exec', box.ns('host'), 'nft', 'flush', 'ruleset']);
    for (const d of scratch.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  const stateFile = () => path.join(dir, 'state.json');
  const intents = () => path.join(dir, 'intents');
  /** The network's bridge, read back from the kernel: whatever the state directory holds, it must stay. */
  const bridgeKept = () => expect(bridges(box.ns('host'))).toEqual(['nlk-cs']);

  type Call = 'list' | 'check' | 'reconcile' | 'attach';
  const STATE_READERS: Call[] = ['reconcile', 'check', 'list', 'attach'];
  /** What reads the intent journals: check() and reconcile() (an attach checks its directory when it opens its own journal). */
  const INTENT_READERS: Call[] = ['reconcile', 'check'];

  /** Each call rejects with `type` naming `file` and why; the kernel keeps the network, and nothing is built. */
  async function refusedEverywhere(
    file: string,
    type: typeof CorruptStateError | typeof UnsafeStateDirError,
    reason: RegExp,
    calls = STATE_READERS,
  ): Promise<void> {
    const sb = uniqueNetnsName('cs');
    sandboxes.push(sb);
    const run = {
      list: () => nets.list(),
      check: () => nets.check(),
      reconcile: () => nets.reconcile(),
      attach: () => nets.attach('cs', { sandbox: sb, create: true }),
    };
    for (const call of calls) {
      const e = await run[call]().then(
        () => undefined,
        (x: unknown) => x,
      );
      bridgeKept();
      expect(e, call).toBeInstanceOf(type);
      expect((e as CorruptStateError).path).toBe(file);
      expect((e as CorruptStateError).reason).toMatch(reason);
    }
    expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'veth')).toEqual([]); // the attach built nothing
    expect(fs.existsSync(`/run/netns/${sb}`)).toBe(false);
  }

  /** A dead process's journal (no process has a pid above pid_max) holding a create of cs that did not end, then `tail`. */
  function deadCreate(file: string, tail: string): void {
    const record = { op: 'create', network: 'cs', bridge: 'nlk-cs', pid: 4194000, pidStart: '1', started: new Date().toISOString() };
    fs.writeFileSync(file, JSON.stringify({ t: 'begin', id: '1', record }) + '\n' + tail, { mode: 0o600 });
  }

  it('refuses a state.json that is not JSON or not a state, and changes nothing', async () => {
    const good = fs.readFileSync(stateFile(), 'utf8');
    const rec = JSON.parse(good);
    const bad: Array<[string, RegExp]> = [
      ['[]', /^state is not an object$/], // read as empty: reconcile() deleted nlk-cs as a leftover
      ['{"version":1,"networks":{"cs":', /is not JSON/], // a cut write
      [JSON.stringify({ ...rec, networks: undefined }), /^state\.networks is missing$/],
      [JSON.stringify({ ...rec, networks: { cs: { ...rec.networks.cs, subnet: 5 } } }), /^state\.networks\["cs"\]\.subnet is not a string$/],
      [JSON.stringify({ ...rec, networks: { other: rec.networks.cs } }), /filed under another name/],
      [JSON.stringify({ ...rec, attachments: { cs: [] } }), /^state\.attachments\["cs"\] is not an object$/],
    ];
    for (const [text, reason] of bad) {
      fs.writeFileSync(stateFile(), text, { mode: 0o600 });
      await refusedEverywhere(stateFile(), CorruptStateError, reason);
      expect(fs.readFileSync(stateFile(), 'utf8')).toBe(text); // not rewritten
    }
    fs.writeFileSync(stateFile(), good, { mode: 0o600 });
    expect(await nets.check()).toEqual([]);
  });

  it("refuses a state.journal line that is not a journal line (a cut last line is a writer's remnant, not corruption)", async () => {
    const { journal } = JSON.parse(fs.readFileSync(stateFile(), 'utf8'));
    const line = (l: object) => JSON.stringify({ journal, ...l }) + '\n';
    const file = path.join(dir, 'state.journal');
    for (const [text, reason] of [
      ['not json\n', /^line 1 is not JSON/],
      [line({ kind: 'network', name: 'cs' }), /^line 1: line\.kind is not/],
      [line({ kind: 'attachment', network: 'cs', id: 'c1', attachment: 'gone' }), /^line 1: line\.attachment is not an object$/],
    ] as Array<[string, RegExp]>) {
      fs.writeFileSync(file, text, { mode: 0o600 });
      await refusedEverywhere(file, CorruptStateError, reason);
    }
    fs.writeFileSync(file, line({ kind: 'publication', key: 'tcp:*:1' }) + '{"journal":"', { mode: 0o600 });
    expect(await nets.check()).toEqual([]);
    fs.rmSync(file);
  });

  it('refuses an intent journal line that is not a begin or an end: a create whose end is unreadable is not undone', async () => {
    fs.mkdirSync(intents(), { mode: 0o700, recursive: true });
    const file = path.join(intents(), '4194000-1.log');
    for (const [tail, reason] of [
      ['{"t":"end","id":"1"\n', /^line 2 is not JSON/], // unreadable: the create read as interrupted, reconcile() deleted cs
      ['{"t":"end","id":1}\n', /^line 2: line\.id is not a string$/],
      ['{"t":"ended","id":"1"}\n', /^line 2: line\.t is not/],
    ] as Array<[string, RegExp]>) {
      deadCreate(file, tail);
      await refusedEverywhere(file, CorruptStateError, reason, INTENT_READERS);
      expect(fs.existsSync(file)).toBe(true); // kept for a human, not swept
    }
    // Whole and ended: nothing interrupted. A line cut at the end is a remnant, not corruption.
    deadCreate(file, '{"t":"end","id":"1"}\n{"t":"begin","id":"2","rec');
    expect(await nets.check()).toEqual([]);
    fs.rmSync(file);
  });

  it('applies the state directory checks to intents/ and its journals: a link, another owner, group/world-writable', async () => {
    const v = victim();
    const elsewhere = path.dirname(v.file);
    const file = path.join(intents(), '4194000-1.log');
    fs.rmSync(intents(), { recursive: true, force: true });
    // intents/ a link to a directory holding a dead create of cs: followed, reconcile() deleted the network.
    deadCreate(path.join(elsewhere, '4194000-1.log'), '');
    fs.symlinkSync(elsewhere, intents());
    await refusedEverywhere(intents(), UnsafeStateDirError, /^is a symbolic link$/, [...INTENT_READERS, 'attach']); // its journal made anew
    expect(fs.readdirSync(elsewhere).sort()).toEqual(['4194000-1.log', 'precious']); // no journal made there
    fs.rmSync(intents());
    // intents/ of another user, or writable by its group.
    fs.mkdirSync(intents(), { mode: 0o700 });
    deadCreate(file, '');
    fs.chownSync(intents(), NOBODY, NOBODY);
    await refusedEverywhere(intents(), UnsafeStateDirError, /^is owned by uid 65534/, INTENT_READERS);
    fs.chownSync(intents(), 0, 0);
    fs.chmodSync(intents(), 0o770);
    await refusedEverywhere(intents(), UnsafeStateDirError, /^is writable by its group/, INTENT_READERS);
    fs.chmodSync(intents(), 0o700);
    // A journal of another user, one others can write, one that is a link.
    fs.chownSync(file, NOBODY, NOBODY);
    await refusedEverywhere(file, UnsafeStateDirError, /^is owned by uid 65534/, INTENT_READERS);
    fs.chownSync(file, 0, 0);
    fs.chmodSync(file, 0o666);
    await refusedEverywhere(file, UnsafeStateDirError, /^is writable by others/, INTENT_READERS);
    fs.rmSync(file);
    fs.symlinkSync(path.join(elsewhere, '4194000-1.log'), file);
    await refusedEverywhere(file, UnsafeStateDirError, /^is a symbolic link$/, INTENT_READERS);
    expect(v.unchanged()).toBe(true);
    fs.rmSync(file);
    expect(await nets.check()).toEqual([]);
    bridgeKept();
  });
});
