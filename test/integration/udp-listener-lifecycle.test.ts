// UdpListener.unref()/ref() in a real Node process (its own network
// namespace): an unreferenced listener left open lets the process exit by
// itself with status 0 (no abort from the receive thread at teardown); a
// referenced one keeps it alive until it is closed.
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns';
import { exitOf, explain, killFixtures, runFixture } from '../fixtures/lifecycle/run-fixture';

afterEach(killFixtures);

const lines = (stdout: string): unknown[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as unknown);

describe('UdpListener and the process', () => {
  it('unref(): the process exits by itself with status 0, the listener still open', async () => {
    requireRoot();
    const r = await runFixture('udp-listener-ref.cjs', { args: ['unref'] });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    expect(r.timedOut).toBe(false);
    expect(lines(r.stdout)).toEqual([{ received: 'ping' }]);
  });

  it('ref() after unref(): the process stays until the listener is closed', async () => {
    requireRoot();
    const r = await runFixture('udp-listener-ref.cjs', { args: ['ref'] });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    // Only a listener holding the process lets the unreferenced timer fire.
    expect(lines(r.stdout)).toEqual([{ received: 'ping' }, { closedByTimer: true }]);
  });
});
