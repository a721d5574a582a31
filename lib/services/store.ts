/**
 * The recorded services: one JSON file per service under
 * `<stateDir>/services/records/`, changed under one flock, written
 * atomically. A change reads and writes its own service's file only, so its
 * cost does not grow with the number of services (a single state file
 * rewritten per change would). The directory is checked like the networks'
 * state directory (owned by the caller, not writable by others), and so are
 * `services/` and `records/` in it (not symbolic links: the records read
 * there decide what reconcile() deletes). A record
 * file is checked when it is read (state-shape.ts): one that is not a
 * record of its service is a CorruptStateError, never read as no service.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readStateFile, withFileLock, writeFileAtomic } from '../network/file-lock';
import { ensureTrustedDir, ensureTrustedSubdir } from '../network/state-dir';
import { canonicalRecord, type ServiceRecord } from './spec';
import { parseServiceRecord } from './state-shape';

/** A record as last read or written, with its file's text. */
class KnownRecord {
  constructor(
    readonly text: string,
    readonly rec: ServiceRecord,
  ) {}
}

/** Records kept with their file's text (the services changed last; a daemon's watch loop changes the same ones again and again). */
const MAX_KNOWN = 256;

export class ServiceStore {
  /** The services' directory (also holds the intent journal). */
  readonly dir: string;
  private readonly records: string;
  private readonly lockFile: string;
  /** Records as last read or written by readShared/write, with their file's text. */
  private readonly known = new Map<string, KnownRecord>();

  constructor(stateDir: string) {
    // Made when missing, and checked: a link, another user's directory or one others can write is an UnsafeStateDirError.
    this.dir = ensureTrustedSubdir(ensureTrustedDir(stateDir), 'services');
    this.records = ensureTrustedSubdir(this.dir, 'records');
    this.lockFile = path.join(this.dir, 'lock');
  }

  /** Runs fn holding the services' lock (one change at a time across processes). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(this.lockFile, fn);
  }

  /** A record's file (names are validated: no "/" nor ".."; joined without path.join's normalising, on every change). */
  private file(name: string): string {
    return `${this.records}/${name}.json`;
  }

  /**
   * One recorded service, or undefined: a new object, the caller's to keep or change. A file that is not a
   * record of the service is a CorruptStateError. While the file holds what this store last read or wrote
   * there, a copy of that record (checked then), not parsed again.
   */
  read(name: string): ServiceRecord | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const k = this.known.get(name);
    return k?.text === text ? canonicalRecord(k.rec) : parseServiceRecord(this.file(name), name, text);
  }

  /**
   * One recorded service for a change (under the lock), or undefined. While
   * its file holds what this store last read or wrote there, the same record
   * object as then (and so the layout made of it, table.ts): a change of one
   * service neither parses its record nor lays it out again. Never modified.
   */
  readShared(name: string): ServiceRecord | undefined {
    const text = this.text(name);
    if (text === undefined) {
      this.known.delete(name);
      return undefined;
    }
    const k = this.known.get(name);
    if (k?.text === text) return k.rec;
    const rec = parseServiceRecord(this.file(name), name, text);
    this.remember(name, text, rec);
    return rec;
  }

  private text(name: string): string | undefined {
    try {
      return readStateFile(this.file(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private remember(name: string, text: string, rec: ServiceRecord): void {
    this.known.delete(name);
    if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value as string);
    this.known.set(name, new KnownRecord(text, rec)); // not a literal: layout-objects.ts says why
  }

  /** Every recorded service, by name; a record file that is not one is a CorruptStateError (never left out). */
  readAll(): Map<string, ServiceRecord> {
    const out = new Map<string, ServiceRecord>();
    for (const f of fs.readdirSync(this.records)) {
      if (!f.endsWith('.json')) continue;
      const rec = this.read(f.slice(0, -5));
      if (rec) out.set(rec.name, rec);
    }
    return out;
  }

  /**
   * Whether no service is recorded besides those in `except`: stops at the
   * first other record (a delete among 10,000 services reads one directory entry or so).
   */
  isEmpty(except: ReadonlySet<string> = new Set()): boolean {
    const d = fs.opendirSync(this.records);
    try {
      for (let e = d.readSync(); e; e = d.readSync()) if (e.name.endsWith('.json') && !except.has(e.name.slice(0, -5))) return false;
      return true;
    } finally {
      d.closeSync();
    }
  }

  /** Records `rec` (kept as the shared record of its service: never modify it afterwards). */
  write(rec: ServiceRecord): void {
    const text = JSON.stringify(rec);
    writeFileAtomic(this.file(rec.name), text);
    this.remember(rec.name, text, rec);
  }

  remove(name: string): void {
    this.known.delete(name);
    fs.rmSync(this.file(name), { force: true });
    // The port numbers an older nlkit recorded next to the record (hairpin keys; the packet is the key now).
    fs.rmSync(path.join(this.dir, 'port-ids', `${name}.json`), { force: true });
  }
}
