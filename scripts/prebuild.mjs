#!/usr/bin/env node
// Builds the prebuilt binaries the npm package ships (prepack runs it):
// prebuilds/linux-{x64,arm64}/nlkit.{glibc,musl}.node. Zig's clang
// cross-compiles every target from this one machine, links libc++ in
// statically and links against glibc 2.28's symbol versions (or musl), so a
// binary loads on RHEL 8, Debian 10, Ubuntu 20.04 and newer, or on Alpine,
// with no C++ runtime installed. Debian's own g++ can't: it links
// pthread_create@GLIBC_2.34 and libstdc++'s newest GLIBCXX.
//
// Compiles what binding.gyp lists (sources, defines, C++ flags), so it follows
// changes to native/ and binding.gyp by itself. The toolchain (the Zig npm
// package and Node-API headers) lives in scripts/prebuild-toolchain and is
// installed there on first use.
//
// Usage: node scripts/prebuild.mjs [linux-x64-glibc ...]   (default: all targets)
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { prebuildPath, prebuildsDir, root, targetName, targets } from './prebuild-targets.mjs';

const toolchainDir = path.join(root, 'scripts', 'prebuild-toolchain');
const exportsMap = path.join(root, 'scripts', 'prebuild-exports.map');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} ... exited with ${r.status ?? r.signal}`);
}

/** Installs scripts/prebuild-toolchain from its lockfile unless what is there already matches it. */
function installToolchain() {
  const lock = JSON.parse(fs.readFileSync(path.join(toolchainDir, 'package-lock.json'), 'utf8'));
  const current = Object.entries(lock.packages).every(([dir, pkg]) => {
    if (!dir) return true;
    try {
      return JSON.parse(fs.readFileSync(path.join(toolchainDir, dir, 'package.json'), 'utf8')).version === pkg.version;
    } catch {
      return false;
    }
  });
  if (current) return;
  console.log('== installing the prebuild toolchain (scripts/prebuild-toolchain)');
  // Under `npm pack --dry-run` (prepack) npm passes dry-run on to child npms, which would then install nothing.
  const env = { ...process.env };
  delete env.npm_config_dry_run;
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: toolchainDir, env });
}

/** binding.gyp's target, read as JSON once gyp's # comments and trailing commas are gone. */
function readBindingTarget() {
  const text = fs
    .readFileSync(path.join(root, 'binding.gyp'), 'utf8')
    .replace(/^\s*#.*$/gm, '')
    .replace(/,(\s*[\]}])/g, '$1');
  const target = JSON.parse(text).targets.find((t) => t.target_name === 'nlkit');
  if (!target) throw new Error('binding.gyp has no target named nlkit');
  return target;
}

function compileFlags(target) {
  const toolchainRequire = createRequire(path.join(toolchainDir, 'package.json'));
  const projectRequire = createRequire(path.join(root, 'package.json'));
  const includes = [
    toolchainRequire('node-api-headers').include_dir,
    projectRequire('node-addon-api').include_dir,
    // plain include paths binding.gyp adds; its `<!(...)` command expansions are the two above
    ...(target.include_dirs ?? []).filter((d) => !d.startsWith('<')).map((d) => path.resolve(root, d)),
  ];
  return [
    '-shared',
    '-fPIC',
    '-O2',
    '-fexceptions', // binding.gyp removes -fno-exceptions: the addon throws C++ exceptions
    '-fvisibility=hidden',
    '-Wno-unknown-warning-option', // cflags_cc are written for gcc
    ...(target.cflags_cc ?? []),
    ...(target.defines ?? []).map((d) => `-D${d}`),
    ...includes.map((d) => `-I${d}`),
    `-Wl,--version-script=${exportsMap}`,
    ...(target.ldflags ?? []), // -z nodelete: never unloaded (binding.gyp says why)
    '-s', // strip, as prebuildify --strip did
  ];
}

/** Runs zig for one target; its output is printed in one piece when it ends, so targets built side by side don't interleave. */
function buildTarget(zig, t, flags, sources) {
  const out = prebuildPath(t);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.rmSync(out, { force: true });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(zig, ['c++', '-target', t.zigTarget, ...flags, '-o', out, ...sources], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (log) process.stderr.write(log);
      if (code !== 0) return reject(new Error(`zig c++ -target ${t.zigTarget} exited with ${code}`));
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${targetName(t).padEnd(18)} ${path.relative(root, out)}  ${fs.statSync(out).size} bytes  ${seconds} s`);
      resolve();
    });
  });
}

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !targets.some((t) => targetName(t) === w));
  if (unknown.length) throw new Error(`unknown target ${unknown.join(', ')}; known: ${targets.map(targetName).join(', ')}`);
  const selected = wanted.length ? targets.filter((t) => wanted.includes(targetName(t))) : targets;

  installToolchain();
  const zig = path.join(toolchainDir, 'node_modules', '@ryoppippi', 'zig-linux-x64', 'zig');
  const binding = readBindingTarget();
  const sources = binding.sources.map((s) => path.join(root, s));
  const flags = compileFlags(binding);

  // A full build replaces everything, so no binary from an older layout (or prebuildify) is left to ship.
  if (!wanted.length) fs.rmSync(prebuildsDir, { recursive: true, force: true });
  // A cold build spends most of its time compiling libc++ for the target, on
  // fewer threads than there are cores: building targets side by side keeps them busy.
  const queue = [...selected];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) await buildTarget(zig, t, flags, sources);
  };
  await Promise.all(Array.from({ length: Math.min(os.availableParallelism(), queue.length) }, worker));
}

main().catch((e) => {
  console.error(`prebuild: ${e.message}`);
  process.exit(1);
});
