// A crash test's fixture process: run with NLKIT_FAULT_AFTER_STEP set, so lib/network/fault.ts kills it
// (SIGKILL) right after the named step; what it printed and how it ended are what the test judges.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export interface FixtureRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const root = path.resolve(__dirname, '../..');

/** Runs `command args` from the project root with the fault hook set to `fault`; killed after `timeoutMs` if it hangs. */
export function runFaultFixture(command: string, args: string[], fault: string, timeoutMs = 60_000): Promise<FixtureRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, NLKIT_FAULT_AFTER_STEP: fault }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}
