// The published package: `npm pack` output installs into a fresh project on a
// machine path with no compiler (the prebuilt binary is used), and works from
// both ESM and CommonJS.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns } from '../../lib';
import { requireRoot, uniqueNetnsName } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');
const npmCli = path.join(path.dirname(fs.realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

describe('npm package', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-pack-'));
  const netns = uniqueNetnsName('pkg');
  afterAll(async () => {
    fs.rmSync(work, { recursive: true, force: true });
    await deleteNetns(netns, { missingOk: true });
  });

  it('installs from the tarball without a compiler and runs from ESM and CommonJS', async () => {
    requireRoot();
    // pack (prepack builds dist/ and the prebuilt binary)
    const out = execFileSync(process.execPath, [npmCli, 'pack', '--pack-destination', work, '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const info = JSON.parse(out.slice(out.indexOf('[')))[0];
    const files: string[] = info.files.map((f: { path: string }) => f.path);
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'bin/nlkit.js', 'binding.gyp', 'prebuilds/linux-x64/nlkit.node']));
    // the sources for a fallback build where no prebuild matches, and the documents
    expect(files).toEqual(expect.arrayContaining(['native/addon.cc', 'native/netlink_socket.cc', 'README.md', 'LICENSE', 'CHANGELOG.md']));
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('lib/'))).toBe(false);

    // a consumer project whose PATH has node and sh and nothing else: no cc, g++, make or python
    const consumer = path.join(work, 'consumer');
    const bin = path.join(work, 'bin');
    fs.mkdirSync(consumer);
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh')); // npm runs install scripts with sh
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    const env = { HOME: process.env.HOME ?? '/root', PATH: bin, npm_config_nodedir: '' };
    for (const tool of ['cc', 'g++', 'make', 'python3']) {
      expect(() => execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { env })).toThrow();
    }
    execFileSync(process.execPath, [npmCli, 'install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, info.filename)], {
      cwd: consumer,
      env,
      stdio: 'pipe',
    });
    expect(fs.existsSync(path.join(consumer, 'node_modules', 'nlkit', 'build'))).toBe(false); // nothing was compiled

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
});
