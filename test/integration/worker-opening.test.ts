// A worker ended (worker.terminate(), or its own process.exit()) while nlkit
// opens netlink sockets in a namespace: the socket is made on libuv's pool or
// the netns thread and handed to JS, which may never run again. A real Node
// process (test/fixtures/lifecycle/worker-opening.cjs) ends 240 workers at
// varying moments; it must exit 0 (no abort), and its open fds and its
// netlink sockets in the namespace (read from the kernel) must be back at the
// baseline once they are gone.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns } from '../../lib';
import { ownNetlinkSockets } from '../helpers/netlink-sockets';
import { requireRoot, uniqueNetnsName } from '../helpers/netns';
import { repoRoot } from '../fixtures/lifecycle/run-fixture';

const WORKERS = 240;

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

describe('workers ended while nlkit opens sockets in a namespace', () => {
  const ns = uniqueNetnsName('wopen');
  beforeAll(async () => {
    requireRoot();
    await createNetns(ns);
  });
  afterAll(async () => {
    await deleteNetns(ns, { missingOk: true });
  });

  it(`${WORKERS} workers ended at varying moments (terminate, process.exit, during close) leave no fd and no socket`, async () => {
    const fixture = path.join(repoRoot, 'test', 'fixtures', 'lifecycle', 'worker-opening.cjs');
    // unshare -n: the fixture's own namespace for anything else; unshare execs into node, so the pid is node's.
    const c = spawn('unshare', ['-n', process.execPath, fixture, ns, String(WORKERS)], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<{ status: number | null; signal: string | null }>((resolve) => c.on('close', (status, signal) => resolve({ status, signal })));
    const lines = readline.createInterface({ input: c.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<Record<string, unknown>> => {
      const { value, done } = await lines.next();
      if (done) throw new Error(`the fixture ended early: ${JSON.stringify(await exited)}\n${stderr}`);
      return JSON.parse(value as string) as Record<string, unknown>;
    };

    const baseline = await next();
    expect(baseline.phase).toBe('baseline');
    const socketsBefore = ownNetlinkSockets(ns, 0, c.pid!);
    c.stdin!.write('go\n');
    const done = await next();
    const socketsAfter = ownNetlinkSockets(ns, 0, c.pid!);
    c.stdin!.write('exit\n');
    const status = await exited;

    expect(status, stderr).toEqual({ status: 0, signal: null });
    expect(done.errors, stderr).toEqual([]);
    expect(done.counts).toEqual({ terminate: (WORKERS * 4) / 5, exit: WORKERS / 5 });
    expect(done.mainLinks).toEqual(['lo']); // the main thread still works with nlkit
    expect(socketsBefore).toEqual([]);
    expect(socketsAfter).toEqual([]);
    expect(done.sockets).toBe(baseline.sockets); // unbound ones (made, never adopted) are in no /proc/net/netlink
    expect(done.fds).toBe(baseline.fds);
  }, 300_000);
});
