// A node:fs whose writeSync fails the intent journal's end lines with ENOSPC while `failEnd.on` (a full
// disk after the operation began). Use as
//   vi.mock('node:fs', async (importOriginal) => (await import('../helpers/failing-journal')).failingJournalFs(importOriginal));
//   const { failEnd } = await import('../helpers/failing-journal');
// (vi.mock is hoisted above imports: the factory and the test reach this module by dynamic import).

/** While `on`, the journal's end lines cannot be written. */
export const failEnd = { on: false };

/** The vi.mock factory of node:fs. */
export async function failingJournalFs(importOriginal: <T>() => Promise<T>): Promise<unknown> {
  const actual = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, data: string, ...rest: unknown[]) => {
    if (failEnd.on && typeof data === 'string' && data.includes('"t":"end"'))
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return (actual.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
  }) as typeof actual.writeSync;
  return { ...actual, default: { ...actual, writeSync }, writeSync };
}
