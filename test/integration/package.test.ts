// The published package: `npm pack` output installs into a fresh project on a
// machine path with no compiler (the prebuilt binary is used), and works from
// both ESM and CommonJS; and where no prebuild fits, `--build-from-source`
// compiles it with nothing from this repository's devDependencies. The
// subpaths (`nlkit/netlink`, `nlkit/genetlink`) load from both module systems
// and their published types check in a strict TypeScript consumer with either
// module resolution; the README's links point to files the package ships.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns } from '../../lib';
import { requireRoot, uniqueNetnsName } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');
const npmCli = path.join(path.dirname(fs.realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const smoke = path.join(root, 'scripts', 'prebuild-smoke.cjs');
// found on this process's PATH: the no-compiler consumer's PATH has only node and sh
const unshare = execFileSync('/bin/sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).trim();

interface SmokeResult {
  binary: string;
  links: string[];
  bindError?: { name: string; code: string };
}

/** Runs scripts/prebuild-smoke.cjs against an installed nlkit in a throw-away network namespace. */
function smokeTest(pkgDir: string, env: NodeJS.ProcessEnv): SmokeResult {
  return JSON.parse(execFileSync(unshare, ['-n', process.execPath, smoke, pkgDir], { env, encoding: 'utf8' }));
}

function newConsumer(dir: string): string {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  return dir;
}

/** The relative links of a markdown text (`[text](target)`, `src="target"`), without anchors; web links and in-page anchors left out. */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|\ssrc="([^"]+)"/g)].map((m) => m[1] ?? m[2]);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#')).map((t) => path.posix.normalize(t.split('#')[0]));
}

/** Runs this repository's TypeScript compiler (the consumer has none) in `dir`; returns its exit status and output. */
function tsc(dir: string, args: string[]): { status: number; output: string } {
  try {
    const output = execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), ...args], {
      cwd: dir,
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return { status: 0, output };
  } catch (e) {
    const err = e as { status: number; stdout: string };
    return { status: err.status, output: err.stdout };
  }
}

/**
 * A consumer of the three entry points, in strict TypeScript. The
 * `@ts-expect-error` lines fail to compile if a type were missing (any):
 * they prove the declarations were found and are the real ones.
 */
const TYPED_CONSUMER = `
import { open, NotFoundError, type Link } from 'nlkit';
import { Attributes, NETLINK_ROUTE, NLM_F_DUMP, NetlinkWriter, openNetlink, type NetlinkMessage } from 'nlkit/netlink';
import { openGenetlink, type GenlFamily } from 'nlkit/genetlink';

export async function linkNames(netns: string): Promise<string[]> {
  const h = await open({ netns });
  try {
    const links: Link[] = await h.links.list();
    const stp = links.map((l) => (l.kind === 'bridge' ? l.info.stp : undefined)); // Link narrows by kind
    void stp;
    await h.links.delete('nope0').catch((e: unknown) => (e instanceof NotFoundError ? false : Promise.reject(e)));
    // @ts-expect-error links.get takes a name or an index
    await h.links.get({ name: 'lo' });
    return links.map((l) => l.name);
  } finally {
    h.close();
  }
}

export async function rawLinkNames(netns: string): Promise<(string | undefined)[]> {
  const sock = await openNetlink(NETLINK_ROUTE, { netns });
  try {
    const w = new NetlinkWriter().begin(18 /* RTM_GETLINK */, NLM_F_DUMP);
    w.struct(16);
    const replies: NetlinkMessage[] = await sock.dump(w.end());
    // @ts-expect-error attribute types are numbers
    w.u32('mtu', 1);
    return replies.map((m) => new Attributes(m.payload, 16).string(3 /* IFLA_IFNAME */));
  } finally {
    await sock.close({ drain: true });
  }
}

export async function familyNames(netns: string): Promise<string[]> {
  const genl = await openGenetlink({ netns });
  try {
    const families: GenlFamily[] = await genl.families.list();
    // @ts-expect-error a family's id is a number
    const id: string = families[0].id;
    void id;
    return families.map((f) => f.name);
  } finally {
    genl.close();
  }
}
`;

/** Loads the subpaths and uses them in the process's own (throw-away) namespace: links by raw dump, generic netlink families. */
const SUBPATH_PROGRAM = `
const w = new NetlinkWriter().begin(18, NLM_F_DUMP);
w.struct(16);
const sock = await openNetlink(NETLINK_ROUTE);
const links = (await sock.dump(w.end())).map((m) => new Attributes(m.payload, 16).string(3));
sock.close();
const genl = await openGenetlink();
const families = (await genl.families.list()).map((f) => f.name);
genl.close();
console.log(JSON.stringify({ links, nlctrl: families.includes('nlctrl') }));
`;

describe('npm package', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-pack-'));
  const netns = uniqueNetnsName('pkg');
  let tarball = '';
  let files: string[] = [];

  beforeAll(() => {
    requireRoot();
    // pack (prepack builds dist/ and the prebuilt binaries, and checks them)
    const out = execFileSync(process.execPath, [npmCli, 'pack', '--pack-destination', work, '--json'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const info = JSON.parse(out.slice(out.search(/^\[/m)))[0]; // after what the prepack scripts print
    tarball = path.join(work, info.filename);
    files = info.files.map((f: { path: string }) => f.path);
  }, 300_000);
  afterAll(async () => {
    fs.rmSync(work, { recursive: true, force: true });
    await deleteNetns(netns, { missingOk: true });
  });

  it('ships dist, the CLI, one prebuild per target and the sources for a fallback build', () => {
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'bin/nlkit.js', 'binding.gyp']));
    expect(files.filter((f) => f.startsWith('prebuilds/')).sort()).toEqual([
      'prebuilds/linux-arm64/nlkit.glibc.node',
      'prebuilds/linux-arm64/nlkit.musl.node',
      'prebuilds/linux-x64/nlkit.glibc.node',
      'prebuilds/linux-x64/nlkit.musl.node',
    ]);
    // the sources for a fallback build where no prebuild matches, and the documents
    expect(files).toEqual(expect.arrayContaining(['native/addon.cc', 'native/netlink_socket.cc', 'README.md', 'LICENSE', 'CHANGELOG.md']));
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('lib/') || f.startsWith('scripts/'))).toBe(false);
  });

  it('ships every file the README links to: the guides, conventions, architecture, CLI and performance pages, CONTRIBUTING; not the generated API reference', () => {
    const links = relativeLinks(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
    expect(links).toEqual(
      expect.arrayContaining([
        'docs/guides/container-networking.md',
        'docs/api-conventions.md',
        'docs/architecture.md',
        'docs/cli.md',
        'docs/performance.md',
        'CONTRIBUTING.md',
        'LICENSE',
      ]),
    );
    expect(links.filter((l) => !files.includes(l))).toEqual([]);
    for (const guide of fs.readdirSync(path.join(root, 'docs', 'guides'))) expect(files).toContain(`docs/guides/${guide}`);
    expect(files.some((f) => f.startsWith('docs/api/'))).toBe(false);
  });

  it('publishes types a strict TypeScript consumer checks with moduleResolution node and node16, and the subpaths load from CommonJS and ESM', () => {
    const consumer = newConsumer(path.join(work, 'subpaths'));
    execFileSync(process.execPath, [npmCli, 'install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
      cwd: consumer,
      env: process.env,
      stdio: 'pipe',
    });
    const installed = path.join(consumer, 'node_modules', 'nlkit');
    // @internal members left the declarations (stripInternal), and nothing public refers to one
    expect(fs.readFileSync(path.join(installed, 'dist', 'handle.d.ts'), 'utf8')).not.toMatch(/@internal/);

    fs.writeFileSync(path.join(consumer, 'consumer.ts'), TYPED_CONSUMER);
    fs.writeFileSync(path.join(consumer, 'consumer.mts'), TYPED_CONSUMER); // the same as an ES module (node16 only)
    const common = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'ES2022',
      lib: ['ES2022'],
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
    };
    const configs = {
      'tsconfig.node.json': { compilerOptions: { ...common, module: 'commonjs', moduleResolution: 'node' }, files: ['consumer.ts'] },
      'tsconfig.node16.json': { compilerOptions: { ...common, module: 'node16', moduleResolution: 'node16' }, files: ['consumer.ts', 'consumer.mts'] },
    };
    for (const [name, config] of Object.entries(configs)) {
      fs.writeFileSync(path.join(consumer, name), JSON.stringify(config));
      const result = tsc(consumer, ['-p', name, '--noEmit', '--strict', '--skipLibCheck', 'false']);
      expect(result, name).toEqual({ status: 0, output: '' });
    }
    // the check can fail: without typesVersions, moduleResolution node finds no types for the subpaths
    const pkgJson = path.join(installed, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { typesVersions?: unknown };
    delete pkg.typesVersions;
    fs.writeFileSync(pkgJson, JSON.stringify(pkg));
    const without = tsc(consumer, ['-p', 'tsconfig.node.json']);
    expect(without.status).not.toBe(0);
    expect(without.output).toMatch(/Cannot find module 'nlkit\/netlink'/);
    expect(without.output).toMatch(/Cannot find module 'nlkit\/genetlink'/);

    fs.writeFileSync(
      path.join(consumer, 'subpaths.cjs'),
      `const { Attributes, NETLINK_ROUTE, NLM_F_DUMP, NetlinkWriter, openNetlink } = require('nlkit/netlink');\nconst { openGenetlink } = require('nlkit/genetlink');\n(async () => {${SUBPATH_PROGRAM}})();\n`,
    );
    fs.writeFileSync(
      path.join(consumer, 'subpaths.mjs'),
      `import { Attributes, NETLINK_ROUTE, NLM_F_DUMP, NetlinkWriter, openNetlink } from 'nlkit/netlink';\nimport { openGenetlink } from 'nlkit/genetlink';\n${SUBPATH_PROGRAM}`,
    );
    for (const f of ['subpaths.cjs', 'subpaths.mjs']) {
      const out = execFileSync(unshare, ['-n', process.execPath, f], { cwd: consumer, encoding: 'utf8' });
      expect(JSON.parse(out), f).toEqual({ links: ['lo'], nlctrl: true });
    }
  }, 300_000);

  it('installs from the tarball without a compiler and runs from ESM and CommonJS', async () => {
    // a consumer project whose PATH has node and sh and nothing else: no cc, g++, make or python
    const consumer = newConsumer(path.join(work, 'consumer'));
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh')); // npm runs install scripts with sh
    const env = { HOME: process.env.HOME ?? '/root', PATH: bin, npm_config_nodedir: '' };
    for (const tool of ['cc', 'g++', 'make', 'python3']) {
      expect(() => execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { env })).toThrow();
    }
    execFileSync(process.execPath, [npmCli, 'install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
      cwd: consumer,
      env,
      stdio: 'pipe',
    });
    const installed = path.join(consumer, 'node_modules', 'nlkit');
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false); // nothing was compiled

    // the glibc prebuild is the one picked, and it works: netlink in a fresh namespace, C++ exceptions
    expect(smokeTest(installed, env)).toEqual({
      binary: path.join(installed, 'prebuilds', 'linux-x64', 'nlkit.glibc.node'),
      links: ['lo'],
      bindError: { name: 'SystemError', code: 'EADDRINUSE' },
    });

    await createNetns(netns);
    const program = `links.map((l) => l.name).join(',')`;
    fs.writeFileSync(
      path.join(consumer, 'esm.mjs'),
      `import { open } from 'nlkit';\nconst h = await open({ netns: process.argv[2] });\nconst links = await h.links.list();\nconsole.log(${program});\nh.close();\n`,
    );
    fs.writeFileSync(
      path.join(consumer, 'cjs.cjs'),
      `const nlkit = require('nlkit');\nnlkit.open({ netns: process.argv[2] }).then(async (h) => { const links = await h.links.list(); console.log(${program}); h.close(); });\n`,
    );
    for (const f of ['esm.mjs', 'cjs.cjs']) {
      expect(execFileSync(process.execPath, [f, netns], { cwd: consumer, env, encoding: 'utf8' }).trim()).toBe('lo');
    }
    // the CLI entry point comes with it
    const nlkit = (...args: string[]) => execFileSync(path.join(consumer, 'node_modules', '.bin', 'nlkit'), args, { cwd: consumer, env, encoding: 'utf8' });
    expect(nlkit('--help')).toMatch(/^\s*demo\s/m);
    // The command's bundle takes the library's pieces from the library bundle on first use, and node:crypto is
    // required on first use (the state directory's owner tag, hashed when a network is made): both as installed.
    const stateDir = path.join(work, 'state');
    expect(JSON.parse(nlkit('net', 'ls', '--json', '--host', netns, '--state-dir', stateDir))).toEqual([]);
    expect(nlkit('net', 'create', 'pkg', '--subnet', '10.231.0.0/24', '--host', netns, '--state-dir', stateDir)).toMatch(/^created network pkg/);
    expect((JSON.parse(nlkit('net', 'ls', '--json', '--host', netns, '--state-dir', stateDir)) as { name: string }[]).map((n) => n.name)).toEqual(['pkg']);
    // A failure keeps its exit code (1) and message through the two bundles.
    const missing = spawnSync(path.join(consumer, 'node_modules', '.bin', 'nlkit'), ['net', 'inspect', 'nope', '--host', netns, '--state-dir', stateDir], {
      cwd: consumer,
      env,
      encoding: 'utf8',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('nlkit: net inspect failed: NotFoundError: network "nope" does not exist\n');
  }, 300_000);

  it('builds from source with --build-from-source, using only its own dependencies', () => {
    // the machine's compiler, make and python; node-addon-api must come from nlkit's dependencies
    const consumer = newConsumer(path.join(work, 'from-source'));
    execFileSync(process.execPath, [npmCli, 'install', '--no-audit', '--no-fund', '--prefer-offline', '--build-from-source', tarball], {
      cwd: consumer,
      env: process.env,
      stdio: 'pipe',
    });
    const installed = path.join(consumer, 'node_modules', 'nlkit');
    expect(fs.existsSync(path.join(consumer, 'node_modules', 'node-addon-api', 'napi.h'))).toBe(true);
    // node-gyp-build prefers the compiled addon over the prebuilds
    expect(smokeTest(installed, process.env)).toEqual({
      binary: path.join(installed, 'build', 'Release', 'nlkit.node'),
      links: ['lo'],
      bindError: { name: 'SystemError', code: 'EADDRINUSE' },
    });
  }, 300_000);
});
