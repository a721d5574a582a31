/**
 * The write-ahead intent journal: before an operation of the networks layer
 * touches the kernel it records what it is about to do and what it will
 * create (the lease, the host veth, a namespace, a publication key), and
 * records its end once it finished or rolled back. An intent without an end
 * whose process is gone is an interrupted operation: check() reports it and
 * reconcile() completes or undoes it (see recovery.ts).
 *
 * Each process appends to a journal file of its own under
 * `<stateDir>/intents/`, named by its pid and start time (a pid reused
 * later has another start time): two small appends per operation on an open
 * file, no file created, renamed or removed on the way (those cost
 * milliseconds on a busy ext4), and no contention between processes. A line
 * is one write(2): a process killed mid-operation leaves whole lines. The
 * file is emptied when it has grown and no operation is in flight, and a
 * dead process's file is removed once everything in it was recovered.
 * @module
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SystemError } from '../netlink/errors';
import { CorruptStateError } from './errors';
import { openStateFile } from './file-lock';
import { checkIntentLine } from './state-shape';
import { ensureTrustedSubdir, trustedSubdirIfAny } from './state-dir';

/** The operations the journal covers. */
export type IntentOp = 'attach' | 'detach' | 'publish' | 'unpublish' | 'create' | 'delete';

/** A namespace an operation creates or deletes; the identity when it is known. */
export interface IntentNamespace {
  name: string;
  dev?: number;
  ino?: number;
}

/** What an operation is about to do. */
export interface IntentPlan {
  op: IntentOp;
  network: string;
  /** Attachment ids (attach, detach). */
  ids?: string[];
  /** Host veths it creates (attach) or deletes (detach), one per id. */
  hostIfnames?: string[];
  /** The sandbox MAC of each id's attachment: tells this operation's attachment from one a later attach made under the same id. */
  macs?: string[];
  /** Namespaces it creates (attach with create) or deletes (detach, delete). */
  namespaces?: IntentNamespace[];
  /** The publication key (publish, unpublish). */
  publication?: string;
  /** The bridge (create, delete). */
  bridge?: string;
  /**
   * The network's interface group (attach): the veth it creates is unmarked until its second round, and an
   * unmarked veth is told from someone else's by this group, also once the network's record is gone.
   */
  group?: number;
}

/** A plan as recorded, with its process. */
export interface IntentRecord extends IntentPlan {
  pid: number;
  /** The process's start time (clock ticks since boot, /proc/PID/stat field 22). */
  pidStart: string;
  started: string;
}

/** A recorded intent found on disk. */
export interface PendingIntent {
  /** The journal file of the process that recorded it. */
  file: string;
  /** Its id within that journal. */
  id: string;
  record: IntentRecord;
  /** Its process is still running it. */
  live: boolean;
}

/** One journal line: an operation begins (with its record) or ends. */
type Line = { t: 'begin'; id: string; record: IntentRecord } | { t: 'end'; id: string };

/** This process's journal in one state directory. */
interface Journal {
  file: string;
  fd: number;
  /** Operations begun and not ended or abandoned. */
  running: Set<string>;
  /** Operations abandoned (left for reconcile): the file is not emptied while there are any. */
  abandoned: number;
  /** Bytes appended since the file was last emptied. */
  size: number;
  /** Its file was removed and the journal dropped from `journals`: closed when its last running operation ends. */
  retired: boolean;
  /** Its file's device and inode: another spelling of the directory (a symbolic link, a relative path) finds it by them. */
  dev: number;
  ino: number;
}

/** The journal is emptied (when nothing is in flight) once it has grown past this: a truncate is a metadata change, cheap on tmpfs, not on a busy ext4. */
const EMPTY_AFTER_BYTES = 64 * 1024;

const journals = new Map<string, Journal>();
let seq = 0;

/** The start time of a process, or undefined if it is gone. */
function startTimeOf(pid: number | 'self'): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const selfStart = startTimeOf('self') ?? '0';
const SELF = `${process.pid}-${selfStart}.log`;

/** The journal directory of a state directory. */
export function intentDir(stateDir: string): string {
  return path.join(stateDir, 'intents');
}

/** This process's journal for a state directory, (re)opened if needed (the directory may have been removed and made again). */
function journalOf(stateDir: string): Journal {
  const dir = intentDir(stateDir);
  let j = journals.get(dir);
  // A retired journal is checked first: its descriptor may be closed and its number reused.
  if (j && (j.retired || fs.fstatSync(j.fd).nlink === 0)) {
    journals.delete(dir);
    retire(j);
    j = undefined;
  }
  if (!j) {
    closeRemovedJournals();
    openIntentDir(stateDir);
    sweepDeadJournals(dir);
    const file = path.join(dir, SELF);
    const fd = openStateFile(file, 'append'); // not through a link; the caller's, and writable by nobody else
    const st = fs.fstatSync(fd);
    // The same file under another spelling of the directory: one journal, one count of what runs (a second one
    // would empty the file under the other's running operations).
    j = [...journals.values()].find((o) => o.dev === st.dev && o.ino === st.ino);
    if (j) fs.closeSync(fd);
    else j = { file, fd, running: new Set(), abandoned: 0, size: st.size, retired: false, dev: st.dev, ino: st.ino };
    journals.set(dir, j);
  }
  return j;
}

/**
 * Makes the journal directory if it is missing, and checks it like the state directory (state-dir.ts): the
 * caller's, writable by nobody else, not a symbolic link (what is recorded there, reconcile() deletes). Anything
 * else under its name is left to mkdir to refuse, as fs does.
 */
function openIntentDir(stateDir: string): void {
  const dir = intentDir(stateDir);
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st || (!st.isDirectory() && !st.isSymbolicLink())) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if (st || (e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // made meanwhile: checked below
    }
  }
  ensureTrustedSubdir(stateDir, 'intents');
}

/**
 * Drops the journals whose file was removed (with its state directory), closing each now or when its
 * last running operation ends (retire): a process that goes through many state directories would
 * otherwise hold a descriptor and an entry per directory for its lifetime. Runs when a directory's
 * journal is first opened, so the open ones are bounded by the directories still in use.
 */
function closeRemovedJournals(): void {
  for (const [dir, j] of journals) {
    if (!j.retired && fs.fstatSync(j.fd).nlink > 0) continue;
    journals.delete(dir);
    retire(j); // once per journal, under any of its spellings
  }
}

/**
 * A journal whose file was removed: closed now, or when its last running operation ends. Never
 * closed under a running one: its descriptor's number would be reused by the next file opened (the
 * reopened journal, any file), and that operation's end line written there.
 */
function retire(j: Journal): void {
  if (j.retired) return;
  j.retired = true;
  if (j.running.size === 0) fs.closeSync(j.fd);
}

/** An operation of `j` ended (done or abandoned): a retired journal is closed with its last one. */
function ended(j: Journal, id: string): boolean {
  j.running.delete(id);
  if (!j.retired) return false;
  // Its file is gone: nothing left to record there.
  if (j.running.size === 0) fs.closeSync(j.fd);
  return true;
}

/**
 * This process's open journal in `dir` under any spelling of it (the one its operations began with may be
 * another): without it, its running operations would read as interrupted, for reconcile to undo.
 */
function ownJournal(dir: string): Journal | undefined {
  const j = journals.get(dir);
  if (j && !j.retired) return j;
  let st: fs.Stats;
  try {
    st = fs.statSync(path.join(dir, SELF));
  } catch {
    return undefined;
  }
  for (const o of journals.values()) if (!o.retired && o.dev === st.dev && o.ino === st.ino) return o;
  return undefined;
}

/**
 * Removes the journals of dead processes that hold nothing to recover (a process that ended between operations
 * leaves one). A journal that cannot be read as one (CorruptStateError) or trusted (UnsafeStateDirError) is never
 * removed: the error is thrown.
 */
function sweepDeadJournals(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.log') || journalLive(name)) continue;
    const file = path.join(dir, name);
    if (openIntents(file).length === 0) fs.rmSync(file, { force: true });
  }
}

function append(j: Journal, line: Line): void {
  j.size += fs.writeSync(j.fd, JSON.stringify(line) + '\n');
}

/** One operation's record: finish it with done() (completed or rolled back) or abandon() (left for reconcile). */
export class Intent {
  private open = true;
  constructor(
    private readonly journal: Journal,
    readonly id: string,
    /** What it records (for the error of an end that cannot be written). */
    private readonly plan: Pick<IntentPlan, 'op' | 'network'>,
  ) {}

  /** The operation finished or was undone. */
  done(): void {
    if (!this.open) return;
    this.open = false;
    const j = this.journal;
    if (ended(j, this.id)) return;
    try {
      // Nothing in flight and nothing left for reconcile: the file can start afresh instead of growing.
      if (j.running.size === 0 && j.abandoned === 0 && j.size > EMPTY_AFTER_BYTES) {
        fs.ftruncateSync(j.fd, 0);
        j.size = 0;
      } else append(j, { t: 'end', id: this.id });
    } catch (e) {
      // The end is not on disk: the intent stays open there, so it counts as abandoned (check() and reconcile()
      // see it; clearIntent() ends it), and the file is never emptied under it.
      j.abandoned++;
      throw journalError(this.plan, j.file, e, unended(this.plan.op));
    }
  }

  /** The operation failed halfway and could not undo itself: the record stays, for check/reconcile to report and finish. */
  abandon(): void {
    if (!this.open) return;
    this.open = false;
    if (ended(this.journal, this.id)) return;
    this.journal.abandoned++;
  }
}

/**
 * Records an operation before it touches the kernel. A journal that cannot
 * record it (a full disk, a read-only or inaccessible state directory) is a
 * SystemError whose `code` is the file system's and `cause` its error: the
 * operation does not start, so nothing was changed.
 */
export function beginIntent(stateDir: string, plan: IntentPlan): Intent {
  const id = String(++seq);
  const record: IntentRecord = { ...plan, pid: process.pid, pidStart: selfStart, started: new Date().toISOString() };
  let j: Journal;
  try {
    j = journalOf(stateDir);
    append(j, { t: 'begin', id, record });
  } catch (e) {
    throw journalError(plan, intentDir(stateDir), e, "cannot record the intent in the state directory's journal, nothing was changed");
  }
  j.running.add(id);
  return new Intent(j, id, plan);
}

/** What an operation whose end could not be recorded left: it finished, but reads as interrupted until reconcile() settles it. */
function unended(op: IntentOp): string {
  const then =
    op === 'attach' || op === 'create'
      ? 'reconcile() undoes it'
      : op === 'publish' || op === 'unpublish'
        ? 'reconcile() rewrites the table from the state, which records it'
        : 'reconcile() completes it (nothing is left to do)';
  return `finished, but its end cannot be recorded in the state directory's journal: it counts as interrupted, and ${then}`;
}

/**
 * The typed error of a journal write that failed (a file system error; anything else is returned as it is):
 * a SystemError naming the operation, with the file system's code and its error as `cause`.
 */
function journalError(plan: Pick<IntentPlan, 'op' | 'network'>, file: string, e: unknown, what: string): unknown {
  const fsError = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof fsError.code !== 'string') return e;
  const errno = Math.abs(fsError.errno ?? (os.constants.errno as Partial<Record<string, number>>)[fsError.code] ?? 0);
  if (errno === 0) return e;
  const op = `${plan.op}${plan.network ? ` on network ${plan.network}` : ''}`;
  const syscall = `${fsError.syscall ?? 'write'}(${fsError.path ?? file})`;
  const err = new SystemError(`${op}: ${what}`, errno, syscall);
  Object.defineProperty(err, 'cause', { value: e, configurable: true, writable: true });
  return err;
}

/**
 * Runs `fn` as a recorded operation: the record ends when fn returns or throws (fn rolls back what it did on
 * failure). When fn throws and the end cannot be written either, fn's error is the one thrown (it says what
 * failed; the intent stays open for check() and reconcile()), carrying the journal's as `journalError`.
 */
export async function withIntent<T>(stateDir: string, plan: IntentPlan, fn: (intent: Intent) => Promise<T>): Promise<T> {
  const intent = beginIntent(stateDir, plan);
  let result: T;
  try {
    result = await fn(intent);
  } catch (e) {
    endFailed(intent, e, true);
    throw e;
  }
  intent.done();
  return result;
}

/**
 * Ends the intent of an operation that failed with `e` (about to be thrown): done when the operation was
 * undone, else abandoned. A journal that cannot record the end never replaces `e` (it says what failed): its
 * error rides along as e's `journalError`, and the intent stays open (Intent.done).
 */
export function endFailed(intent: Intent, e: unknown, undone: boolean): void {
  try {
    if (undone) intent.done();
    else intent.abandon();
  } catch (journalError) {
    if (e instanceof Error) Object.defineProperty(e, 'journalError', { value: journalError, configurable: true, writable: true });
  }
}

/**
 * The line a recovery appends after the remnant of a writer killed in the middle of a line, before its own
 * (writeEnd): the remnant is then known to be one, not a line someone broke.
 */
const CUT = JSON.stringify({ t: 'cut' });

/** A journal file's text: not through a link, the caller's, writable by nobody else (UnsafeStateDirError); "" when it is gone. */
function readJournalFile(file: string): string {
  let fd: number;
  try {
    fd = openStateFile(file, 'read');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ''; // removed meanwhile (by another reconcile)
    throw e;
  }
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The intents of one journal file that have no end, in order. Every line is checked (state-shape.ts): a line
 * that is not JSON, or not a begin or an end, is a CorruptStateError (skipping it could drop an operation's
 * begin or end, and reconcile() would leave half of it or undo a finished one). Not corrupt: the remnant of a
 * writer killed in the middle of a line, at the end of the file or followed by the marker a recovery wrote.
 */
function openIntents(file: string): Array<{ id: string; record: IntentRecord }> {
  const lines = readJournalFile(file).split('\n');
  const begun = new Map<string, IntentRecord>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (raw === '') continue;
    const last = i === lines.length - 1; // no newline after it: cut
    let l: Line | { t: 'cut' };
    try {
      l = JSON.parse(raw) as Line | { t: 'cut' };
    } catch (e) {
      if (last || lines[i + 1] === CUT) continue;
      throw new CorruptStateError(file, `line ${i + 1} is not JSON (${(e as Error).message})`);
    }
    const problem = checkIntentLine(l);
    if (problem) {
      if (last) continue;
      throw new CorruptStateError(file, `line ${i + 1}: ${problem}`);
    }
    if (l.t === 'begin') begun.set(l.id, l.record);
    else if (l.t === 'end') begun.delete(l.id);
  }
  return [...begun].map(([id, record]) => ({ id, record }));
}

/** Whether the process a journal file belongs to still runs. */
function journalLive(name: string): boolean {
  if (name === SELF) return true;
  const m = /^(\d+)-(\d+)\.log$/.exec(name);
  return !!m && startTimeOf(Number(m[1])) === m[2];
}

/**
 * Every intent without an end, oldest first, with whether its operation is
 * still running. With `liveJournals: false`, the journals of running
 * processes are not read (only interrupted operations are wanted).
 */
export function pendingIntents(stateDir: string, opts: { liveJournals?: boolean } = {}): PendingIntent[] {
  // Checked like the state directory, not made: a link, another user's directory or one others can write is an
  // UnsafeStateDirError, a journal that cannot be read as one a CorruptStateError (never read as "nothing pending").
  const dir = trustedSubdirIfAny(stateDir, 'intents');
  if (dir === undefined) return [];
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.log'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []; // removed meanwhile
    throw e;
  }
  const own = names.includes(SELF) ? ownJournal(dir) : undefined;
  const out: PendingIntent[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const processLive = journalLive(name);
    // Our own journal holds interrupted operations only if one was abandoned.
    if (opts.liveJournals === false && processLive && (name !== SELF || !own?.abandoned)) continue;
    for (const { id, record } of openIntents(file)) {
      // In this process, an operation is running until it ends or is abandoned.
      const live = processLive && (name !== SELF || (own?.running.has(id) ?? false));
      out.push({ file, id, record, live });
    }
  }
  return out.sort((a, b) => a.record.started.localeCompare(b.record.started));
}

/** Whether an intent is still without an end (not finished or recovered meanwhile). */
export function intentExists(p: PendingIntent): boolean {
  return openIntents(p.file).some((x) => x.id === p.id);
}

/** What a recovered operation whose end could not be recorded left. */
const UNCLEARED =
  "was completed or undone, but its end cannot be recorded in the state directory's journal: it stays interrupted, and the next reconcile() settles it again (each step tolerates what is gone)";

/** Appends an interrupted operation's end to its journal; false if that journal was removed meanwhile (by another reconcile). */
function writeEnd(p: PendingIntent): boolean {
  const name = path.basename(p.file);
  if (name === SELF) {
    const j = ownJournal(path.dirname(p.file));
    if (j) {
      append(j, { t: 'end', id: p.id });
      j.abandoned = Math.max(0, j.abandoned - 1);
      return false; // this process's journal: nothing to remove
    }
  }
  let fd: number;
  try {
    fd = openStateFile(p.file, 'extend'); // not through a link; the caller's, writable by nobody else
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; // removed by another reconcile
    throw e;
  }
  try {
    // The dead process may have left a cut last line: ended, and marked as a remnant (not read as corruption).
    const size = fs.fstatSync(fd).size;
    const lastByte = Buffer.alloc(1);
    const cut = size > 0 && fs.readSync(fd, lastByte, 0, 1, size - 1) === 1 && lastByte[0] !== 10;
    fs.writeSync(fd, (cut ? `\n${CUT}\n` : '') + JSON.stringify({ t: 'end', id: p.id }) + '\n');
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Records the end of an interrupted operation once it has been completed or undone; a dead process's journal goes with its last one. */
export function clearIntent(p: PendingIntent): void {
  try {
    if (!writeEnd(p)) return;
  } catch (e) {
    throw journalError(p.record, p.file, e, UNCLEARED);
  }
  const name = path.basename(p.file);
  if (!journalLive(name) && openIntents(p.file).length === 0) fs.rmSync(p.file, { force: true });
}
