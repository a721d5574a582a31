// nlkit in worker_threads never takes the process down: terminating a worker
// in the middle of its requests, a worker that ends with its handles still
// open, and several workers working at once. Each case is a real Node process
// (test/fixtures/lifecycle/workers.cjs) in its own network namespace.
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns';
import { exitOf, explain, killFixtures, lastJson, runFixture } from '../fixtures/lifecycle/run-fixture';

afterEach(killFixtures);

describe('nlkit in worker threads', () => {
  it('terminating a worker with ~1,000 requests in flight never aborts the process (10 different moments)', async () => {
    requireRoot();
    // -1: while the worker is still opening its handle; the others: ms after its first 1,000 requests went out.
    const delays = [-1, 0, 1, 2, 3, 5, 8, 13, 21, 40];
    const failures: string[] = [];
    for (const ms of delays) {
      const r = await runFixture('workers.cjs', { args: ['terminate', String(ms)] });
      if (r.status !== 0 || r.signal) {
        failures.push(explain(r, `terminate after ${ms} ms`));
        continue;
      }
      const out = lastJson(r);
      // The main thread kept working with nlkit after the worker was gone.
      if (out.error || JSON.stringify(out.mainLinks) !== '["lo"]') failures.push(`terminate after ${ms} ms: ${JSON.stringify(out)}`);
      if (ms >= 0 && out.started !== 1001) failures.push(`terminate after ${ms} ms: the worker never had its requests in flight: ${JSON.stringify(out)}`);
    }
    expect(failures.length, failures.join('\n\n')).toBe(0);
  });

  it('terminating 200 workers while each calls into the addon back to back never aborts the process', async () => {
    requireRoot();
    // A terminate() that lands inside a native call makes every N-API call there
    // fail; the error raised for it must not escape as a C++ exception (abort).
    const r = await runFixture('workers.cjs', { args: ['terminate-sending', '200'], timeoutMs: 60_000 });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    expect(lastJson(r)).toEqual({ codes: [1], mainLinks: ['lo'] });
  });

  it('a worker that ends with its handles still open exits cleanly (5 of 5 runs)', async () => {
    requireRoot();
    const expected: Record<string, object> = {
      plain: { links: ['lo'] },
      'two-handles': { links: ['lo'], second: 1 },
      nft: { links: ['lo'], tables: 0 },
      conntrack: { links: ['lo'], entries: 0 },
      events: { links: ['lo'], event: 'link' },
    };
    const failures: string[] = [];
    // Each run: a worker with a plain handle, then one that used another part of nlkit.
    for (const other of Object.keys(expected)) {
      const variants = ['plain', other];
      const r = await runFixture('workers.cjs', { args: ['ends-open', variants.join(',')], timeoutMs: 30_000 });
      if (r.status !== 0 || r.signal) {
        failures.push(explain(r, `workers ${variants.join(' then ')}`));
        continue;
      }
      const want = variants.map((variant) => ({ variant, code: 0, result: expected[variant] }));
      const got = lastJson(r).results;
      if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`workers ${variants.join(' then ')}: ${JSON.stringify(got)}`);
    }
    expect(failures.length, failures.join('\n\n')).toBe(0);
  });

  it('a worker that ends with a handle open leaves no socket behind, short-lived handles included (their kept socket)', async () => {
    requireRoot();
    const r = await runFixture('workers.cjs', { args: ['leaked-sockets', 'plain,short-lived,short-lived'], timeoutMs: 30_000 });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    const out = lastJson(r);
    // A netlink socket left open keeps its namespace alive for as long as the process runs.
    expect(out.results).toEqual(['plain', 'short-lived', 'short-lived'].map((variant) => ({ variant, code: 0, done: true, leaked: 0 })));
    expect(out.mainLinks).toEqual(['lo']);
  });

  it('a worker that ends with a handle open on a namespace keeps no fd on it: the namespace is torn down', async () => {
    requireRoot();
    const variants = ['anonymous', 'fd', 'short-lived'];
    const r = await runFixture('workers.cjs', { args: ['leaked-netns', variants.join(',')], timeoutMs: 90_000 });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    const out = lastJson(r);
    // held: the process's fds on the namespace after the worker's end; gone: its veth peer (in the fixture's namespace) went with it.
    expect(out.results).toEqual(variants.map((variant) => ({ variant, code: 0, links: ['in0', 'lo'], held: 0, gone: true })));
    expect(out.mainLinks).toEqual(['lo']);
  });

  it('5 workers at once each add 500 routes in their own namespace and read them back', async () => {
    requireRoot();
    const r = await runFixture('workers.cjs', { args: ['parallel'], timeoutMs: 30_000 });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    const out = lastJson(r);
    // listed: read back by the worker itself; crossChecked: read by the main thread through the worker's namespace fd.
    expect(out.workers).toEqual(Array.from({ length: 5 }, () => ({ code: 0, listed: 500, crossChecked: 500 })));
    expect(out.mainLinks).toEqual(['lo']);
  });
});
