// Closing gives everything back: after opening and closing 5,000 handles,
// 2,000 event subscriptions and 300 container attach/detach cycles, a process
// has the descriptors and threads it had before and its RSS grew by less than
// 50 MB. Measured in a separate process (test/fixtures/lifecycle/resources.cjs)
// in its own network namespace; counts only, no timings.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns';
import { exitOf, explain, killFixtures, lastJson, runFixture } from '../fixtures/lifecycle/run-fixture';

afterEach(killFixtures);

interface Usage {
  fds: number;
  threads: number;
  rssMB: number;
}
interface Phase {
  name: string;
  count: number;
  before: Usage;
  after: Usage;
}

// Descriptors and threads Node itself may open lazily after the warm-up (its
// pool threads are already running then); a leak per operation would show as
// thousands.
const FD_SLACK = 2;
const THREAD_SLACK = 2;
const RSS_GROWTH_MB = 50;

describe('resources come back after close', () => {
  it('5,000 handles, 2,000 subscriptions and 300 attach/detach cycles leave no descriptor, thread or memory behind', async () => {
    requireRoot();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-resources-'));
    try {
      const r = await runFixture('resources.cjs', { nodeArgs: ['--expose-gc'], args: ['5000', '2000', '300', stateDir], timeoutMs: 55_000 });
      expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
      const { phases } = lastJson<{ baseline: Usage; phases: Phase[] }>(r);
      expect(phases.map((p) => p.name)).toEqual(['open/close handles', 'event subscriptions', 'attach/detach cycles']);
      // Each phase is judged against the usage just before it, so the report names the phase that leaks.
      const problems: string[] = [];
      for (const p of phases) {
        if (p.after.fds > p.before.fds + FD_SLACK) problems.push(`${p.name} (${p.count}): descriptors ${p.before.fds} -> ${p.after.fds}`);
        if (p.after.threads > p.before.threads + THREAD_SLACK) problems.push(`${p.name} (${p.count}): threads ${p.before.threads} -> ${p.after.threads}`);
        if (p.after.rssMB > p.before.rssMB + RSS_GROWTH_MB) problems.push(`${p.name} (${p.count}): RSS ${p.before.rssMB} MB -> ${p.after.rssMB} MB`);
      }
      const first = phases[0].before;
      const last = phases[phases.length - 1].after;
      if (last.rssMB > first.rssMB + RSS_GROWTH_MB) problems.push(`all phases: RSS ${first.rssMB} MB -> ${last.rssMB} MB`);
      expect(problems, `${problems.join('\n')}\n${r.stdout}`).toEqual([]);
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
