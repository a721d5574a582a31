// The nlkit command when its standard output cannot be written: a reader
// that stopped reading (`nlkit ... | head -1`, EPIPE) is no failure (the
// command finishes what it changes, quietly, with its own exit code); a full
// disk (/dev/full, ENOSPC) is one line on stderr and exit code 1. Both were
// an unhandled 'error' event: a stack trace, exit code 1, and the command
// killed at its first line of output (a `net rm` of three networks removed one).
// A closed standard error was the same uncaught 'error' event (exit code 1
// whatever happened, the stack trace lost with the stderr it was written to):
// now its messages are dropped and the exit code is the command's own.
// A slow reader: output queued below the high-water mark got no 'drain',
// the final flush never settled, and the exit code was lost (always 0).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networks } from '../../lib/network/manager';
import { ipJson, useNetns } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');

interface Piped {
  /** nlkit's exit status. */
  code: number;
  /** What the reader printed. */
  out: string;
  /** nlkit's stderr. */
  err: string;
}

describe('nlkit output to a closed pipe or a full disk', () => {
  const box = useNetns('clipipe');
  let stateDir: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-cli-output-'));

  /** Runs `node bin/nlkit.js --host H --state-dir D ARGS | READER` in bash, with a real pipe. */
  function piped(reader: string, ...args: string[]): Piped {
    const errFile = path.join(tmp, 'stderr');
    const script = `errf=$1; shift; node bin/nlkit.js "$@" 2>"$errf" | ${reader}; echo "status=\${PIPESTATUS[0]}"`;
    const r = spawnSync('bash', ['-c', script, 'bash', errFile, '--host', box.ns('clipipe'), '--state-dir', stateDir, ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NLKIT_DEBUG: '' },
    });
    const m = /status=(\d+)\n$/.exec(r.stdout);
    if (!m) throw new Error(`no status from bash: ${r.stdout} ${r.stderr}`);
    return { code: Number(m[1]), out: r.stdout.slice(0, m.index), err: fs.readFileSync(errFile, 'utf8') };
  }
  /** A reader that closes the pipe at once, before nlkit (a new node process) can write: its first write fails with EPIPE. */
  const CLOSED_READER = '{ exec 0<&-; sleep 2; }';

  const bridges = () => (ipJson(box.ns('clipipe'), 'link', 'show', 'type', 'bridge') as Array<{ ifname: string }>).map((l) => l.ifname);
  async function networkNames(): Promise<string[]> {
    const nets = await networks({ host: box.ns('clipipe'), stateDir });
    try {
      return (await nets.list()).map((n) => n.name).sort();
    } finally {
      nets.close();
    }
  }
  async function create(...names: string[]): Promise<void> {
    const nets = await networks({ host: box.ns('clipipe'), stateDir });
    try {
      for (const [i, name] of names.entries()) await nets.create({ name, subnet: `10.${91 + i}.0.0/24` });
    } finally {
      nets.close();
    }
  }

  beforeAll(() => {
    stateDir = fs.mkdtempSync(path.join(tmp, 'state-'));
  });
  afterAll(async () => {
    const nets = await networks({ host: box.ns('clipipe'), stateDir });
    for (const n of await nets.list()) await nets.delete(n.name).catch(() => undefined);
    nets.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a closed pipe: net rm still removes every network, exits 0 and prints nothing on stderr', async () => {
    await create('pa', 'pb', 'pc');
    expect(await networkNames()).toEqual(['pa', 'pb', 'pc']);
    const r = piped(CLOSED_READER, 'net', 'rm', 'pa', 'pb', 'pc');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // One line per network was written to the closed pipe; the command went on after the first failed.
    expect(await networkNames()).toEqual([]);
    expect(bridges()).toEqual([]);
  });

  it('| head -1: the first line, exit 0, no stack trace', async () => {
    await create('web');
    for (const args of [
      ['net', 'inspect', 'web'],
      ['net', 'ls'],
      ['net', 'create', '--help'],
    ]) {
      const r = piped('head -1', ...args);
      expect(r.err, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out.split('\n')).toHaveLength(2); // one line and the end of it
    }
    for (const args of [
      ['net', 'inspect', 'web'],
      ['net', 'create', '--help'],
    ]) {
      const r = piped(CLOSED_READER, ...args);
      expect(r.err, args.join(' ')).not.toMatch(/EPIPE|\n\s+at /);
      expect(r.err).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
    }
  });

  it('a failed command whose reader went away keeps its exit code and its one line on stderr', () => {
    const r = piped(CLOSED_READER, 'net', 'inspect', 'nope');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^nlkit: net inspect failed: .*\n$/);
    expect(r.err.split('\n')).toHaveLength(2);
  });

  /** Runs `node bin/nlkit.js --host H --state-dir D ARGS` with stdout to a file and stderr a pipe whose reader has gone. */
  function stderrClosed(...args: string[]): { code: number; out: string } {
    const outFile = path.join(tmp, 'stdout');
    const statusFile = path.join(tmp, 'status');
    const script = `outf=$1; statusf=$2; shift 2; { node bin/nlkit.js "$@" 2>&1 >"$outf"; echo "$?" >"$statusf"; } | ${CLOSED_READER}`;
    const r = spawnSync('bash', ['-c', script, 'bash', outFile, statusFile, '--host', box.ns('clipipe'), '--state-dir', stateDir, ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NLKIT_DEBUG: '' },
    });
    const status = fs.readFileSync(statusFile, 'utf8').trim();
    if (!/^\d+$/.test(status)) throw new Error(`no status from bash: ${r.stdout} ${r.stderr}`);
    return { code: Number(status), out: fs.readFileSync(outFile, 'utf8') };
  }

  it("a closed stderr: the exit code is the command's own (2 usage, 1 failed, 0 done), stdout intact", async () => {
    expect(stderrClosed('frobnicate').code).toBe(2);
    expect(stderrClosed('net', 'create', 'x', '--subnet').code).toBe(2);
    expect(stderrClosed('net', 'inspect', 'nope').code).toBe(1);
    const help = stderrClosed('net', 'create', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: nlkit net create NAME/);
    // A command that changes something and writes stdout: done, exit 0.
    const created = stderrClosed('net', 'create', 'errclosed', '--subnet', '10.98.0.0/24');
    expect(created.code).toBe(0);
    expect(await networkNames()).toContain('errclosed');
  });

  it('/dev/full: one line on stderr and exit code 1; what the command changes is still done', async () => {
    const full = (...args: string[]) =>
      spawnSync(process.execPath, ['bin/nlkit.js', '--host', box.ns('clipipe'), '--state-dir', stateDir, ...args], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
        stdio: ['ignore', fs.openSync('/dev/full', 'w'), 'pipe'],
        env: { ...process.env, NLKIT_DEBUG: '' },
      });
    for (const args of [
      ['net', 'ls'],
      ['net', 'create', '--help'],
      ['net', 'create', 'full', '--subnet', '10.99.0.0/24'],
    ]) {
      const r = full(...args);
      expect(r.stderr, args.join(' ')).toMatch(/^nlkit: cannot write to standard output: ENOSPC[^\n]*\n$/);
      expect(r.status, args.join(' ')).toBe(1);
    }
    expect(await networkNames()).toContain('full');
    expect(bridges().length).toBeGreaterThan(0);
  });
});

describe('nlkit output to a pipe whose reader is slow', () => {
  /**
   * Runs test/fixtures/cli-slow-reader.cjs ARGS (the pipe filled, then the real CLI) and reads its stdout only once it
   * reports that bytes are queued: the CLI writes behind them and must wait until they drain.
   */
  function slowReader(...args: string[]): Promise<{ code: number | null; out: string; err: string; filled: number }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['test/fixtures/cli-slow-reader.cjs', ...args], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NLKIT_DEBUG: '' },
      });
      child.stdout.pause();
      const out: Buffer[] = [];
      let err = '';
      let reading = false;
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        if (!reading && /queued=[1-9]/.test(err)) {
          reading = true;
          child.stdout.on('data', (c: Buffer) => out.push(c)).resume();
        }
      });
      child.on('error', reject);
      child.on('close', (code) => {
        const m = /^filled=(\d+) queued=\d+\n/.exec(err);
        if (!m) return reject(new Error(`the fixture did not fill the pipe: ${err}`));
        resolve({ code, out: Buffer.concat(out).toString('utf8'), err: err.slice(m[0].length), filled: Number(m[1]) });
      });
    });
  }

  it('--help: every byte arrives and the exit code is 0', async () => {
    const r = await slowReader('--help');
    expect(r.err).toBe('exitCode=0\n'); // set by bin/nlkit.js once main() settled
    expect(r.code).toBe(0);
    expect(r.out.length).toBeGreaterThan(r.filled);
    expect(r.out.slice(0, r.filled)).toMatch(/^(\.{999}\n)+$/);
    const help = spawnSync(process.execPath, ['bin/nlkit.js', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(help.stdout).toMatch(/^nlkit — Linux networking[^]*\nUsage: nlkit COMMAND/);
    expect(r.out.slice(r.filled)).toBe(help.stdout);
  });

  it('a failed command keeps its exit code (it was lost: the flush never settled, and node exited 0)', async () => {
    const r = await slowReader('frobnicate');
    expect(r.err).toMatch(/^nlkit: unknown command "frobnicate".*\nexitCode=2\n$/);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^(\.{999}\n)+$/);
  });
});
