// The published package: `npm pack` output installs into a fresh project on a
// machine path with no compiler (the prebuilt binary is used), and works from
// both ESM and CommonJS; and where no prebuild fits, `--build-from-source`
// compiles it with nothing from this repository's devDependencies.
import { execFileSync } from 'node:child_process';
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

describe('npm package', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-pack-'));
  const netns = uniqueNetnsName('pkg');
  let tarball = '';
  let files: string[] = [];

  beforeAll(() => {
    requireRoot();
    // pack (prepack builds dist/ and the prebuilt binaries, and checks them)
    const out = execFileSync(process.execPath, [npmCli, 'pack', '--pack-destination', work, '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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
    expect(execFileSync(path.join(consumer, 'node_modules', '.bin', 'nlkit'), ['--help'], { cwd: consumer, env, encoding: 'utf8' })).toMatch(/^\s*demo\s/m);
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
