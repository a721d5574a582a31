// The README's main command: `nlkit demo` builds, proves and cleans up.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');

function nsList(): string[] {
  try {
    return fs.readdirSync('/run/netns');
  } catch {
    return [];
  }
}

describe('nlkit CLI', () => {
  it('runs the demo: real HTTP across the built network, then removes its namespaces', () => {
    requireRoot();
    const before = nsList();
    const out = execFileSync(process.execPath, ['bin/nlkit.js', 'demo'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(out).toMatch(/c2 -> c1: HTTP 200: hello from c1, you are 10\.200\.0\.3/);
    expect(out).toMatch(/host\s+br0\s+bridge\s+UP\s+10\.200\.0\.1\/24/);
    expect(out).toMatch(/c2 routes: default via 10\.200\.0\.1/);
    expect(out).toMatch(/removed namespaces/);
    expect(nsList().filter((n) => n.startsWith('nlkd')).filter((n) => !before.includes(n))).toEqual([]);
  });

  it('explains itself and fails clearly on unknown commands', () => {
    expect(execFileSync(process.execPath, ['bin/nlkit.js', '--help'], { cwd: root, encoding: 'utf8' })).toMatch(/nlkit demo/);
    let code = 0;
    let err = '';
    try {
      execFileSync(process.execPath, ['bin/nlkit.js', 'frobnicate'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      code = (e as { status: number }).status;
      err = String((e as { stderr: string }).stderr);
    }
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/unknown command "frobnicate"/);
  });
});
