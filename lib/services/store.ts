/**
 * The recorded services: one JSON file per service under
 * `<stateDir>/services/records/`, changed under one flock, written
 * atomically. A change reads and writes its own service's file only, so its
 * cost does not grow with the number of services (a single state file
 * rewritten per change would). The directory is checked like the networks'
 * state directory (owned by the caller, not writable by others).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readStateFile, withFileLock, writeFileAtomic } from '../network/file-lock';
import { ensureTrustedDir } from '../network/state-dir';
import { canonicalRecord, type ServiceRecord } from './spec';

export class ServiceStore {
  /** The services' directory (also holds the intent journal). */
  readonly dir: string;
  private readonly records: string;

  constructor(stateDir: string) {
    this.dir = path.join(ensureTrustedDir(stateDir), 'services');
    this.records = path.join(this.dir, 'records');
    fs.mkdirSync(this.records, { recursive: true, mode: 0o700 });
  }

  /** Runs fn holding the services' lock (one change at a time across processes). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(path.join(this.dir, 'lock'), fn);
  }

  private file(name: string): string {
    return path.join(this.records, `${name}.json`);
  }

  /** One recorded service, or undefined. */
  read(name: string): ServiceRecord | undefined {
    try {
      return canonicalRecord(JSON.parse(readStateFile(this.file(name))) as ServiceRecord);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Every recorded service, by name. */
  readAll(): Map<string, ServiceRecord> {
    const out = new Map<string, ServiceRecord>();
    for (const f of fs.readdirSync(this.records)) {
      if (!f.endsWith('.json')) continue;
      const rec = this.read(f.slice(0, -5));
      if (rec) out.set(rec.name, rec);
    }
    return out;
  }

  write(rec: ServiceRecord): void {
    writeFileAtomic(this.file(rec.name), JSON.stringify(rec));
  }

  remove(name: string): void {
    fs.rmSync(this.file(name), { force: true });
    // The port numbers an older nlkit recorded next to the record (hairpin keys; the packet is the key now).
    fs.rmSync(path.join(this.dir, 'port-ids', `${name}.json`), { force: true });
  }
}
