/**
 * The routing an intercept() is about to write, recorded in the state
 * directory before the kernel is touched: the table's comment records an
 * interception's routing only once the table is written, so a writer killed
 * between its policy rules and its table would leave them to nobody. The
 * next intercept() or remove() of the namespace takes such routing away
 * (unless it is the one wanted or in place). Read and written under the
 * namespace's interception lock (./lock.ts); one line per routing, as the
 * table's comment spells it (and checked like it when read back).
 * @module
 */
import * as fs from 'node:fs';
import { openStateFile } from '../network/file-lock';
import { routingOfComment, tableComment, type RoutingSpec } from './layout';

/** The routings recorded in `file` (none when there is no such file). */
export function readPending(file: string): RoutingSpec[] {
  let fd: number;
  try {
    fd = openStateFile(file, 'read');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    return fs
      .readFileSync(fd, 'utf8')
      .split('\n')
      .flatMap((line) => routingOfComment(line) ?? []);
  } finally {
    fs.closeSync(fd);
  }
}

/** Records `spec` as being written (replacing what the file held: the caller has dealt with that). */
export function writePending(file: string, spec: RoutingSpec): void {
  const fd = openStateFile(file, 'lock');
  try {
    fs.ftruncateSync(fd);
    fs.writeSync(fd, `${tableComment(spec)}\n`, 0);
  } finally {
    fs.closeSync(fd);
  }
}

/** The write finished (or was undone): nothing pending. */
export function clearPending(file: string): void {
  fs.rmSync(file, { force: true });
}
