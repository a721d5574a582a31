// A worker ended while connectTcp() waits for its connection (the socket made in the worker's environment,
// connect() pending on libuv's pool) leaves no socket behind: the environment holds the socket until Node
// adopts it, after the connection (lib/system/inet-socket.ts), and closes it at the worker's end.
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns';
import { exitOf, explain, killFixtures, runFixture } from '../fixtures/lifecycle/run-fixture';

afterEach(killFixtures);

describe('a worker ended while connectTcp() connects', () => {
  it('closes the socket with the worker', async () => {
    requireRoot();
    const r = await runFixture('worker-connecting.cjs', { timeoutMs: 30_000 });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { before: number; after: number; messages: string[] };
    expect(out.messages).toEqual(['started']); // ended while connecting: neither connected nor failed
    expect(out.after).toBe(out.before);
  }, 60_000);
});
