#!/usr/bin/env node
'use strict';
/**
 * nlkit benchmark runner.
 *
 *   npm run bench                           every workload (not the optional ones), writes
 *                                           bench/results/latest.json and docs/performance.md
 *   node bench/run.js --only route-churn    some workloads (results merged into latest.json)
 *   node bench/run.js --only memory         optional workloads run only when named
 *   node bench/run.js --quick               smaller and fewer runs; writes bench/results/quick.json only
 *   node bench/run.js --list                the workloads
 *
 * Options: --runs N, --warmup N, --processes N (fresh processes per fresh variant),
 * --no-write, --no-docs; --render rewrites docs/performance.md from latest.json
 * without running anything. --contention runs with a CPU hog on every core and
 * files the results as contended. --cpu-prof DIR: every fresh process writes a
 * V8 CPU profile there. Refuses to start when the 1-minute load average is above
 * --max-load (default 0.25 per core) unless --allow-load (then the report says so).
 * Before each workload it waits until the kernel has finished tearing down deleted
 * namespaces (bench/lib/settle.js; --no-settle does not).
 * A workload is one file in bench/workloads/ exporting { name, description, run(ctx) }
 * (plus optional `targets` and `optional: true`); see bench/README.md.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

// Memory measurements need a forced GC (as with --expose-gc, without re-running node).
if (typeof global.gc !== 'function') {
  v8.setFlagsFromString('--expose-gc');
  global.gc = vm.runInNewContext('gc');
}

const { BenchContext, deleteLiveNamespacesSync, deleteStaleNamespacesSync } = require('./lib/context');
const { machineInfo } = require('./lib/machine');
const { printResults, renderMarkdown } = require('./lib/report');
const { startHogs, stopHogs } = require('./lib/contention');
const { waitForNetnsTeardown } = require('./lib/settle');

const ROOT = path.join(__dirname, '..');
const RESULTS_DIR = path.join(__dirname, 'results');
const LATEST = path.join(RESULTS_DIR, 'latest.json');
const QUICK = path.join(RESULTS_DIR, 'quick.json');
const DOC = path.join(ROOT, 'docs', 'performance.md');
const NOTES = path.join(__dirname, 'notes.md');

function parseArgs(argv) {
  const o = {
    only: undefined,
    quick: false,
    runs: undefined,
    warmup: undefined,
    write: true,
    docs: true,
    list: false,
    allowLoad: false,
    contention: false,
    settle: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--only')
      o.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a.startsWith('--only=')) o.only = a.slice(7).split(',').filter(Boolean);
    else if (a === '--quick') o.quick = true;
    else if (a === '--runs') o.runs = Number(value());
    else if (a === '--warmup') o.warmup = Number(value());
    else if (a === '--processes') o.processes = Number(value());
    else if (a === '--max-load') o.maxLoad = Number(value());
    else if (a === '--allow-load') o.allowLoad = true;
    else if (a === '--contention') o.contention = true;
    else if (a === '--cpu-prof') o.cpuProf = path.resolve(value());
    else if (a === '--no-write') o.write = false;
    else if (a === '--no-docs') o.docs = false;
    else if (a === '--no-settle') o.settle = false;
    else if (a === '--list') o.list = true;
    else if (a === '--render') o.render = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  return o;
}

/** Every bench/workloads/*.js file is a workload: adding one is dropping a file there. */
function loadWorkloads() {
  const dir = path.join(__dirname, 'workloads');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => {
      const w = require(path.join(dir, f));
      if (!w || typeof w.name !== 'string' || typeof w.run !== 'function') throw new Error(`bench/workloads/${f}: must export { name, description, run(ctx) }`);
      return w;
    })
    .sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const all = loadWorkloads();
  if (opts.help) {
    console.log(
      fs
        .readFileSync(__filename, 'utf8')
        .split('\n')
        .slice(3, 22)
        .map((l) => l.replace(/^ \* ?/, ''))
        .join('\n'),
    );
    return 0;
  }
  if (opts.list) {
    for (const w of all) console.log(`${w.name.padEnd(16)} ${w.optional ? '(optional) ' : ''}${w.description}`);
    return 0;
  }
  if (opts.render) {
    // Regenerate docs/performance.md from latest.json (after editing bench/notes.md).
    const latest = readJson(LATEST);
    if (!latest) throw new Error(`${path.relative(ROOT, LATEST)} is missing: run the benchmarks first`);
    fs.writeFileSync(DOC, renderMarkdown(latest, all, fs.existsSync(NOTES) ? fs.readFileSync(NOTES, 'utf8') : ''));
    console.log(`wrote ${path.relative(ROOT, DOC)} from ${path.relative(ROOT, LATEST)}`);
    return 0;
  }
  if (process.getuid && process.getuid() !== 0) {
    console.error('bench: needs root (it creates network namespaces)');
    return 1;
  }
  let chosen;
  if (opts.only) {
    const unknown = opts.only.filter((n) => !all.some((w) => w.name === n));
    if (unknown.length) throw new Error(`unknown workload(s): ${unknown.join(', ')}; known: ${all.map((w) => w.name).join(', ')}`);
    chosen = all.filter((w) => opts.only.includes(w.name));
  } else {
    chosen = all.filter((w) => !w.optional);
  }

  // A busy machine measures the other engineers' work too: refuse, unless told the numbers are for ratios only.
  const machine = machineInfo();
  const maxLoad = opts.maxLoad ?? 0.25 * machine.cores;
  if (machine.loadAverage[0] > maxLoad && !opts.allowLoad) {
    console.error(
      `bench: the 1-minute load average is ${machine.loadAverage[0]} (above ${maxLoad}): the numbers would measure other work too. ` +
        'Wait for a quiet machine, or pass --allow-load (results are then marked as measured under load).',
    );
    return 2;
  }
  if (opts.cpuProf) fs.mkdirSync(opts.cpuProf, { recursive: true });

  deleteStaleNamespacesSync();
  const cleanupAndExit = (sig) => {
    stopHogs();
    deleteLiveNamespacesSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', cleanupAndExit);
  process.on('SIGTERM', cleanupAndExit);
  process.on('exit', () => {
    stopHogs();
    deleteLiveNamespacesSync();
  });

  const loadNote = machine.loadAverage[0] > maxLoad ? `measured under load (1-minute load ${machine.loadAverage[0]} > ${maxLoad}, --allow-load)` : undefined;
  const contended = opts.contention ? startHogs() : 0;
  const runs = opts.runs ?? (opts.quick ? 3 : 5);
  const warmup = opts.warmup ?? 1;
  console.log(`nlkit bench: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}; load ${machine.loadAverage.join(' ')}`);
  console.log(
    `${opts.quick ? 'quick run, ' : ''}${runs} runs after ${warmup} warm-up, medians${contended ? `; CONTENDED: ${contended} CPU hogs running` : ''}\n`,
  );
  if (loadNote) console.log(`warning: ${loadNote}\n`);
  // Node parses this whole file at every start (~70 ms of a bare `node -e 0` here): it moves every fresh-process
  // figure and their ratios to ip/nft, so the published runs leave it unset (README, Performance).
  if (process.env.NODE_EXTRA_CA_CERTS)
    console.log('warning: NODE_EXTRA_CA_CERTS is set: every fresh node process pays for parsing it (the published runs unset it)\n');

  const report = { generated: new Date().toISOString(), contended: contended > 0, workloads: {} };
  let failed = false;
  for (const w of chosen) {
    // The kernel frees a deleted namespace later, holding rtnl_lock (seconds for a big one): measuring
    // meanwhile would charge the previous workload's teardown to this one (and to its peers).
    const settle = opts.settle ? await waitForNetnsTeardown() : undefined;
    console.log(`${w.name}: ${w.description}`);
    if (settle?.seen)
      console.log(`  (waited ${(settle.waitedMs / 1000).toFixed(1)} s for the kernel to finish tearing down namespaces${settle.timedOut ? ', gave up' : ''})`);
    const ctx = new BenchContext({
      workload: w.name,
      quick: opts.quick,
      runs,
      warmup,
      processes: opts.processes,
      cpuProfDir: opts.cpuProf,
      log: (s) => console.log(s),
    });
    const started = Date.now();
    let error;
    try {
      await w.run(ctx);
    } catch (e) {
      error = e;
      failed = true;
      console.error(`  ${w.name} failed: ${e && e.stack ? e.stack : e}`);
    } finally {
      await ctx.cleanup();
    }
    // r(variant) is the warm (or alternative) result, r(variant, 'fresh') the fresh-process one
    const lookup = (variant, mode) => ctx.results.find((r) => r.variant === variant && (mode ? r.mode === mode : r.mode !== 'fresh'));
    const targets = (w.targets || []).map((t) => {
      let outcome;
      try {
        outcome = t.evaluate(lookup, ctx.results);
      } catch (e) {
        outcome = { met: false, value: `error: ${e.message}` };
      }
      return { text: t.text, limit: t.limit, ...outcome };
    });
    report.workloads[w.name] = {
      description: w.description,
      date: new Date(started).toISOString(),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      machine,
      loadAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
      contended: contended > 0,
      underLoad: loadNote,
      settledBeforeMs: settle?.waitedMs,
      options: { quick: opts.quick, runs, warmup, processes: ctx.processes },
      error: error ? String(error && error.message ? error.message : error) : undefined,
      results: ctx.results,
      targets,
    };
    console.log('');
  }

  stopHogs();
  printResults(report);

  if (opts.write) {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    if (opts.quick) {
      fs.writeFileSync(QUICK, JSON.stringify(report, null, 2) + '\n');
      console.log(`\nwrote ${path.relative(ROOT, QUICK)} (quick runs never touch latest.json or docs/performance.md)`);
    } else {
      // Merge: workloads not run now keep their last results; contended runs are filed apart.
      const latest = readJson(LATEST) || { workloads: {} };
      latest.generated = report.generated;
      const section = contended ? (latest.contended ??= {}) : latest.workloads;
      for (const [name, data] of Object.entries(report.workloads)) if (!data.error) section[name] = data;
      fs.writeFileSync(LATEST, JSON.stringify(latest, null, 2) + '\n');
      console.log(`\nwrote ${path.relative(ROOT, LATEST)}${contended ? ' (contended results)' : ''}`);
      if (opts.docs) {
        const notes = fs.existsSync(NOTES) ? fs.readFileSync(NOTES, 'utf8') : '';
        fs.writeFileSync(DOC, renderMarkdown(latest, all, notes));
        console.log(`wrote ${path.relative(ROOT, DOC)}`);
      }
    }
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e && e.stack ? e.stack : e);
    deleteLiveNamespacesSync();
    process.exitCode = 1;
  },
);
