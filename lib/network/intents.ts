/**
 * The write-ahead intent journal: before an operation of the networks layer
 * touches the kernel it records what it is about to do and what it will
 * create (the lease, the host veth, a namespace, a publication key), and
 * removes the record once it finished or rolled back. A record whose process
 * is gone is an interrupted operation: check() reports it and reconcile()
 * completes or undoes it (see recovery.ts).
 *
 * One small file per operation under `<stateDir>/intents/`, written
 * atomically (a crash leaves the old file or the new one, never half), so
 * concurrent operations never contend for it. A record names its process by
 * pid and start time (a pid reused later has another start time); within
 * the process, by the set of operations still running.
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './file-lock';

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
  file: string;
  record: IntentRecord;
  /** Its process is still running it. */
  live: boolean;
}

/** Files of the operations this process is running now. */
const running = new Set<string>();

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

const selfStart = startTimeOf('self') ?? '';

/** The journal directory of a state directory. */
export function intentDir(stateDir: string): string {
  return path.join(stateDir, 'intents');
}

/** One operation's record: finish it with done() (completed or rolled back) or abandon() (left for reconcile). */
export class Intent {
  private open = true;
  constructor(readonly file: string) {}

  /** The operation finished or was undone: the record goes. */
  done(): void {
    if (!this.open) return;
    this.open = false;
    running.delete(this.file);
    fs.rmSync(this.file, { force: true });
  }

  /** The operation failed halfway and could not undo itself: the record stays, for check/reconcile to report and finish. */
  abandon(): void {
    this.open = false;
    running.delete(this.file);
  }
}

/** Records an operation before it touches the kernel. */
export function beginIntent(stateDir: string, plan: IntentPlan): Intent {
  const dir = intentDir(stateDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${plan.op}-${randomBytes(8).toString('hex')}.json`);
  const record: IntentRecord = { ...plan, pid: process.pid, pidStart: selfStart, started: new Date().toISOString() };
  running.add(file);
  writeFileAtomic(file, JSON.stringify(record));
  return new Intent(file);
}

/** Runs `fn` as a recorded operation: the record goes when fn returns or throws (fn rolls back what it did on failure). */
export async function withIntent<T>(stateDir: string, plan: IntentPlan, fn: (intent: Intent) => Promise<T>): Promise<T> {
  const intent = beginIntent(stateDir, plan);
  try {
    return await fn(intent);
  } finally {
    intent.done();
  }
}

function isLive(file: string, r: IntentRecord): boolean {
  if (r.pid === process.pid && r.pidStart === selfStart) return running.has(file);
  return startTimeOf(r.pid) === r.pidStart;
}

/** Every recorded intent, oldest first, with whether its operation is still running. */
export function pendingIntents(stateDir: string): PendingIntent[] {
  const dir = intentDir(stateDir);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: PendingIntent[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let record: IntentRecord;
    try {
      record = JSON.parse(fs.readFileSync(file, 'utf8')) as IntentRecord;
    } catch {
      continue; // removed meanwhile (finished)
    }
    out.push({ file, record, live: isLive(file, record) });
  }
  return out.sort((a, b) => a.record.started.localeCompare(b.record.started));
}

/** Whether an intent's record is still there (not finished or recovered meanwhile). */
export function intentExists(file: string): boolean {
  return fs.existsSync(file);
}

/** Removes the record of an interrupted operation once it has been completed or undone. */
export function clearIntent(file: string): void {
  fs.rmSync(file, { force: true });
}
