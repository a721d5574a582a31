// A receive error other than ENOBUFS on an async handle's I/O thread (made on
// demand in a real process: poll() fails with EINVAL while RLIMIT_NOFILE's
// soft limit is 1, see the fixture). The call pending fails with that error,
// a SystemError named by its own operation that says it was never sent (the
// kernel refused nothing: not a NetlinkError), and a call still queued natively is
// never sent afterwards: before the fix a restarted I/O thread sent it, so a
// call told "failed" found its route applied.
import { afterEach, describe, expect, it } from 'vitest';
import { exitOf, explain, killFixtures, lastJson, runFixture } from '../fixtures/lifecycle/run-fixture';

describe('a receive error other than ENOBUFS', () => {
  afterEach(killFixtures);

  it('fails the calls pending with it and never sends the ones still queued; the handle goes on', async () => {
    const r = await runFixture('fatal-receive.cjs', { timeoutMs: 30_000 });
    expect({ ...exitOf(r), timedOut: r.timedOut }, explain(r)).toEqual({ status: 0, signal: null, timedOut: false });
    const out = lastJson<{
      failed?: { dst: string; name: string; code: string; operation: string; sent: boolean };
      calls: Array<{ dst: string; ok: boolean }>;
      next: string;
      present: string[];
    }>(r);
    expect(out.failed).toBeDefined();
    const failed = out.failed!;
    // Not a NetlinkError: the kernel refused nothing. It was still queued (cancelled): never sent.
    expect(failed).toMatchObject({ name: 'SystemError', code: 'EINVAL', operation: `add route ${failed.dst}`, sent: false });
    // The kernel agrees: every call that resolved is there, the failed one (queued, then cancelled) is not.
    for (const c of out.calls.filter((x) => x.ok)) expect(out.present).toContain(c.dst.replace('/32', ''));
    expect(out.present).not.toContain(failed.dst.replace('/32', ''));
    // Once poll() works again the handle sends and is answered.
    expect(out.next).toBe('ok');
    expect(out.present).toContain('10.2.0.1');
  });
});
