// withIntent: when the operation throws and the journal cannot record its end either, the caller gets the
// operation's error (what failed), carrying the journal's; the intent stays open for check()/reconcile().
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:fs', async (importOriginal) => (await import('../helpers/failing-journal')).failingJournalFs(importOriginal));
const { failEnd } = await import('../helpers/failing-journal');

const { beginIntent, clearIntent, withIntent, pendingIntents } = await import('../../lib/network/intents');
const { NlkitError, SystemError } = await import('../../lib/netlink/errors');

describe('withIntent when the journal cannot record the end', () => {
  const dirs: string[] = [];
  afterEach(() => {
    failEnd.on = false;
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it("throws the operation's error with the journal's attached, and leaves the intent open", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-intent-'));
    dirs.push(dir);
    const opError = new NlkitError('the operation failed');
    const err = await withIntent(dir, { op: 'attach', network: 'n' }, async () => {
      failEnd.on = true;
      throw opError;
    }).catch((e: unknown) => e);
    expect(err).toBe(opError);
    // Typed on NlkitError (declared, so an error without one has no such own property).
    expect((opError.journalError as { code?: string } | undefined)?.code).toBe('ENOSPC');
    expect(Object.keys(new NlkitError('other'))).not.toContain('journalError');
    failEnd.on = false;
    expect(pendingIntents(dir).map((p) => p.record.op)).toEqual(['attach']);
  });

  it('throws the journal error when the operation succeeded but its end cannot be written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-intent-'));
    dirs.push(dir);
    const err = await withIntent(dir, { op: 'attach', network: 'n' }, async () => {
      failEnd.on = true;
      return 1;
    }).catch((e: unknown) => e);
    // Typed as an unrecordable begin is: the operation named, the file system's code, its error as the cause.
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOSPC', errno: 28, syscall: expect.stringMatching(/^write\(/), cause: { code: 'ENOSPC' } });
    expect((err as Error).message).toMatch(/^attach on network n: finished, but its end cannot be recorded/);
    failEnd.on = false;
    expect(pendingIntents(dir).map((p) => [p.record.op, p.live])).toEqual([['attach', false]]);
  });
  it('keeps that open intent when the idle journal is emptied later, as interrupted, until reconcile clears it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-intent-'));
    dirs.push(dir);
    await withIntent(dir, { op: 'publish', network: 'n', publication: 'lost' }, async () => {
      failEnd.on = true;
      throw new Error('the operation failed');
    }).catch(() => undefined);
    failEnd.on = false;
    // Enough operations after it for the journal to pass the size at which an idle one is emptied (64 KiB).
    for (let i = 0; i < 1000; i++) await withIntent(dir, { op: 'publish', network: 'n', publication: `k${i}` }, async () => i);
    const open = pendingIntents(dir);
    expect(open.map((p) => [p.record.publication, p.live])).toEqual([['lost', false]]);
    clearIntent(open[0]);
    for (let i = 0; i < 1000; i++) await withIntent(dir, { op: 'publish', network: 'n', publication: `k${i}` }, async () => i);
    expect(pendingIntents(dir)).toEqual([]);
    const log = fs.readdirSync(path.join(dir, 'intents')).map((n) => fs.statSync(path.join(dir, 'intents', n)).size);
    expect(Math.max(...log)).toBeLessThan(80 * 1024); // emptied again once nothing is left open
  });
});

describe('clearIntent when the end of a recovered operation cannot be written', () => {
  it('is a SystemError naming the operation (code and cause kept); the intent stays open for the next reconcile', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-intent-'));
    try {
      // The journal of a dead process (a pid above pid_max never runs) holding one interrupted detach.
      fs.mkdirSync(path.join(dir, 'intents'), { mode: 0o700 });
      const record = { op: 'detach', network: 'n', ids: ['a'], pid: 4194000, pidStart: '1', started: new Date().toISOString() };
      fs.writeFileSync(path.join(dir, 'intents', '4194000-1.log'), JSON.stringify({ t: 'begin', id: '1', record }) + '\n');
      const [p] = pendingIntents(dir);
      failEnd.on = true;
      let err: unknown;
      try {
        clearIntent(p);
      } catch (e) {
        err = e;
      }
      failEnd.on = false;
      expect(err).toBeInstanceOf(SystemError);
      expect(err).toMatchObject({ code: 'ENOSPC', syscall: expect.stringMatching(/^write\(.*4194000-1\.log\)$/), cause: { code: 'ENOSPC' } });
      expect((err as Error).message).toMatch(/^detach on network n: was completed or undone, but its end cannot be recorded .* stays interrupted/);
      expect(pendingIntents(dir).map((x) => [x.record.op, x.live])).toEqual([['detach', false]]);
      clearIntent(p);
      expect(pendingIntents(dir)).toEqual([]);
    } finally {
      failEnd.on = false;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('beginIntent when the journal cannot be opened', () => {
  it('is a SystemError with the file system error as its cause and code; nothing is recorded', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-intent-'));
    try {
      fs.writeFileSync(path.join(dir, 'intents'), ''); // a file where the journal directory goes: a real mkdir failure
      let err: unknown;
      try {
        beginIntent(dir, { op: 'attach', network: 'n', ids: ['a'] });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SystemError);
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
      expect(cause?.code).toMatch(/^E/);
      expect(err).toMatchObject({ code: cause?.code, syscall: `${cause?.syscall}(${cause?.path})` });
      expect((err as Error).message).toMatch(/^attach on network n: cannot record the intent/);
      // Nothing was recorded; and the file is not read as "nothing pending" either: the directory is refused.
      expect(fs.readFileSync(path.join(dir, 'intents'), 'utf8')).toBe('');
      expect(() => pendingIntents(dir)).toThrow(expect.objectContaining({ name: 'UnsafeStateDirError', reason: 'is not a directory' }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
