// A child process run under the fault hook (lib/network/fault.ts): its exit with what it wrote to stderr, and
// waiting until the hook's `:stop` stopped it. The tests that change the kernel behind an operation stopped at
// a step boundary (network-foreign-left, network-rebuild) use them.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The exit of a child process, with what it wrote to stderr. */
export function exitOf(child: ChildProcess): Promise<{ status: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Waits until process `pid` is stopped (state T in /proc/PID/stat): the fault hook stopped it. */
export async function waitUntilStopped(pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} did not reach the fault hook's stop`);
}

/**
 * test/fixtures/network-crash.cjs running `op` (its `arg`) on the networks of `stateDir` in namespace `host`,
 * under the fault hook at `fault` (`<point>:<n>`, or `<point>:<n>:stop` to stop there).
 */
export function runCrashFixture(host: string, stateDir: string, op: string, arg: string, fault: string): ChildProcess {
  return spawn(process.execPath, ['test/fixtures/network-crash.cjs', host, stateDir, op, arg], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, NLKIT_FAULT_AFTER_STEP: fault },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
