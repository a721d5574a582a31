// The intent journal: what is running is live, what a dead process (or a
// failed rollback here) left is pending for reconcile, and the files do not
// grow or pile up.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemError, UnsafeStateDirError } from '../../lib/netlink/errors';
import { CorruptStateError } from '../../lib/network/errors';
import { beginIntent, clearIntent, intentDir, pendingIntents } from '../../lib/network/intents';

const plan = { op: 'attach' as const, network: 'n', ids: ['c1'], hostIfnames: ['nv0'], macs: ['02:00:00:00:00:01'] };

describe('intent journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-intents-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reports this process's running operations as live, and keeps its file small", () => {
    const a = beginIntent(dir, plan);
    const b = beginIntent(dir, { ...plan, ids: ['c2'] });
    expect(pendingIntents(dir).map((p) => [p.record.ids, p.live])).toEqual([
      [['c1'], true],
      [['c2'], true],
    ]);
    a.done();
    expect(pendingIntents(dir).map((p) => p.record.ids)).toEqual([['c2']]);
    b.done();
    expect(pendingIntents(dir)).toEqual([]);
    const [file] = fs.readdirSync(intentDir(dir));
    expect(file).toMatch(new RegExp(`^${process.pid}-\\d+\\.log$`));
    // it does not grow without bound: emptied once past 64 KiB with nothing in flight
    for (let i = 0; i < 1000; i++) beginIntent(dir, plan).done();
    expect(fs.statSync(path.join(intentDir(dir), file)).size).toBeLessThan(70 * 1024);
    expect(pendingIntents(dir)).toEqual([]);
  });

  it('reports an abandoned operation as interrupted until it is cleared', () => {
    const a = beginIntent(dir, plan);
    a.abandon();
    const [p] = pendingIntents(dir);
    expect(p).toMatchObject({ live: false, record: { op: 'attach', pid: process.pid } });
    clearIntent(p);
    expect(pendingIntents(dir)).toEqual([]);
  });

  it("reports a dead process's operations as interrupted, ignores a cut last line, and removes its file once cleared", () => {
    fs.mkdirSync(intentDir(dir), { recursive: true });
    const dead = path.join(intentDir(dir), '999999999-1.log'); // no such pid
    const rec = { ...plan, pid: 999999999, pidStart: '1', started: '2026-01-01T00:00:00.000Z' };
    fs.writeFileSync(
      dead,
      [
        JSON.stringify({ t: 'begin', id: '1', record: rec }),
        JSON.stringify({ t: 'begin', id: '2', record: { ...rec, ids: ['c2'] } }),
        JSON.stringify({ t: 'end', id: '1' }),
        '{"t":"begin","id":"3","rec', // killed mid-write
      ].join('\n'),
    );
    const pending = pendingIntents(dir);
    expect(pending.map((p) => [p.id, p.live, p.record.ids])).toEqual([['2', false, ['c2']]]);
    clearIntent(pending[0]);
    expect(fs.existsSync(dead)).toBe(false);
  });

  it('marks a cut line when it records an end after it, so the journal still reads; any other broken line is a CorruptStateError', () => {
    fs.mkdirSync(intentDir(dir), { recursive: true, mode: 0o700 });
    const dead = path.join(intentDir(dir), '999999999-1.log');
    const rec = { ...plan, pid: 999999999, pidStart: '1', started: '2026-01-01T00:00:00.000Z' };
    const begin = (id: string) => JSON.stringify({ t: 'begin', id, record: { ...rec, ids: [`c${id}`] } });
    fs.writeFileSync(dead, `${begin('1')}\n${begin('2')}\n{"t":"begin","id":"3","rec`);
    const [one, two] = pendingIntents(dir);
    clearIntent(two);
    // The remnant is now followed by a line: marked, it is not read as corruption.
    expect(fs.readFileSync(dead, 'utf8')).toMatch(/"rec\n\{"t":"cut"\}\n\{"t":"end","id":"2"\}\n$/);
    expect(pendingIntents(dir).map((p) => p.id)).toEqual(['1']);
    clearIntent(one);
    expect(fs.existsSync(dead)).toBe(false);
    // A broken line in the middle (not JSON, or not a begin or an end) is never skipped: it may be an end or a begin.
    for (const [bad, reason] of [
      ['{"t":"end","id":"1"', /^line 2 is not JSON/],
      ['{"t":"end"}', /^line 2: line\.id is missing$/],
      [JSON.stringify({ t: 'begin', id: '2', record: { ...rec, op: 'rename' } }), /^line 2: line\.record\.op is not one of/],
      [JSON.stringify({ t: 'begin', id: '2', record: { ...rec, ids: 'c2' } }), /^line 2: line\.record\.ids is not an array$/],
    ] as Array<[string, RegExp]>) {
      fs.writeFileSync(dead, `${begin('1')}\n${bad}\n${JSON.stringify({ t: 'end', id: '9' })}\n`);
      expect(() => pendingIntents(dir)).toThrow(CorruptStateError);
      expect(() => pendingIntents(dir)).toThrow(expect.objectContaining({ path: dead, reason: expect.stringMatching(reason) }));
      // Nor is the journal swept as empty when a process opens its own.
      expect(() => beginIntent(dir, plan)).toThrow(CorruptStateError);
      expect(fs.existsSync(dead)).toBe(true);
    }
  });

  it("sweeps a dead process's empty journal when a process opens its own", () => {
    fs.mkdirSync(intentDir(dir), { recursive: true });
    const dead = path.join(intentDir(dir), '999999999-1.log');
    fs.writeFileSync(dead, '');
    beginIntent(dir, plan).done();
    expect(fs.existsSync(dead)).toBe(false);
  });

  it('does not keep a descriptor per state directory once the directory is removed', () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    beginIntent(dir, plan).done();
    const before = fds();
    for (let i = 0; i < 20; i++) {
      const other = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-intents-'));
      beginIntent(other, plan).done();
      fs.rmSync(other, { recursive: true, force: true });
    }
    // At most the last removed directory's journal is still open (closed when the next one opens).
    expect(fds() - before).toBeLessThanOrEqual(1);
    // The journal in use is not closed: it still records and reports.
    const a = beginIntent(dir, plan);
    expect(pendingIntents(dir).map((p) => p.live)).toEqual([true]);
    a.done();
  });
  it('an operation in flight when its journal directory is removed and made again ends in its own journal, not in the new one', () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    const a = beginIntent(dir, plan);
    // Another process removes the journal directory and a new one is made: the next operation reopens the journal.
    fs.rmSync(intentDir(dir), { recursive: true, force: true });
    const b = beginIntent(dir, { ...plan, ids: ['c2'] });
    // The first operation's end: its descriptor must still be its own (closed under it, the number went to the new journal).
    expect(() => a.done()).not.toThrow();
    const [file] = fs.readdirSync(intentDir(dir));
    const ids = fs
      .readFileSync(path.join(intentDir(dir), file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual([b.id]);
    expect(pendingIntents(dir).map((p) => [p.record.ids, p.live])).toEqual([[['c2'], true]]);
    b.done();
    expect(pendingIntents(dir)).toEqual([]);
    // The removed journal is closed once its last operation ended: one descriptor (the new journal's) more than before.
    expect(fds() - before).toBeLessThanOrEqual(1);
  });
  it("two spellings of one state directory share one journal: emptying it never drops the other spelling's running operation", () => {
    // A symbolic link (or a relative path) names the same directory: before, each spelling opened the file again
    // with its own count of what runs, and one emptied it (past 64 KiB, nothing of its own running) under the other.
    const alias = `${dir}-alias`;
    fs.symlinkSync(dir, alias);
    try {
      const b = beginIntent(alias, { ...plan, ids: ['c2'] });
      for (let i = 0; i < 1000; i++) beginIntent(dir, plan).done();
      expect(pendingIntents(dir).map((p) => [p.record.ids, p.live])).toEqual([[['c2'], true]]);
      // Read under a spelling no operation began with: still running, not interrupted (reconcile would undo it).
      const other = `${dir}-other`;
      fs.symlinkSync(dir, other);
      expect(pendingIntents(other).map((p) => [p.record.ids, p.live])).toEqual([[['c2'], true]]);
      expect(pendingIntents(other, { liveJournals: false })).toEqual([]);
      b.done();
      expect(pendingIntents(dir)).toEqual([]);
      expect(fs.readdirSync(intentDir(dir))).toHaveLength(1);
      // Removed and made again: both spellings reopen it once (the old descriptor closed once, not per spelling).
      const fds = () => fs.readdirSync('/proc/self/fd').length;
      const before = fds();
      fs.rmSync(intentDir(dir), { recursive: true, force: true });
      const c = beginIntent(dir, plan);
      beginIntent(alias, { ...plan, ids: ['c3'] }).done();
      expect(pendingIntents(alias).map((p) => p.record.ids)).toEqual([['c1']]);
      c.done();
      expect(fds()).toBe(before);
    } finally {
      for (const link of [alias, `${dir}-other`]) fs.rmSync(link, { force: true });
    }
  });

  // A recovered operation's end: a journal removed meanwhile (by another reconcile) is fine, any other failure
  // to open it is thrown typed, never read as "removed" (the operation would stay interrupted unsaid).
  it('clearIntent skips a journal removed meanwhile and throws when it cannot open one for another reason', () => {
    fs.mkdirSync(intentDir(dir), { recursive: true, mode: 0o700 });
    const file = path.join(intentDir(dir), '4194000-1.log');
    const record = { ...plan, op: 'detach', pid: 4194000, pidStart: '1', started: new Date().toISOString() };
    fs.writeFileSync(file, JSON.stringify({ t: 'begin', id: '1', record }) + '\n', { mode: 0o600 });
    const [p] = pendingIntents(dir);
    // Replaced by a symbolic link (the journal is opened O_NOFOLLOW): refused as unsafe, not "removed".
    fs.renameSync(file, `${file}.real`);
    fs.symlinkSync(`${file}.real`, file);
    expect(() => clearIntent(p)).toThrow(UnsafeStateDirError);
    expect(() => clearIntent(p)).toThrow(expect.objectContaining({ path: file, reason: 'is a symbolic link' }));
    expect(fs.readFileSync(`${file}.real`, 'utf8')).not.toMatch(/"end"/); // nothing written through it
    // Any other failure to open it is a SystemError (a directory under its name: EISDIR).
    fs.rmSync(file);
    fs.mkdirSync(file);
    expect(() => clearIntent(p)).toThrow(SystemError);
    fs.rmdirSync(file);
    expect(() => clearIntent(p)).not.toThrow();
  });
});
