'use strict';
/**
 * What a one-attach process pays (a CNI plugin, `nlkit net attach`), for A/B runs of builds whose code caches
 * differ (bench/notes.md, "The code cache holds a first attach"): `node bench/first-attach-cpu.js OLD NEW`
 * (package roots, each with its dist/bundle and bin/; default: this checkout). In one throw-away network
 * namespace (`unshare -n`), with one sandbox namespace (a sleeping `unshare -n` process, attached by pid), new
 * Node processes alternate between the builds (ROUNDS, default 15, each) and time one after another: the load
 * (require of dist/bundle/index.js and the first export read), `networks({ stateDir })` (a fresh temporary
 * directory), `create()` of a network, the process's first `attach()`, then `detach()` and `delete()`. CPU of the
 * whole process (process.cpuUsage) and of the event loop's thread (/proc/thread-self/schedstat) per phase, and
 * its wall time. Then, alternated the same way, the CNI plugin's ADD as a whole process (the build's
 * bin/nlkit-cni.js, its network made by a first ADD of another container id in each build's state directory;
 * each timed ADD is followed by its DEL, untimed): wall time (spawn to exit) and the plugin's CPU, all threads and
 * the event loop's, read by a preloaded hook at its exit (since the process started: Node's own start-up is in it).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const { median } = require('./lib/stats');
const { abMain } = require('./lib/ab-main');

const ROUNDS = Number(process.env.ROUNDS || 15);
const PHASES = ['load', 'networks', 'create', 'attach', 'detach'];

/** CPU time of the calling thread (the event loop's), ms. */
const threadMs = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

/** The child: the phases, each timed alone, in this new process. argv: root, sandbox pid. */
async function child(root) {
  const pid = Number(process.argv[4]);
  const out = {};
  const timed = async (name, fn) => {
    const s0 = threadMs();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const value = await fn();
    const c = process.cpuUsage(c0);
    out[name] = { cpuMs: (c.user + c.system) / 1000, mainMs: threadMs() - s0, wallMs: Number(process.hrtime.bigint() - t0) / 1e6 };
    return value;
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-bench-attach-'));
  try {
    const networks = await timed('load', () => require(path.join(root, 'dist', 'bundle', 'index.js')).networks);
    const nets = await timed('networks', () => networks({ stateDir: path.join(dir, 'state') }));
    try {
      await timed('create', () => nets.create({ name: 'fa', subnet: '10.77.0.0/24' }));
      const a = await timed('attach', () => nets.attach('fa', { sandbox: { pid }, id: 'fa1' }));
      if (a.ipv4 !== '10.77.0.2/24') throw new Error(`attached ${JSON.stringify(a)}`);
      await timed('detach', () => nets.detach('fa', { id: 'fa1' }));
      await nets.delete('fa');
    } finally {
      nets.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out));
}

/** Preloaded into each plugin process: at its exit, its CPU (all threads, and the event loop's) goes to the file named by the env. */
const PRELOAD = `process.on('exit', () => {
  const c = process.cpuUsage();
  const main = Number(require('fs').readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  require('fs').writeFileSync(process.env.NLKIT_BENCH_CPU_OUT, JSON.stringify({ cpuMs: (c.user + c.system) / 1000, mainMs: main }));
});`;

/** One CNI call of `root`'s plugin as a new process: its wall time (spawn to exit), and its CPU as the preload read it at exit. */
function cniCall(root, build, command, containerId, pid, dir) {
  // Each build its own network (bridge, subnet): they share the bench's host namespace.
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: `facni${build}`,
    type: 'nlkit-cni',
    bridge: `facni${build}`,
    isGateway: true,
    ipMasq: true,
    stateDir: path.join(dir, 'state'),
    ipam: { subnet: `10.78.${build}.0/24` },
  });
  const cpuOut = path.join(dir, 'cpu.json');
  const env = {
    ...process.env,
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    CNI_NETNS: `/proc/${pid}/ns/net`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/nonexistent',
    NLKIT_BENCH_CPU_OUT: cpuOut,
  };
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', path.join(dir, 'preload.js'), path.join(root, 'bin', 'nlkit-cni.js')], {
    input: config,
    env,
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`nlkit-cni ${command} (${root}): exit ${r.status}: ${r.stdout} ${r.stderr}`);
  return { wallMs, ...JSON.parse(fs.readFileSync(cpuOut, 'utf8')) };
}

/** The namespace of process `pid` ("net:[ino]"), or undefined before it runs. */
function sandboxNs(pid) {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Inside the namespace: the sandbox, then the alternated fresh processes. */
function inNamespace(roots) {
  const sandbox = spawn('unshare', ['-n', 'sleep', '3600'], { stdio: 'ignore' });
  try {
    // Until unshare has made its namespace (the sleeper's differs from ours); then it is attached by pid.
    const own = fs.readlinkSync('/proc/self/ns/net');
    for (let i = 0; i < 100 && sandboxNs(sandbox.pid) === own; i++) execFileSync('sleep', ['0.05']);
    if (sandboxNs(sandbox.pid) === own) throw new Error('the sandbox namespace was not made');
    const stateDirs = new Map(roots.map((r) => [r, fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-bench-cni-'))]));
    for (const d of stateDirs.values()) fs.writeFileSync(path.join(d, 'preload.js'), PRELOAD);
    try {
      const rows = new Map(roots.map((r) => [r, []]));
      const cni = new Map(roots.map((r) => [r, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const r of roots)
          rows.get(r).push(JSON.parse(execFileSync(process.execPath, [__filename, '--child', r, String(sandbox.pid)], { encoding: 'utf8' })));
      }
      // The CNI network exists before the timed ADDs (a node's plugin finds it made by an earlier container).
      for (const r of roots) {
        cniCall(r, roots.indexOf(r), 'ADD', 'fa-setup', sandbox.pid, stateDirs.get(r));
        cniCall(r, roots.indexOf(r), 'DEL', 'fa-setup', sandbox.pid, stateDirs.get(r)); // the sandbox's eth0 is free again
      }
      for (let round = 0; round < ROUNDS; round++) {
        for (const r of roots) {
          const state = stateDirs.get(r);
          cni.get(r).push(cniCall(r, roots.indexOf(r), 'ADD', `fa-${round}`, sandbox.pid, state));
          cniCall(r, roots.indexOf(r), 'DEL', `fa-${round}`, sandbox.pid, state);
        }
      }
      report(roots, rows, cni);
    } finally {
      for (const d of stateDirs.values()) fs.rmSync(d, { recursive: true, force: true });
    }
  } finally {
    sandbox.kill();
  }
}

function report(roots, rows, cni) {
  const stat = (xs) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
  for (const r of roots) {
    const xs = rows.get(r);
    console.log(`${r}: ${xs.length} processes, ms median (range): CPU all threads / event loop thread / wall`);
    for (const phase of PHASES)
      console.log(
        `  ${phase.padEnd(10)} ${stat(xs.map((x) => x[phase].cpuMs))} / ${stat(xs.map((x) => x[phase].mainMs))} / ${stat(xs.map((x) => x[phase].wallMs))}`,
      );
    const c = cni.get(r);
    console.log(
      `  ${'CNI ADD'.padEnd(10)} ${stat(c.map((x) => x.cpuMs))} / ${stat(c.map((x) => x.mainMs))} / ${stat(c.map((x) => x.wallMs))} (whole plugin process)`,
    );
  }
  // Each build against the last given (the new one), process by process of the same round.
  const b = roots[roots.length - 1];
  for (const a of roots.slice(0, -1)) {
    const paired = (get, of = rows) => {
      const d = of.get(a).map((x, i) => get(of.get(b)[i]) - get(x));
      return `${stat(d)}, lower in ${d.filter((v) => v < 0).length}/${d.length}`;
    };
    console.log(`paired ${b} - ${a} (same round):`);
    for (const phase of PHASES) console.log(`  ${phase.padEnd(10)} CPU ${paired((x) => x[phase].cpuMs)}; event loop ${paired((x) => x[phase].mainMs)}`);
    console.log(
      `  ${'CNI ADD'.padEnd(10)} CPU ${paired((x) => x.cpuMs, cni)}; event loop ${paired((x) => x.mainMs, cni)}; wall ${paired((x) => x.wallMs, cni)}`,
    );
  }
  console.log(
    `load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

abMain(__filename, child, inNamespace);
