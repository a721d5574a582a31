// The prebuilt binaries the npm package ships, shared by scripts/prebuild.mjs
// (which builds them) and scripts/check-prebuilds.mjs (which checks them).
// File names follow node-gyp-build: prebuilds/<platform>-<arch>/<name>.<libc>.node,
// where the libc tag makes it pick the musl build on Alpine and the glibc one elsewhere.
import * as path from 'node:path';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const prebuildsDir = path.join(root, 'prebuilds');

/** The oldest glibc the glibc builds load on: RHEL 8, Debian 10, Ubuntu 20.04 (2.31). */
export const glibcFloor = '2.28';

/**
 * Each target: node's arch name, the libc tag, Zig's target triple, and the
 * ELF e_machine the binary must carry (62 = x86-64, 183 = AArch64).
 */
export const targets = [
  { arch: 'x64', libc: 'glibc', zigTarget: `x86_64-linux-gnu.${glibcFloor}`, elfMachine: 62 },
  { arch: 'arm64', libc: 'glibc', zigTarget: `aarch64-linux-gnu.${glibcFloor}`, elfMachine: 183 },
  { arch: 'x64', libc: 'musl', zigTarget: 'x86_64-linux-musl', elfMachine: 62 },
  { arch: 'arm64', libc: 'musl', zigTarget: 'aarch64-linux-musl', elfMachine: 183 },
];

export function targetName(target) {
  return `linux-${target.arch}-${target.libc}`;
}

export function prebuildPath(target) {
  return path.join(prebuildsDir, `linux-${target.arch}`, `nlkit.${target.libc}.node`);
}

/** The only symbols a prebuild exports: Node-API's module entry points (scripts/prebuild-exports.map). */
export const moduleExports = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];
