// A node:fs whose writeSync fails the intent journal's end lines with ENOSPC while `failEnd.on` (a full
// disk after the operation began), and its begin lines with `failBegin.code` while set (a full disk, a
// read-only or inaccessible state directory before the operation starts). Use as
//   vi.mock('node:fs', async (importOriginal) => (await import('../helpers/failing-journal')).failingJournalFs(importOriginal));
//   const { failEnd, failBegin } = await import('../helpers/failing-journal');
// (vi.mock is hoisted above imports: the factory and the test reach this module by dynamic import).

/** While `on`, the journal's end lines cannot be written. */
export const failEnd = { on: false };

/** While `code` is set, the journal's begin lines fail with that error code (as Node's fs reports it). */
export const failBegin: { code?: 'ENOSPC' | 'EROFS' | 'EACCES' } = {};

const ERRNO = { ENOSPC: 28, EROFS: 30, EACCES: 13 };

/** The vi.mock factory of node:fs. */
export async function failingJournalFs(importOriginal: <T>() => Promise<T>): Promise<unknown> {
  const actual = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, data: string, ...rest: unknown[]) => {
    if (failEnd.on && typeof data === 'string' && data.includes('"t":"end"'))
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const code = failBegin.code;
    if (code && typeof data === 'string' && data.includes('"t":"begin"'))
      throw Object.assign(new Error(`${code}: the journal cannot be written, write`), { code, errno: -ERRNO[code], syscall: 'write' });
    return (actual.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
  }) as typeof actual.writeSync;
  return { ...actual, default: { ...actual, writeSync }, writeSync };
}
