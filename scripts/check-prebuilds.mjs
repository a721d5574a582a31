#!/usr/bin/env node
// Checks the prebuilt binaries in prebuilds/ before they ship (prepack and CI
// run it). For each target in scripts/prebuild-targets.mjs:
//   - the file exists, and nothing else is in prebuilds/;
//   - it is a 64-bit little-endian shared object for the right machine;
//   - glibc builds need nothing newer than GLIBC_2.28 and no GLIBCXX, CXXABI or
//     GCC symbol versions, and only libc's own libraries (no libstdc++, libgcc_s);
//   - musl builds need only libc.so and no symbol versions at all (musl has none);
//   - it exports Node-API's entry points and nothing else (its libc++ stays private).
// With --load it also runs what this machine can run: node-gyp-build picks the
// glibc or musl file by the LIBC tag, this machine's glibc build loads in Node
// and works inside `unshare -n` (root), and musl's loader resolves every symbol
// of this machine's musl build but Node-API's (needs Debian's musl package).
// Usage: node scripts/check-prebuilds.mjs [--load]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { glibcFloor, moduleExports, prebuildPath, prebuildsDir, root, targetName, targets } from './prebuild-targets.mjs';

const ELF_MACHINE_NAMES = { 62: 'x86_64', 183: 'aarch64' };
const GLIBC_LIBRARIES = ['libc.so.6', 'libpthread.so.0', 'libdl.so.2', 'libm.so.6', 'librt.so.1'];
const MUSL_LIBRARIES = ['libc.so'];

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** e_ident class/data, e_type and e_machine from the ELF header. */
function readElfHeader(file) {
  const b = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, b, 0, 20, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (b.readUInt32BE(0) !== 0x7f454c46) return { elf: false };
  const little = b[5] === 1;
  return {
    elf: true,
    class64: b[4] === 2,
    littleEndian: little,
    sharedObject: (little ? b.readUInt16LE(16) : b.readUInt16BE(16)) === 3, // ET_DYN
    machine: little ? b.readUInt16LE(18) : b.readUInt16BE(18),
  };
}

/** NEEDED libraries, required symbol versions and exported symbols, from readelf. */
function readDynamic(file) {
  const text = execFileSync('readelf', ['-W', '--dynamic', '--version-info', '--dyn-syms', file], { encoding: 'utf8' });
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const versionNeeds = text.includes("Version needs section '.gnu.version_r'")
    ? [...text.split("Version needs section '.gnu.version_r'")[1].matchAll(/Name: (\S+)/g)].map((m) => m[1])
    : [];
  const exported = [];
  for (const line of text.split('\n')) {
    // Num: Value Size Type Bind Vis Ndx Name
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && /^\d+:$/.test(f[0]) && (f[4] === 'GLOBAL' || f[4] === 'WEAK') && f[6] !== 'UND') exported.push(f[7].replace(/@.*/, ''));
  }
  const nodelete = /\(FLAGS_1\)\s+Flags:.*\bNODELETE\b/.test(text);
  return { needed, versionNeeds: [...new Set(versionNeeds)], exported, nodelete };
}

/** Problems with one target's binary, and a one-line summary of what it is. */
function checkStatic(target) {
  const file = prebuildPath(target);
  if (!fs.existsSync(file)) return { problems: [`${path.relative(root, file)} is missing (run node scripts/prebuild.mjs)`] };
  const problems = [];
  const header = readElfHeader(file);
  if (!header.elf) return { problems: ['not an ELF file'] };
  if (!header.class64 || !header.littleEndian || !header.sharedObject) problems.push('not a 64-bit little-endian shared object');
  if (header.machine !== target.elfMachine) {
    problems.push(`ELF machine is ${ELF_MACHINE_NAMES[header.machine] ?? header.machine}, expected ${ELF_MACHINE_NAMES[target.elfMachine]}`);
  }

  const { needed, versionNeeds, exported, nodelete } = readDynamic(file);
  // A worker's end would unload it under the namespace thread (a crash): see binding.gyp's ldflags.
  if (!nodelete) problems.push('is not marked NODELETE (-z nodelete)');
  const allowedLibraries = target.libc === 'glibc' ? GLIBC_LIBRARIES : MUSL_LIBRARIES;
  for (const lib of needed) if (!allowedLibraries.includes(lib)) problems.push(`needs ${lib}`);

  let highestGlibc = null;
  for (const v of versionNeeds) {
    const glibc = /^GLIBC_(\d+(?:\.\d+)+)$/.exec(v);
    if (target.libc === 'musl') problems.push(`needs symbol version ${v} (musl has none)`);
    else if (!glibc) problems.push(`needs ${v} (only GLIBC_ versions are allowed)`);
    else {
      if (compareVersions(glibc[1], glibcFloor) > 0) problems.push(`needs ${v}, newer than glibc ${glibcFloor}`);
      if (!highestGlibc || compareVersions(glibc[1], highestGlibc) > 0) highestGlibc = glibc[1];
    }
  }

  const extra = exported.filter((s) => !moduleExports.includes(s));
  if (extra.length) problems.push(`exports ${extra.length} symbols beyond Node-API's entry points, e.g. ${extra.slice(0, 3).join(', ')}`);
  if (!exported.includes('napi_register_module_v1')) problems.push('does not export napi_register_module_v1');

  const summary = [
    ELF_MACHINE_NAMES[header.machine] ?? `machine ${header.machine}`,
    `needs ${needed.join(' ') || 'nothing'}`,
    target.libc === 'glibc' ? `highest GLIBC_${highestGlibc}` : `${versionNeeds.length} symbol versions`,
    `exports ${exported.join(' ')}`,
  ].join('; ');
  return { problems, summary };
}

/** Files in prebuilds/ that no target accounts for (an untagged binary would be picked on any libc). */
function strayFiles() {
  if (!fs.existsSync(prebuildsDir)) return [];
  const expected = new Set(targets.map(prebuildPath));
  return fs
    .readdirSync(prebuildsDir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .filter((f) => !expected.has(f))
    .map((f) => path.relative(root, f));
}

function hostLibc() {
  return process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** Runtime checks on this machine; returns problems. */
function checkLoad() {
  const problems = [];
  // A directory holding only prebuilds/, so node-gyp-build can't fall back to build/Release.
  const only = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-prebuilds-'));
  try {
    fs.symlinkSync(prebuildsDir, path.join(only, 'prebuilds'));
    const env = { ...process.env, NLKIT_PREBUILD: only };
    delete env.LIBC;

    for (const libc of ['glibc', 'musl']) {
      const want = path.join(only, 'prebuilds', `linux-${process.arch}`, `nlkit.${libc}.node`);
      const libcEnv = libc === hostLibc() ? env : { ...env, LIBC: libc };
      const picked = execFileSync(process.execPath, ['-p', `require('node-gyp-build').path(${JSON.stringify(root)})`], {
        env: libcEnv,
        cwd: root,
        encoding: 'utf8',
      }).trim();
      if (picked !== want) problems.push(`node-gyp-build picks ${picked} for libc=${libc}, expected ${want}`);
      else console.log(`node-gyp-build, libc=${libc}: picks ${path.relative(only, picked)}`);
    }

    const host = targets.find((t) => t.arch === process.arch && t.libc === hostLibc());
    if (!host) return [...problems, `no prebuild target for this machine (${process.arch}, ${hostLibc()})`];
    if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) return [...problems, 'dist/ is missing: run npm run build:ts first'];
    const smoke = path.join(root, 'scripts', 'prebuild-smoke.cjs');
    const out = execFileSync('unshare', ['-n', process.execPath, smoke, root], { env, encoding: 'utf8' });
    const result = JSON.parse(out);
    if (result.binary !== prebuildPath(host).replace(prebuildsDir, path.join(only, 'prebuilds'))) problems.push(`${targetName(host)}: loaded ${result.binary}`);
    if (result.links.join(',') !== 'lo') problems.push(`${targetName(host)}: links in a fresh namespace: ${result.links.join(',')}`);
    if (result.bindError?.code !== 'EADDRINUSE')
      problems.push(`${targetName(host)}: a C++ exception did not arrive as SystemError EADDRINUSE: ${JSON.stringify(result.bindError)}`);
    if (problems.length === 0) console.log(`${targetName(host)}: loads in Node ${process.version}, lists links in unshare -n, throws C++ exceptions`);

    const musl = targets.find((t) => t.arch === process.arch && t.libc === 'musl');
    const muslLoader = `/lib/ld-musl-${process.arch === 'x64' ? 'x86_64' : 'aarch64'}.so.1`;
    if (musl && hostLibc() === 'glibc') {
      if (!fs.existsSync(muslLoader)) return [...problems, `${muslLoader} is missing: apt-get install musl`];
      // ldd mode: lists every unresolved symbol instead of stopping at the first
      let report = '';
      try {
        report = execFileSync(muslLoader, ['--list', prebuildPath(musl)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        report = `${e.stdout}${e.stderr}`;
      }
      const unresolved = report.split('\n').filter((l) => /^Error/.test(l));
      const notNodeApi = unresolved.filter((l) => !/: (napi|node_api)_\w+: symbol not found$/.test(l));
      if (notNodeApi.length) problems.push(`${targetName(musl)}: musl's loader: ${notNodeApi.slice(0, 5).join(' | ')}`);
      else console.log(`${targetName(musl)}: musl's loader resolves every symbol but Node-API's (${unresolved.length})`);
    }
  } finally {
    fs.rmSync(only, { recursive: true, force: true });
  }
  return problems;
}

function main() {
  let failed = false;
  for (const t of targets) {
    const { problems, summary } = checkStatic(t);
    if (summary) console.log(`${targetName(t).padEnd(18)} ${summary}`);
    for (const p of problems) console.error(`FAIL ${targetName(t)}: ${p}`);
    failed ||= problems.length > 0;
  }
  for (const f of strayFiles()) {
    console.error(`FAIL ${f}: not a known target; it would ship (delete prebuilds/ and rebuild)`);
    failed = true;
  }
  if (process.argv.includes('--load')) {
    for (const p of checkLoad()) {
      console.error(`FAIL ${p}`);
      failed = true;
    }
  }
  if (failed) process.exit(1);
  console.log('prebuilds OK');
}

main();
