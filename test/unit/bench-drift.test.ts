// The soak's drift target (bench/lib/drift.js) judges the fitted line, not how noisy the run was: a
// real upward drift with segments scattering as the handle soak's do under load must be missed.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface Row {
  variant: string;
  median: number;
  se?: number;
}
interface Segment {
  at: number;
  cpuUs: number;
  systemUs: number;
  wallMedianUs: number;
}
interface Drift {
  recordDrift(ctx: unknown, o: { group: string; key: string; segments: Segment[]; opName: string; per: number }): void;
  driftTarget(key: string, what: string): { evaluate(r: (variant: string) => Row | undefined): { met: boolean; value: string } };
}
const { recordDrift, driftTarget } = createRequire(import.meta.url)('../../bench/lib/drift.js') as Drift;

/** The drift target's verdict on 20 segments whose CPU per operation is `cpu(i)`. */
function judge(cpu: (i: number) => number): { met: boolean; value: string } {
  const rows: Row[] = [];
  const ctx = { record: (r: Row) => (rows.push(r), r), log: () => {} };
  const segments = Array.from({ length: 20 }, (_, i) => ({ at: (i + 0.5) * 5000, cpuUs: cpu(i), systemUs: 0, wallMedianUs: 10 }));
  recordDrift(ctx, { group: 'g', key: 'k', segments, opName: 'op', per: 100000 });
  return driftTarget('k', 'test').evaluate((v) => rows.find((r) => r.variant === v));
}

describe('soak drift target', () => {
  it('misses a real +24 % drift however noisy the segments are', () => {
    // Each segment 1.3× or 0.7× a line rising 25 % over the run: the fitted line rises ~14 %, within 2 standard errors.
    const noisy = judge((i) => 10 * (1 + (0.25 * i) / 19) * (i % 2 ? 0.7 : 1.3));
    expect(noisy.met).toBe(false);
    expect(noisy.value).toContain('old rule (or slope within 2 standard errors): met');
  });

  it('meets a flat run, noisy or not, and misses a quiet drifting one', () => {
    expect(judge((i) => 10 * (i % 2 ? 0.97 : 1.03)).met).toBe(true);
    expect(judge((i) => 10 * (i % 2 ? 0.8 : 1.2) * (i === 19 ? 1.2 : 1)).met).toBe(true);
    expect(judge((i) => 10 * (1 + (0.2 * i) / 19)).met).toBe(false);
  });
});
