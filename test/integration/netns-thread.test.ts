// Entering namespaces without a thread per call: one long-lived namespace
// thread serves createNetns(), open({ netns }), openSync({ netns }),
// createAnonymousNetns() and sysctls, returns to the process's namespace after
// each (also when the call fails) and exits when idle (fixture netns-thread.cjs).
import { afterEach, describe, expect, it } from 'vitest';
import { deleteNetns } from '../../lib';
import { requireRoot, uniqueNetnsName } from '../helpers/netns';
import { exitOf, explain, killFixtures, lastJson, runFixture } from '../fixtures/lifecycle/run-fixture';

afterEach(killFixtures);

describe('the namespace thread', () => {
  it('one thread enters namespaces for every call, comes back after each (also on errors) and exits when idle', async () => {
    requireRoot();
    const name = uniqueNetnsName('nsthread');
    try {
      const r = await runFixture('netns-thread.cjs', { args: [name], timeoutMs: 60_000 });
      expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
      const out = lastJson(r);
      // 20 sequential and 20 concurrent opens, two namespace creations, sysctls:
      // one thread (a thread per call would show dozens; on a loaded machine
      // a gap over the 2 s idle time between steps may start a second one).
      expect(out.tids, r.stdout).toBeGreaterThanOrEqual(1);
      expect(out.tids, r.stdout).toBeLessThanOrEqual(3);
      expect(out.strays).toEqual([]);
      expect(out.errors).toEqual(['sysctl missing: ENOENT', 'open in a UTS namespace: EINVAL', 'createNetns again: EEXIST']);
      expect(out.afterIdle).toBe(0);
    } finally {
      await deleteNetns(name, { missingOk: true });
    }
  });
});
