/**
 * Plain-text formatting for the CLI: aligned tables and durations.
 * @module
 */

/** Left-aligned columns separated by two spaces; the first row is the header. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r, ri) => {
      const line = r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
      return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** "1.23 ms" / "850 µs" */
export function ms(n: number): string {
  return n < 1 ? `${Math.round(n * 1000)} µs` : `${n.toFixed(2)} ms`;
}

/** Times an async step, recording it under `label`. */
export async function timed<T>(steps: Array<[string, number]>, label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = process.hrtime.bigint();
  try {
    return await fn();
  } finally {
    steps.push([label, Number(process.hrtime.bigint() - t0) / 1e6]);
  }
}
