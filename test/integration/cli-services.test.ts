// `nlkit service ...`: the CLI over services(), run as a child process in a
// test host namespace (always --host), cross-checked with `nft -j`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nlkitCli } from '../helpers/cli';
import { useNetns } from '../helpers/netns';

describe('nlkit service commands', () => {
  const box = useNetns('svchost');
  let stateDir: string;

  const { cli, ok, json } = nlkitCli(
    () => box.ns('svchost'),
    () => stateDir,
  );
  /** The elements of one map of the services table, as `nft -j` lists them. */
  function nftMap(name: string): string {
    return execFileSync('ip', ['netns', 'exec', box.ns('svchost'), 'nft', '-j', 'list', 'map', 'inet', 'nlkit-svc', name], { encoding: 'utf8' });
  }

  beforeAll(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-clisvc-'));
  });
  afterAll(() => {
    cli('service', 'rm', 'web', 'dns', '--missing-ok');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('adds, lists, changes, checks and removes a service, with --json', () => {
    const added = json('service', 'add', 'web', '--vip', '10.96.9.1', '--port', '80:8080', '--endpoint', '10.0.0.2=3', '--endpoint', '10.0.0.3') as {
      endpoints: Array<{ ip: string; weight: number }>;
    };
    expect(added.endpoints.map((e) => `${e.ip}=${e.weight}`)).toEqual(['10.0.0.2=3', '10.0.0.3=1']);
    expect(nftMap('vips4')).toContain('"goto": {"target": "pick4-tcp-64"}');
    ok('service', 'add', 'dns', '--vip', '10.96.9.53', '--port', '53/udp', '--terminating', '10.0.0.5');
    expect(ok('service', 'ls')).toMatch(/web\s+10\.96\.9\.1\s+80:8080\/tcp\s+10\.0\.0\.2=3,10\.0\.0\.3=1/);
    expect((json('service', 'ls', 'dns') as Array<{ endpoints: Array<{ terminating: boolean }> }>)[0].endpoints[0].terminating).toBe(true);
    ok('service', 'set', 'web', '--endpoint', '10.0.0.4', '--no-cut');
    expect(nftMap('endpoints4')).toContain('10.0.0.4');
    expect(nftMap('endpoints4')).not.toContain('10.0.0.2');
    expect(json('service', 'check')).toEqual([]);
    execFileSync('ip', ['netns', 'exec', box.ns('svchost'), 'nft', 'flush', 'map', 'inet', 'nlkit-svc', 'endpoints4']);
    expect(ok('service', 'check')).toContain('web: element-missing: endpoints4 web-tcp80-v4 10.96.9.1 slot 0');
    expect(ok('service', 'check', '--repair')).toContain('repaired');
    expect(ok('service', 'check')).toBe('no drift\n');
    expect(json('service', 'rm', 'web', 'dns')).toEqual({ removed: ['web', 'dns'] });
    expect(ok('service', 'ls')).toBe('no services\n');
  });

  it('refuses a wrong command line with exit code 2, and a missing service with exit code 1, one line each', () => {
    const usage = cli('service', 'add', 'web', '--vip', '10.96.9.1');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/^nlkit: service add: missing --port PORT .*\n$/);
    const missing = cli('service', 'rm', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.err.trim().split('\n')).toHaveLength(1);
    expect(missing.err).toContain('NotFoundError');
    expect(ok('service')).toContain('service add');
  });
});
