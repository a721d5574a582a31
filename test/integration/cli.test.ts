// The nlkit command: `demo` builds, proves and cleans up; `topology` draws;
// the network commands, run as child processes against a test host namespace,
// build what they say (read back with ip, proven with traffic) and undo it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, listenTcp } from '../../lib';
import { networks } from '../../lib/network/manager';
import { nlkitCli } from '../helpers/cli';
import { ipJson, requireRoot, uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

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
    expect(
      nsList()
        .filter((n) => n.startsWith('nlkd'))
        .filter((n) => !before.includes(n)),
    ).toEqual([]);
  });

  it('explains itself and fails clearly on unknown commands', () => {
    expect(execFileSync(process.execPath, ['bin/nlkit.js', '--help'], { cwd: root, encoding: 'utf8' })).toMatch(
      /^ {2}demo {2}[\s\S]*^ {2}net create {2}[\s\S]*^ {2}publish {2}/m,
    );
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
    const run = (...args: string[]) =>
      execFileSync(process.execPath, ['bin/nlkit.js', 'topology', '--netns', box.names.join(','), ...args], { cwd: root, encoding: 'utf8' });
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

describe('nlkit network commands (in a test host namespace, never the real host)', () => {
  // "host" plays the machine (always passed as --host), "ext" a client outside it
  const box = useNetns('clihost', 'cliext');
  let stateDir: string;
  const c1 = uniqueNetnsName('cc1');
  const c2 = uniqueNetnsName('cc2');
  const bulk = Array.from({ length: 12 }, (_, i) => uniqueNetnsName(`cb${i}`));
  const UPLINK = '192.168.77.1';
  const servers: net.Server[] = [];

  const { cli, ok, json } = nlkitCli(
    () => box.ns('clihost'),
    () => stateDir,
  );
  /** Runs and expects failure: exit code, exactly one line on stderr, nothing on stdout. */
  function fails(code: number, ...args: string[]): string {
    const r = cli(...args);
    expect(r.code).toBe(code);
    expect(r.out).toBe('');
    expect(r.err.endsWith('\n')).toBe(true);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    return r.err.trimEnd();
  }
  const hostLinks = () => ipJson(box.ns('clihost'), 'link', 'show') as Array<{ ifname: string; master?: string }>;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-cli-'));
    const host = box.h('clihost');
    await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: box.ns('cliext') } });
    await host.addresses.add('uplink', `${UPLINK}/24`);
    await box.h('cliext').links.set('eth0', { up: true });
    await box.h('cliext').addresses.add('eth0', '192.168.77.2/24');
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    if (stateDir) {
      const nets = await networks({ host: box.ns('clihost'), stateDir });
      await nets.delete('web').catch(() => undefined);
      nets.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
    for (const ns of [c1, c2, ...bulk]) await deleteNetns(ns, { missingOk: true });
  });

  it('net create: makes the bridge with its gateway; --json is the network record', () => {
    const rec = json('net', 'create', 'web', '--subnet', '10.77.0.0/24', '--subnet6', 'fd77::/64');
    expect(rec).toMatchObject({
      name: 'web',
      bridge: 'nlk-web',
      subnet: '10.77.0.0/24',
      gateway: '10.77.0.1',
      subnet6: 'fd77::/64',
      gateway6: 'fd77::1',
      internal: false,
      isolate: true,
    });
    const [br] = ipJson(box.ns('clihost'), '-d', 'addr', 'show', 'nlk-web');
    expect(br.linkinfo.info_kind).toBe('bridge');
    expect(br.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toEqual(expect.arrayContaining(['10.77.0.1/24', 'fd77::1/64']));
    // again: unchanged, and said so
    expect(ok('net', 'create', 'web', '--subnet', '10.77.0.0/24', '--subnet6', 'fd77::/64')).toMatch(/^network exists, unchanged web: bridge nlk-web/);
    expect(json('net', 'ls')).toEqual([rec]);
    expect(ok('net', 'ls')).toMatch(/^NETWORK\s+BRIDGE\s+SUBNET[\s\S]*\nweb\s+nlk-web\s+10\.77\.0\.0\/24\s+10\.77\.0\.1\s+fd77::\/64\s+0\s+0\s+-\n$/);
  });

  it('bad input: one line on stderr, exit 1 for refused operations, 2 for a wrong command line; nothing changes', () => {
    expect(fails(1, 'net', 'create', 'bad', '--subnet', '10.0.0.300/24')).toMatch(/^nlkit: net create failed: ValidationError: invalid subnet "10\.0\.0\.300/);
    expect(fails(1, 'net', 'create', 'other', '--subnet', '10.77.0.128/25')).toMatch(/^nlkit: net create failed: ValidationError: .*overlaps network web/);
    expect(fails(1, 'net', 'create', 'Bad_Name', '--subnet', '10.78.0.0/24')).toMatch(/invalid network name "Bad_Name"/);
    expect(fails(1, 'attach', 'nope', c1, '--create')).toBe('nlkit: attach failed: NotFoundError: network "nope" does not exist');
    expect(fails(1, 'net', 'inspect', 'nope')).toMatch(/NotFoundError: network "nope" does not exist/);
    expect(fails(1, 'net', 'rm', 'nope')).toMatch(/^nlkit: net rm failed: NotFoundError/);
    expect(ok('net', 'rm', 'nope', '--missing-ok')).toBe('nothing to remove\n');
    expect(fails(1, 'publish', 'web', '8080', '--to', 'ghost')).toMatch(
      /^nlkit: publish failed: ValidationError: invalid backend "ghost": is not attached to network web$/,
    );
    expect(fails(1, 'detach', 'web', 'ghost')).toMatch(/NotFoundError: sandbox "ghost" is not attached to network web/);
    expect(fails(2, 'net', 'create', 'x', '--subnet')).toBe('nlkit: net create: --subnet needs a value (CIDR) (see nlkit net create --help)');
    expect(fails(2, 'attach', 'web', c1, '--crate')).toMatch(/unknown option --crate \(did you mean --create\?\)/);
    expect(fails(2, 'publish', 'web', '80/sctp', '--to', c1)).toMatch(/must be tcp or udp/);
    // no stack trace unless asked for
    const debug = spawnSync(process.execPath, ['bin/nlkit.js', '--host', box.ns('clihost'), '--state-dir', stateDir, 'net', 'inspect', 'nope'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NLKIT_DEBUG: '1' },
    });
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(/^nlkit: net inspect failed: NotFoundError[^\n]*\nNotFoundError[\s\S]*\n\s+at /);
    // nothing was made by the refused commands
    expect(
      hostLinks()
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['lo', 'nlk-web', 'uplink']);
    expect(json('net', 'ls').map((n: { name: string }) => n.name)).toEqual(['web']);
    expect(fs.existsSync(`/run/netns/${c1}`)).toBe(false);
  });

  it('attach: addresses from IPAM; sandboxes reach the gateway and each other', async () => {
    const a1 = json('attach', 'web', c1, '--create');
    expect(a1).toMatchObject({
      network: 'web',
      id: c1,
      ifname: 'eth0',
      ipv4: '10.77.0.2/24',
      ipv6: 'fd77::2/64',
      gateway: '10.77.0.1',
      sandboxPath: `/run/netns/${c1}`,
    });
    expect(ok('attach', 'web', c2, '--create', '--ip', '10.77.0.50')).toMatch(
      new RegExp(
        `^attached ${c2} to web: eth0 10\\.77\\.0\\.50/24 fd77::3/64, gateway 10\\.77\\.0\\.1 \\(host side nv[0-9a-f]{12}, mac ([0-9a-f]{2}:){5}[0-9a-f]{2}\\)\\n$`,
      ),
    );
    // attaching again returns the same attachment
    expect(json('attach', 'web', c1)).toEqual(a1);
    // what the kernel says
    const [eth0] = ipJson(c1, 'addr', 'show', 'eth0');
    expect(eth0.address).toBe(a1.mac);
    expect(eth0.addr_info.map((a: any) => a.local)).toEqual(expect.arrayContaining(['10.77.0.2', 'fd77::2']));
    expect(ipJson(c1, 'route', 'show', 'default')[0].gateway).toBe('10.77.0.1');
    expect(hostLinks().find((l) => l.ifname === a1.hostIfname)?.master).toBe('nlk-web');
    // traffic: to the gateway (the host) and to the other sandbox, v4 and v6
    servers.push(await listenTcp({ netns: box.ns('clihost'), host: '10.77.0.1', port: 9000 }, (s) => s.end('gateway')));
    for (const [name, ns] of [
      ['c1', c1],
      ['c2', c2],
    ]) {
      servers.push(await listenTcp({ netns: ns, port: 80, host: '::' }, (s) => s.end(`${name} sees ${s.remoteAddress?.replace('::ffff:', '')}`)));
    }
    expect(await hello(c1, '10.77.0.1', 9000)).toBe('gateway');
    expect(await hello(c1, '10.77.0.50', 80)).toBe('c2 sees 10.77.0.2');
    expect(await hello(c2, 'fd77::2', 80)).toBe('c1 sees fd77::3');
    // listings agree
    const atts = json('ls');
    expect(atts.map((a: { id: string }) => a.id).sort()).toEqual([c1, c2].sort());
    expect(ok('ls', 'web')).toMatch(new RegExp(`\\nweb\\s+${c2}\\s+eth0\\s+10\\.77\\.0\\.50/24\\s+fd77::3/64\\s+nv`));
  });

  it('publish: the port answers from another namespace; weights split it; --replace re-points it; unpublish closes it', async () => {
    const ext = box.ns('cliext');
    const pub = json('publish', 'web', '8080:80', '--to', c1);
    expect(pub).toEqual({
      key: 'tcp:*:8080',
      network: 'web',
      protocol: 'tcp',
      hostPort: 8080,
      backends: [{ id: c1, ipv4: '10.77.0.2', ipv6: 'fd77::2', port: 80, weight: 1 }],
    });
    expect(await hello(ext, UPLINK, 8080)).toBe('c1 sees 192.168.77.2');

    expect(ok('publish', 'web', '9090:80/tcp', '--to', `${c1}=1`, '--to', `${c2}=1`)).toBe(
      `published *:9090/tcp on network web -> ${c1} 10.77.0.2:80 50%, ${c2} 10.77.0.50:80 50%\n`,
    );
    const hits: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const who = (await hello(ext, UPLINK, 9090)).split(' ')[0];
      hits[who] = (hits[who] ?? 0) + 1;
    }
    expect(hits.c1 + hits.c2).toBe(40);
    expect(hits.c1).toBeGreaterThan(0);
    expect(hits.c2).toBeGreaterThan(0);

    // the same port cannot be published twice; --replace changes its backends atomically
    expect(fails(1, 'publish', 'web', '8080:80', '--to', c2)).toMatch(/already published/);
    expect(ok('publish', 'web', '8080:80', '--to', c2, '--replace')).toMatch(/^replaced \*:8080\/tcp on network web -> .* 10\.77\.0\.50:80\n$/);
    expect(await hello(ext, UPLINK, 8080)).toBe('c2 sees 192.168.77.2');

    const pubs = json('publications');
    expect(pubs.map((p: { key: string }) => p.key).sort()).toEqual(['tcp:*:8080', 'tcp:*:9090']);
    const inspect = json('net', 'inspect', 'web');
    expect(inspect.attachments).toHaveLength(2);
    expect(inspect.publications).toEqual(pubs);
    expect(ok('publications')).toMatch(/\*:9090\/tcp\s+web\s+\S+ 10\.77\.0\.2:80 50%/);

    expect(json('unpublish', 'web', '9090')).toEqual({ network: 'web', unpublished: ['tcp:*:9090'] });
    expect(await hello(ext, UPLINK, 9090, 700)).toMatch(/^error:/);
    expect(await hello(ext, UPLINK, 8080)).toBe('c2 sees 192.168.77.2');
    expect(fails(1, 'unpublish', 'web', '9090')).toMatch(/NotFoundError: "9090" is not published on network web \(published there: \*:8080\/tcp\)/);
  });

  it('detach: several at once; veths, namespaces and their publications are gone', () => {
    const hostIfs = json('ls', 'web').map((a: { hostIfname: string }) => a.hostIfname);
    expect(ok('detach', 'web', c1, c2)).toBe(`detached 2 sandboxes from web: ${c1}, ${c2}\n`);
    const names = hostLinks().map((l) => l.ifname);
    for (const i of hostIfs) expect(names).not.toContain(i);
    expect(hostLinks().filter((l) => l.master === 'nlk-web')).toEqual([]);
    expect(fs.existsSync(`/run/netns/${c1}`)).toBe(false); // attach --create made them, detach removes them
    expect(fs.existsSync(`/run/netns/${c2}`)).toBe(false);
    expect(json('publications')).toEqual([]); // 8080 lost its last backend
    expect(json('ls')).toEqual([]);
    expect(ok('detach', 'web', c1, '--missing-ok')).toBe('nothing to detach from web\n');
  });

  it('detach --all on a terminal shows progress; then net rm leaves nothing behind', () => {
    ok('attach', 'web', ...bulk, '--create');
    expect(json('ls', 'web')).toHaveLength(bulk.length);
    expect(hostLinks().filter((l) => l.master === 'nlk-web')).toHaveLength(bulk.length);
    // a pseudo-terminal (script) so that stderr is a TTY
    const cmd = ['node', 'bin/nlkit.js', '--host', box.ns('clihost'), '--state-dir', stateDir, 'detach', 'web', '--all'].join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: root, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status).toBe(0);
    // eslint-disable-next-line no-control-regex -- the progress line's escape codes are what is checked
    expect(r.stdout).toMatch(/\r\x1b\[2Kdetaching from web {2}\[[#.]{20}\] {2}\d+\/12 /);
    expect(r.stdout).toMatch(/12\/12 {2}100%/);
    expect(r.stdout).toMatch(/detached 12 sandboxes from web: /);
    expect(json('ls')).toEqual([]);
    expect(hostLinks().filter((l) => l.master === 'nlk-web')).toEqual([]);
    for (const ns of bulk) expect(fs.existsSync(`/run/netns/${ns}`)).toBe(false);

    // net rm: the bridge, the nftables table and the record go
    ok('attach', 'web', c1, '--create');
    expect(json('net', 'rm', 'web')).toEqual({ removed: ['web'] });
    expect(
      hostLinks()
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['lo', 'uplink']);
    expect(execFileSync('ip', ['netns', 'exec', box.ns('clihost'), 'nft', 'list', 'tables'], { encoding: 'utf8' })).not.toMatch(/nlkit/);
    expect(fs.existsSync(`/run/netns/${c1}`)).toBe(false);
    expect(json('net', 'ls')).toEqual([]);
    expect(ok('net', 'ls')).toBe('no networks\n');
  });
});
