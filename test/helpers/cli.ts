// Runs the nlkit command as a child process against a test host namespace
// and state directory (both read when each command runs: they are usually
// made in beforeAll).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect } from 'vitest';

const root = path.join(__dirname, '..', '..');

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export function nlkitCli(host: () => string, stateDir: () => string) {
  /** Runs `node bin/nlkit.js --host HOST --state-dir DIR ARGS`. */
  function cli(...args: string[]): CliResult {
    const r = spawnSync(process.execPath, ['bin/nlkit.js', '--host', host(), '--state-dir', stateDir(), ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NLKIT_DEBUG: '' },
    });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  }
  /** Runs and expects success with nothing on stderr (no progress when stderr is not a terminal). */
  function ok(...args: string[]): string {
    const r = cli(...args);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    return r.out;
  }
  const json = (...args: string[]): unknown => JSON.parse(ok(...args, '--json'));
  return { cli, ok, json };
}
