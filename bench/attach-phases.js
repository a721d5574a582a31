'use strict';
/**
 * Where a warm `nets.attach()` spends its time in the networks layer:
 * `node bench/attach-phases.js [dist dir ...]` (default: this checkout's dist/).
 * For each build, in turn, a new process creates a host namespace and 40
 * sandbox namespaces (all deleted afterwards; NS_TAG=t names them
 * nlbench-t-PID-aph-…), wraps the exported functions of the networks layer
 * named below (module exports and prototype methods, so every call through
 * them is timed), attaches and detaches the 40 six times and prints the
 * median wall time of each function per call over the last five rounds, with
 * how many calls that is. State on /dev/shm.
 *
 * A function's time includes what it awaits: the lease is started while the
 * kernel creates the veth, so its promise also spans the event loop turns in
 * between (builds that ask for it before the veth's requests do not), and
 * withSandboxLocks spans the whole attach. For the sequential parts
 * (settleInterruptedOf, the state's snapshot and edit, beginIntent,
 * refuseHostNamespace ...) wall time is CPU time of the event loop unless the
 * load preempts it: compare builds by their medians in the same run.
 * A function a build does not have is reported as missing and skipped.
 */
const path = require('node:path');
const { openBenchNetwork } = require('./lib/bench-network');
const { execFileSync } = require('node:child_process');

const N = 40;
const ROUNDS = 6;

/** The functions timed: [module under dist/, export, label, prototype of this export?]. */
const WRAPPED = [
  ['network/sandbox-lock.js', 'withSandboxLocks'],
  ['network/attachment-recovery.js', 'settleInterruptedOf'],
  ['network/state.js', 'StateStore', 'store.snapshot', 'snapshot'],
  ['network/multi-network.js', 'chooseIfname'],
  ['netns/namespace.js', 'openNetnsSync'],
  ['network/sandbox-identity.js', 'identityOf'],
  ['network/sandbox-identity.js', 'refuseHostNamespace'],
  ['network/names.js', 'hostVethName'],
  ['network/intents.js', 'beginIntent'],
  ['network/context.js', 'ipamOf'],
  ['network/sandbox-ops.js', 'openSandboxOps'],
  ['network/ipam.js', 'Ipam', 'ipam.allocate', 'allocate'],
  ['network/file-lock.js', 'readStateFile'],
  ['network/file-lock.js', 'writeFileAtomic'],
  ['network/state.js', 'StateStore', 'store.edit', 'edit'],
  ['network/intents.js', 'Intent', 'intent.done', 'done'],
];

async function child(dist) {
  const times = new Map();
  let on = false;
  const record = (label, t0) => {
    if (!on) return;
    if (!times.has(label)) times.set(label, []);
    times.get(label).push(Number(process.hrtime.bigint() - t0) / 1e3);
  };
  for (const [mod, name, label = name, method] of WRAPPED) {
    const exp = require(path.join(dist, mod));
    const obj = method ? exp[name]?.prototype : exp;
    const key = method ?? name;
    const f = obj?.[key];
    if (typeof f !== 'function') {
      console.log(`${label}: missing`);
      continue;
    }
    obj[key] = function (...args) {
      const t0 = process.hrtime.bigint();
      const r = f.apply(this, args);
      if (r && typeof r.then === 'function') return r.finally(() => record(label, t0));
      record(label, t0);
      return r;
    };
  }
  const nl = require(path.join(dist, 'index.js'));
  const env = await openBenchNetwork(nl, 'aph', N);
  const { sandboxes, nets } = env;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      on = round > 0; // the first round warms up
      for (const s of sandboxes) {
        const t0 = process.hrtime.bigint();
        await nets.attach('b', { sandbox: s });
        record('attach (whole)', t0);
      }
      on = false;
      await nets.detach('b', sandboxes);
    }
  } finally {
    await env.close();
  }
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  for (const [label, v] of times) console.log(`${label.padEnd(22)} ${median(v).toFixed(1).padStart(8)} µs  (${v.length} calls)`);
}

if (process.argv[2] === '--child') {
  child(path.resolve(process.argv[3])).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  const dists = process.argv.length > 2 ? process.argv.slice(2) : [path.join(__dirname, '..', 'dist')];
  for (const d of dists) {
    console.log(`== ${d}`);
    process.stdout.write(execFileSync(process.execPath, [__filename, '--child', d], { encoding: 'utf8' }));
  }
}
