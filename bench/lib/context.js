'use strict';
/**
 * What a workload gets: throw-away network namespaces (always deleted),
 * repeated measurements with medians, and helpers to run the alternatives
 * (`ip`) inside those namespaces only.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile, spawn } = require('node:child_process');
const nlkit = require('nlkit');
const { median, summarize } = require('./stats');
const { runFreshProcess } = require('./fresh');

const PREFIX = 'nlbench-';
/** Every namespace created by this process, so a crash or ^C still deletes them. */
const liveNamespaces = new Set();
let counter = 0;

function uniqueName(label) {
  counter += 1;
  const safe = String(label || 'ns')
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 8);
  return `${PREFIX}${process.pid}-${counter}-${safe}`;
}

/** Deletes what is left (signal handlers, process exit). Synchronous on purpose. */
function deleteLiveNamespacesSync() {
  for (const name of liveNamespaces) {
    try {
      nlkit.deleteNetnsSync(name);
    } catch {
      // already gone
    }
    liveNamespaces.delete(name);
  }
}

/** Namespaces of earlier runs that died before cleaning up (their pid is gone). */
function deleteStaleNamespacesSync() {
  let names = [];
  try {
    names = fs.readdirSync(nlkit.NETNS_RUN_DIR).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice(PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // still running
    } catch {
      // dead: its namespaces are ours to remove
    }
    try {
      nlkit.deleteNetnsSync(name);
    } catch {
      // ignore
    }
  }
}

const nowNs = () => process.hrtime.bigint();

class BenchContext {
  constructor({ workload, quick, runs, warmup, log, processes, cpuProfDir }) {
    this.nlkit = nlkit;
    this.workload = workload;
    this.quick = quick;
    this.runs = runs;
    this.warmup = warmup;
    /** Fresh processes per fresh-process variant (--processes). */
    this.processes = processes ?? (quick ? 3 : 7);
    /** --cpu-prof DIR: every fresh process writes a V8 CPU profile there. */
    this.cpuProfDir = cpuProfDir;
    this.log = log;
    this.results = [];
    this.ownNamespaces = [];
    this.tmpDir = undefined;
  }

  /** Creates a network namespace for this workload; deleted when the workload ends. */
  async netns(label) {
    const name = uniqueName(label);
    await nlkit.createNetns(name);
    liveNamespaces.add(name);
    this.ownNamespaces.push(name);
    return name;
  }

  /** Deletes this workload's namespaces and temporary files. */
  async cleanup() {
    for (const name of this.ownNamespaces.splice(0)) {
      try {
        await nlkit.deleteNetns(name);
      } catch (e) {
        this.log(`  warning: could not delete namespace ${name}: ${e.message}`);
      }
      liveNamespaces.delete(name);
    }
    if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = undefined;
  }

  /** Writes a temporary file (an `ip -batch` script); removed at cleanup. */
  tmpFile(name, content) {
    if (!this.tmpDir) this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-'));
    const file = path.join(this.tmpDir, name);
    fs.writeFileSync(file, content);
    return file;
  }

  /** Runs `ip -n NS ARGS...` (always inside the namespace) and resolves with its stdout. */
  ip(ns, args) {
    if (!liveNamespaces.has(ns)) throw new Error(`bench: refusing to run ip outside a bench namespace (${ns})`);
    return new Promise((resolve, reject) => {
      execFile('ip', ['-n', ns, ...args], { maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`ip -n ${ns} ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
  }

  /** Like ip() but only waits for the exit status (no output buffering). */
  ipQuiet(ns, args) {
    if (!liveNamespaces.has(ns)) throw new Error(`bench: refusing to run ip outside a bench namespace (${ns})`);
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['-n', ns, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip -n ${ns} ${args.join(' ')}: exit ${code}: ${stderr}`))));
    });
  }

  /** Runs another tool inside the namespace (`ip netns exec NS CMD ARGS...`), waiting for its exit status. */
  spawnQuiet(ns, cmd, args) {
    return this.ipNetnsExec(ns, cmd, args);
  }

  ipNetnsExec(ns, cmd, args) {
    if (!liveNamespaces.has(ns)) throw new Error(`bench: refusing to run ${cmd} outside a bench namespace (${ns})`);
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} in ${ns}: exit ${code}: ${stderr}`))));
    });
  }

  gc() {
    if (global.gc) {
      global.gc();
      global.gc();
    }
  }

  /** Heap, external (Buffers) and RSS in bytes. */
  memory() {
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
  }

  /**
   * Measures one variant: `warmup` untimed runs, then `runs` timed ones.
   * Each run: setup() (untimed), run() (timed), teardown() (untimed).
   * kind 'rate': samples are ops / second; kind 'time': samples are milliseconds.
   */
  async measure(spec) {
    const runs = spec.runs ?? this.runs;
    const warmup = spec.warmup ?? this.warmup;
    const kind = spec.kind ?? 'rate';
    const samples = [];
    for (let i = 0; i < warmup + runs; i++) {
      if (spec.setup) await spec.setup(i);
      // No forced GC here: a full GC also drops V8's type feedback and shrinks
      // the young generation, and the next run would measure the recovery.
      const t0 = nowNs();
      await spec.run(i);
      const seconds = Number(nowNs() - t0) / 1e9;
      if (spec.teardown) await spec.teardown(i);
      if (i < warmup) continue;
      samples.push(kind === 'rate' ? spec.ops / seconds : seconds * 1e3);
    }
    const impl = spec.impl ?? 'nlkit';
    return this.record({
      group: spec.group,
      variant: spec.variant,
      impl,
      // warm: repeated in this long-lived process; process: each run is a new process of another tool
      mode: spec.mode ?? (impl === 'alternative' ? 'process' : 'warm'),
      kind,
      unit: spec.unit ?? (kind === 'rate' ? 'ops/s' : 'ms'),
      ops: spec.ops,
      runs,
      warmup,
      note: spec.note,
      ...summarize(samples),
    });
  }

  /**
   * Measures one variant in fresh processes: each sample is a new `node bench/fresh/<script> args...`
   * that loads nlkit, prepares (untimed) and does the work once (timed by the child; lib/fresh-child.js).
   * Give it the same group and variant name as the warm measurement: reports show them side by side.
   * setup(i)/teardown(i) run in this process, untimed, around each child (clean the namespace).
   */
  async fresh(spec) {
    const processes = spec.processes ?? this.processes;
    const kind = spec.kind ?? 'rate';
    const script = path.join(__dirname, '..', 'fresh', spec.script);
    const reports = [];
    for (let i = 0; i < processes; i++) {
      if (spec.setup) await spec.setup(i);
      reports.push(await runFreshProcess(script, (spec.args ?? []).map(String), { cpuProfDir: this.cpuProfDir }));
      if (spec.teardown) await spec.teardown(i);
    }
    const samples = reports.map((r) => (kind === 'rate' ? spec.ops / (r.workMs / 1e3) : r.workMs));
    return this.record({
      group: spec.group,
      variant: spec.variant,
      impl: spec.impl ?? 'nlkit',
      mode: 'fresh',
      kind,
      unit: spec.unit ?? (kind === 'rate' ? 'ops/s' : 'ms'),
      ops: spec.ops,
      runs: processes,
      warmup: 0,
      note: spec.note,
      // what else each fresh process spent: loading nlkit, preparing, and the whole process start to exit
      loadMs: median(reports.map((r) => r.loadMs)),
      prepareMs: median(reports.map((r) => r.prepareMs)),
      processMs: median(reports.map((r) => r.processMs)),
      ...summarize(samples),
    });
  }

  /** Records a result measured by the workload itself (memory, slopes...). */
  record(result) {
    const r = { workload: this.workload, impl: 'nlkit', kind: 'value', ...result };
    this.results.push(r);
    this.log(
      `  ${r.group} | ${r.variant}${r.mode === 'fresh' ? ' [fresh process]' : ''}: ${formatValue(r.median, r.unit)}` +
        (r.samples && r.samples.length > 1 ? ` (min ${formatValue(r.min, r.unit)}, max ${formatValue(r.max, r.unit)})` : ''),
    );
    return r;
  }

  /** The result of `variant` in `group` recorded by this workload (the warm one unless `mode` says 'fresh'). */
  get(group, variant, mode) {
    return this.results.find((r) => r.group === group && r.variant === variant && (mode ? r.mode === mode : r.mode !== 'fresh'));
  }
}

function formatValue(v, unit) {
  if (v === undefined || Number.isNaN(v)) return 'n/a';
  const abs = Math.abs(v);
  let s;
  if (abs >= 1000) s = Math.round(v).toLocaleString('en-US');
  else if (abs >= 100) s = v.toFixed(0);
  else if (abs >= 10) s = v.toFixed(1);
  else s = v.toFixed(2);
  return unit ? `${s} ${unit}` : s;
}

module.exports = { BenchContext, deleteLiveNamespacesSync, deleteStaleNamespacesSync, formatValue };
