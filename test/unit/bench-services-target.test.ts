// The services workload's steady-state target names 100, 1,000 and 10,000 services: a run that did not
// measure one of them (--quick stops at 2,000) must not meet it.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface Row {
  variant: string;
  group: string;
  median: number;
  samples: number[];
}
interface Workload {
  targets: Array<{ text: string; evaluate(r: unknown, all: Row[]): { met: boolean; value: string } }>;
}
const services = createRequire(import.meta.url)('../../bench/workloads/services.js') as Workload;
const steady = services.targets.find((t) => t.text.includes('steady state'));
const row = (n: number, ms: number): Row => ({
  variant: 'nlkit, `svcs.set()` with `cutFlows: false`, steady state (after 1,000 more changes)',
  group: `change one service's endpoints, ${n.toLocaleString('en-US')} services`,
  median: ms,
  samples: Array.from({ length: 100 }, () => ms),
});

describe('services steady-state target', () => {
  it('is met only with every size it names measured', () => {
    expect(steady).toBeDefined();
    expect(steady!.evaluate(undefined, [row(100, 1), row(1000, 1), row(10000, 1)]).met).toBe(true);
    const quick = steady!.evaluate(undefined, [row(100, 1), row(1000, 1), row(2000, 1)]);
    expect(quick.met).toBe(false);
    expect(quick.value).toContain('10,000 services not measured');
    expect(steady!.evaluate(undefined, [row(100, 1), row(1000, 3), row(10000, 1)]).met).toBe(false);
  });
});
