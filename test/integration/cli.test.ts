// The README's main command: `nlkit demo` builds, proves and cleans up.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot, useNetns } from '../helpers/netns';

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
    expect(out).toMatch(/c2 -> c1: HTTP 200: hello from c1 \(v1\), you are 10\.200\.0\.3/);
    expect(out).toMatch(/c1 -> internet: internet sees 192\.0\.2\.1/); // masqueraded
    // the published port spread 200 requests over the three backends by weight
    const share = (name: string) => Number(new RegExp(`^${name}\\s+v\\d\\s+(\\d+)`, 'm').exec(out)![1]);
    expect(share('c1') + share('c2') + share('c3')).toBe(200);
    expect(share('c3')).toBeGreaterThan(0);
    expect(share('c3')).toBeLessThan(share('c1'));
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

describe('nlkit topology', () => {
  const box = useNetns('topo-a', 'topo-b');

  it('draws veth pairs across namespaces and bridge ports, in every format', async () => {
    const a = box.h('topo-a');
    await a.links.add({ name: 'br-t', kind: 'bridge', up: true });
    await a.links.add({ name: 'vt0', kind: 'veth', master: 'br-t', peer: { name: 'eth0', netns: box.ns('topo-b') } });
    await a.addresses.add('br-t', '10.123.0.1/24');
    const run = (...args: string[]) => execFileSync(process.execPath, ['bin/nlkit.js', 'topology', '--netns', box.names.join(','), ...args], { cwd: root, encoding: 'utf8' });
    const json = JSON.parse(run('--format', 'json'));
    expect(json.edges).toEqual(
      expect.arrayContaining([
        { from: { ns: box.ns('topo-a'), link: 'vt0' }, to: { ns: box.ns('topo-a'), link: 'br-t' }, kind: 'port' },
        { from: { ns: box.ns('topo-a'), link: 'vt0' }, to: { ns: box.ns('topo-b'), link: 'eth0' }, kind: 'veth' },
      ]),
    );
    expect(run()).toMatch(/flowchart LR[\s\S]*br-t \(bridge\)<br\/>10\.123\.0\.1\/24/);
    expect(run('--format', 'dot')).toMatch(/^graph nlkit \{[\s\S]*-- .*\[style=dashed\]/m);
    expect(run('--format', 'svg')).toMatch(/^<svg [\s\S]*vt0[\s\S]*<\/svg>\n$/);
    expect(run('--format', 'html')).toMatch(/<!doctype html>[\s\S]*<svg/);
  });
});
