// What `require('nlkit')` loads in a new process: a budget of files and Node
// built-ins, and no family the caller has not touched (start-up time is mostly
// loading modules; docs/performance.md "Start-up"). Counts, not timings.
// Needs the build (`npm run build:ts`: dist/ and dist/bundle/).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');

/** Runs in a new node: requires `target`, reads `touch` from it, reports the files and built-ins that loaded. */
const PROBE = `
const path = require('node:path');
const [root, target, touch] = process.argv.slice(1);
const before = new Set(process.moduleLoadList);
const m = require(target);
for (const name of JSON.parse(touch)) void m[name];
console.log(JSON.stringify({
  files: Object.keys(require.cache).map((f) => path.relative(root, f)),
  builtins: process.moduleLoadList.filter((x) => !before.has(x) && x.startsWith('NativeModule ')).map((x) => x.slice(13)),
}));
`;

interface Loaded {
  files: string[];
  builtins: string[];
}

function load(target: string, touch: string[] = []): Loaded {
  return JSON.parse(execFileSync(process.execPath, ['-e', PROBE, root, target, JSON.stringify(touch)], { cwd: root, encoding: 'utf8' })) as Loaded;
}

const under = (files: string[], dir: string) => files.filter((f) => f.startsWith(`dist/${dir}/`));

/** Built-ins only the layers a plain require must not run use (network state: crypto; sockets: net, dgram). */
const HEAVY_BUILTINS = ['crypto', 'net', 'dgram', 'child_process', 'http'];

describe('start-up: what require loads', () => {
  it("require('nlkit') (the package entry) loads its entry file and the platform check; the bundle waits for the first export read", () => {
    const { files, builtins } = load('nlkit');
    expect(files.sort()).toEqual(['dist/bundle/index.js', 'dist/native/binding.js']);
    // internal/* are Node's own resolution of package.json `exports`
    expect(builtins.filter((b) => !b.startsWith('internal/'))).toEqual([]);
  });

  it('the first export read loads the one bundle (compiled with its code cache), not the files of dist/', () => {
    const { files, builtins } = load('nlkit', ['open']);
    expect(files.sort()).toEqual(['dist/bundle/index.js', 'dist/bundle/nlkit.js', 'dist/native/binding.js']);
    expect(builtins).toContain('vm');
    expect(builtins.filter((b) => HEAVY_BUILTINS.includes(b))).toEqual([]);
  });

  it('the unbundled entry point loads the platform check and nothing else', () => {
    const { files, builtins } = load('./dist/index.js');
    expect(files.sort()).toEqual(['dist/index.js', 'dist/native/binding.js']);
    expect(builtins.filter((b) => HEAVY_BUILTINS.includes(b))).toEqual([]);
  });

  it('open() loads the handle, no rtnetlink family, not nftables, the container networks, the sockets or the CLI', () => {
    // in a throw-away network namespace (unshare -n): the handle opens a socket, and nothing else
    const program = `require('./dist/index.js').open().then((h) => { h.close(); console.log(JSON.stringify(Object.keys(require.cache).map((f) => f.slice(${JSON.stringify(root + '/')}.length)))); });`;
    const files = JSON.parse(execFileSync('unshare', ['-n', process.execPath, '-e', program], { cwd: root, encoding: 'utf8' })) as string[];
    expect(files).toContain('dist/handle.js');
    expect(under(files, 'rtnetlink')).toEqual([]);
    expect(under(files, 'nftables')).toEqual([]);
    expect(under(files, 'network')).toEqual([]);
    expect(under(files, 'sockets')).toEqual([]);
    expect(under(files, 'cli')).toEqual([]);
    expect(files.length).toBeLessThanOrEqual(95);
  });

  it('h.<family> loads that family on first read and keeps it: h.links works, h.routes stays unloaded', () => {
    // in a throw-away network namespace (unshare -n): lo is the one link there
    const program = `require('./dist/index.js').open().then(async (h) => {
        const links = await h.links.list();
        const same = h.links === h.links;
        h.close();
        const files = Object.keys(require.cache).map((f) => f.slice(${JSON.stringify(root + '/')}.length));
        console.log(JSON.stringify({ names: links.map((l) => l.name), same, files }));
      });`;
    const out = execFileSync('unshare', ['-n', process.execPath, '-e', program], { cwd: root, encoding: 'utf8' });
    const { names, same, files } = JSON.parse(out) as { names: string[]; same: boolean; files: string[] };
    expect(names).toEqual(['lo']);
    expect(same).toBe(true);
    expect(files).toContain('dist/rtnetlink/link.js');
    expect(files).not.toContain('dist/rtnetlink/route.js');
    expect(files).not.toContain('dist/rtnetlink/events.js');
  });

  it('h.routes.list() loads the routes and the link names, not the link operations, their kinds or decoder', () => {
    // in a throw-away network namespace (unshare -n): lo is the one link there. route.ts needs only a link
    // reference resolved (link-ref.ts) and names (link-names.ts): link.ts cost the first list() ~0.8 ms to load.
    const program = `require('./dist/index.js').open().then(async (h) => {
        const routes = await h.routes.list({ table: 'all' });
        h.close();
        const files = Object.keys(require.cache).map((f) => f.slice(${JSON.stringify(root + '/')}.length));
        console.log(JSON.stringify({ routes: routes.length, files }));
      });`;
    const out = execFileSync('unshare', ['-n', process.execPath, '-e', program], { cwd: root, encoding: 'utf8' });
    const { routes, files } = JSON.parse(out) as { routes: number; files: string[] };
    // lo's local routes (up or not, the kernel lists none while it is down): the dump ran either way
    expect(routes).toBeGreaterThanOrEqual(0);
    expect(files).toContain('dist/rtnetlink/route.js');
    expect(files).toContain('dist/rtnetlink/link-names.js');
    expect(files).not.toContain('dist/rtnetlink/link.js');
    expect(files).not.toContain('dist/rtnetlink/link-decode.js');
    expect(under(files, 'rtnetlink/link-kinds')).toEqual([]);
  });

  it('h.nft loads nftables on first use', async () => {
    // in a throw-away network namespace (unshare -n): the handle opens a socket, and nothing else
    const program = `require('./dist/index.js').open().then((h) => { const before = nftModules(); h.nft; console.log(JSON.stringify([before, nftModules()])); h.close(); });
      function nftModules() { return Object.keys(require.cache).filter((f) => f.includes('/dist/nftables/')).length; }`;
    const [before, after] = JSON.parse(execFileSync('unshare', ['-n', process.execPath, '-e', program], { cwd: root, encoding: 'utf8' })) as number[];
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(20);
  });

  it('`nlkit net ls` loads neither nftables (the firewall is required on first use), the sockets nor an rtnetlink family', () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'nlkit-startup-'));
    try {
      // in a throw-away network namespace (unshare -n), which is the host of this listing
      const program = `require('./dist/cli/main.js').main(['net', 'ls', '--state-dir', process.argv[1]]).then((code) => {
        console.log(JSON.stringify({ code, files: Object.keys(require.cache).map((f) => f.slice(${JSON.stringify(root + '/')}.length)) }));
      });`;
      const out = execFileSync('unshare', ['-n', process.execPath, '-e', program, stateDir], { cwd: root, encoding: 'utf8' });
      const { code, files } = JSON.parse(out.slice(out.indexOf('{'))) as { code: number; files: string[] };
      expect(code).toBe(0);
      expect(under(files, 'network').length).toBeGreaterThan(5);
      expect(under(files, 'nftables')).toEqual([]);
      expect(under(files, 'sockets')).toEqual([]);
      // no network: no rtnetlink family is read (each loads on the handle's first h.<family>)
      expect(under(files, 'rtnetlink')).toEqual([]);
      // a listing reads the records (lib/network/records.ts): no handle, no socket in the host namespace
      expect(files).not.toContain('dist/handle.js');
      expect(
        under(files, 'netlink').filter((f) => f !== 'dist/netlink/errors.js' && f !== 'dist/netlink/errno.js' && f !== 'dist/netlink/render-value.js'),
      ).toEqual([]);
      expect(files.length).toBeLessThanOrEqual(70);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  /**
   * Runs bin/nlkit.js ARGS as installed (a file, not `node -e`, which loads built-ins of its own), preloading a
   * report of what it loaded: the files of the package it required, the bundles and caches it read (the bundles are
   * compiled from what is read, not required), and whether node:crypto was loaded.
   */
  function runBin(
    args: string[],
    prefix: string[] = [],
  ): { status: number | null; stdout: string; stderr: string; files: string[]; read: string[]; crypto: boolean } {
    const dir = mkdtempSync(path.join(tmpdir(), 'nlkit-startup-'));
    try {
      const reporter = path.join(dir, 'report.js');
      writeFileSync(
        reporter,
        `const fs = require('node:fs');
        const read = [];
        const readFileSync = fs.readFileSync;
        fs.readFileSync = function (file, ...rest) {
          if (typeof file === 'string' && /\\/dist\\/bundle\\/[^/]*\\.bundle\\./.test(file)) read.push(file.slice(file.indexOf('dist/bundle/')));
          return readFileSync.call(this, file, ...rest);
        };
        process.on('exit', () => process.stderr.write('\\nREPORT ' + JSON.stringify({
          files: Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(root + '/')})).map((f) => f.slice(${JSON.stringify(root + '/')}.length)),
          read,
          crypto: process.moduleLoadList.includes('NativeModule crypto'),
        })));`,
      );
      const [cmd, ...rest] = [...prefix, process.execPath, '-r', reporter, 'bin/nlkit.js', ...args];
      const r = spawnSync(cmd, rest, { cwd: root, encoding: 'utf8' });
      const report = JSON.parse(r.stderr.slice(r.stderr.indexOf('REPORT ') + 7)) as { files: string[]; read: string[]; crypto: boolean };
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, ...report };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('`nlkit --help`, `--version` and a wrong command line load the CLI bundle only, not the library', () => {
    for (const args of [['--help'], ['--version'], ['net', 'ls', '--help'], ['frobnicate'], ['net', 'ls', '--no-such-option']]) {
      const r = runBin(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(args.includes('--help') || args.includes('--version') ? 0 : 2);
      // the entry and the loader (--version reads package.json too), then the command's bundle with its cache: not the library's
      expect(r.files.filter((f) => f.startsWith('dist/')).sort(), args.join(' ')).toEqual(['dist/bundle/cli.js', 'dist/bundle/nlkit.js']);
      expect(r.read.sort(), args.join(' ')).toEqual(['dist/bundle/cli.bundle.cache', 'dist/bundle/cli.bundle.js']);
    }
  });

  it('`nlkit net ls` through the bin loads the CLI bundle and the library bundle, nothing of dist/ unbundled, not crypto', () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'nlkit-startup-'));
    try {
      // in a throw-away network namespace (unshare -n), which is the host of this listing
      const r = runBin(['net', 'ls', '--state-dir', stateDir], ['unshare', '-n']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('no networks\n');
      // ~5 ms to load, for hashes a listing never makes (the build requires it where first used)
      expect(r.crypto).toBe(false);
      // (and the addon, with node-gyp-build and package.json to find it)
      expect(r.files.filter((f) => f.startsWith('dist/')).sort()).toEqual(['dist/bundle/cli.js', 'dist/bundle/nlkit.js']);
      // the library bundle with the command's code cache, not the library's (3 times its size)
      expect(r.read.sort()).toEqual([
        'dist/bundle/cli.bundle.cache',
        'dist/bundle/cli.bundle.js',
        'dist/bundle/nlkit.bundle.cli.cache',
        'dist/bundle/nlkit.bundle.js',
      ]);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('the code caches (the library bundle for programs and for the command, the command bundle) are there and this node accepts them', () => {
    // a missing or rejected cache costs a full compile, silently (cachedDataRejected: undefined without one)
    for (const load of ["load('lib')", "load('cli')", 'command()']) {
      const program = `console.log(require('./dist/bundle/nlkit.js').${load}.__script.cachedDataRejected)`;
      expect(execFileSync(process.execPath, ['-e', program], { cwd: root, encoding: 'utf8' }).trim(), load).toBe('false');
    }
  });

  it('createNetns loads the namespace module only', () => {
    const { files } = load('./dist/index.js', ['createNetns']);
    expect(files.length).toBeLessThanOrEqual(12);
    expect(under(files, 'rtnetlink')).toEqual([]);
    expect(under(files, 'nftables')).toEqual([]);
  });

  it('nlkit/netlink loads the netlink core and no family', () => {
    const { files } = load('./dist/netlink/index.js', ['openNetlink', 'NetlinkWriter']);
    for (const family of ['rtnetlink', 'nftables', 'conntrack', 'network', 'sockets']) expect(under(files, family)).toEqual([]);
  });

  it('the lazy exports are the same exports: the bundle and dist/ have the same names, each a defined value', () => {
    const probe = `const m = require(process.argv[1]); console.log(JSON.stringify({ names: Object.keys(m).sort(), undefined: Object.keys(m).filter((k) => m[k] === undefined) }))`;
    const read = (target: string) =>
      JSON.parse(execFileSync(process.execPath, ['-e', probe, target], { cwd: root, encoding: 'utf8' })) as { names: string[]; undefined: string[] };
    const bundled = read('nlkit');
    const plain = read('./dist/index.js');
    expect(bundled.names).toEqual(plain.names);
    expect(bundled.names).toEqual(expect.arrayContaining(['open', 'nft', 'networks', 'NetlinkError', 'createNetns']));
    expect([...bundled.undefined, ...plain.undefined]).toEqual([]);
  });
});
