'use strict';
/**
 * The other netlink users as programs of our own (mnl-routes.c on libmnl,
 * go-netlink.go on vishvananda/netlink), built once per bench run from the
 * Debian packages (bench/README.md) into bench/peers/.build, and run inside a
 * bench namespace with `ip netns exec`. Each times its own work and prints
 * {"ms": [...]}; the workload records those samples next to nlkit's, so the
 * ratios come from the same run. Without a toolchain or package a peer is
 * skipped with the reason printed.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFile, execFileSync } = require('node:child_process');
const { summarize } = require('../lib/stats');

const SRC = __dirname;
const OUT = path.join(SRC, '.build');
const built = new Map(); // peer name -> { bin } | { reason }

function tryBuild(name, log, steps) {
  if (built.has(name)) return built.get(name);
  let result;
  try {
    fs.mkdirSync(OUT, { recursive: true });
    const bin = steps();
    result = { bin };
  } catch (e) {
    const firstLine =
      String(e.stderr || e.message)
        .split('\n')
        .find((l) => l.trim()) ?? 'build failed';
    result = { reason: firstLine.trim() };
    log(`  peer ${name} skipped: ${result.reason}`);
  }
  built.set(name, result);
  return result;
}

const quiet = { stdio: ['ignore', 'pipe', 'pipe'] };

/** mnl-routes (C, libmnl): `apt-get install gcc libmnl-dev pkg-config`. */
function mnl(log) {
  return tryBuild('libmnl', log, () => {
    const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libmnl'], quiet).toString().trim().split(/\s+/);
    const bin = path.join(OUT, 'mnl-routes');
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, path.join(SRC, 'mnl-routes.c'), ...flags], quiet);
    return bin;
  });
}

/**
 * go-netlink (Go, vishvananda/netlink): `apt-get install golang-go
 * golang-github-vishvananda-netlink-dev`. Built offline against the Debian
 * sources in /usr/share/gocode (GOPATH mode, no module download).
 */
function go(log) {
  return tryBuild('vishvananda', log, () => {
    const bin = path.join(OUT, 'go-netlink');
    const env = { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: path.join(OUT, 'gocache'), GOFLAGS: '' };
    execFileSync('go', ['build', '-o', bin, path.join(SRC, 'go-netlink.go')], { ...quiet, env });
    return bin;
  });
}

/** Runs a built peer inside `ns` (a bench namespace) and returns its timings in ms. */
function runPeer(ns, bin, args) {
  if (!ns.startsWith('nlbench-')) throw new Error(`bench: refusing to run a peer outside a bench namespace (${ns})`);
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, bin, ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(bin)} ${args.join(' ')} in ${ns}: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/**
 * Records a peer's own timings as a result of the group (the first `warmup`
 * samples dropped). `ops` turns milliseconds into a rate; without it the
 * samples are times (divided by `per` when one sample covers several items).
 */
function recordPeer(ctx, spec, ms) {
  const timed = ms.slice(spec.warmup ?? 0);
  const samples = timed.map((t) => (spec.ops ? spec.ops / (t / 1e3) : t / (spec.per ?? 1)));
  return ctx.record({
    group: spec.group,
    variant: spec.variant,
    impl: 'alternative',
    kind: spec.ops ? 'rate' : 'time',
    unit: spec.unit,
    ops: spec.ops,
    runs: samples.length,
    warmup: spec.warmup ?? 0,
    note: spec.note,
    ...summarize(samples),
  });
}

module.exports = { mnl, go, runPeer, recordPeer };
