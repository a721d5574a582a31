'use strict';
/**
 * What V8 does with the attach path's JavaScript (bench/notes.md, "Why the attach path stayed unoptimised"):
 * `node bench/attach-tiering.js [--attach] [--ic] [dist dir]` (default: this checkout's dist/).
 * Runs bench/attach-cpu.js's child (the plumbing row, or `nets.attach()` with --attach) in a Node started with
 * --trace-opt --trace-deopt --cpu-prof: WARMUP rounds of 40 sandboxes (attach, then delete; default 13, i.e.
 * 520 attaches), then 40 more. Lists the functions of dist/ by self time over the whole run (the native calls
 * they make included) with what V8 did with them: never optimised, optimised, or optimised and then marked for
 * deoptimisation (with V8's reason), and the deopt reasons of the run. V8's trace names functions without their
 * file: a name optimised anywhere counts as optimised for every function of that name.
 * With --ic, a second child (WARMUP=3, --log-ic) lists the property accesses in dist/ that went polymorphic (P)
 * or megamorphic (N), the setup's included (the network's create: its nftables rules). Namespaces as attach-cpu.js's (NS_TAG), all deleted by the child; the profile and log go
 * to a temporary directory removed at the end.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const flag = (f) => (args.includes(f) ? (args.splice(args.indexOf(f), 1), true) : false);
const mode = flag('--attach') ? 'attach' : 'plumb';
const ic = flag('--ic');
const dist = path.resolve(args[0] ?? path.join(__dirname, '..', 'dist'));
const child = path.join(__dirname, 'attach-cpu.js');

/** Runs the attach loop in a child Node with `flags`; returns its stdout (the trace and its JSON line). */
function runChild(flags, warmup) {
  return execFileSync(process.execPath, [...flags, child, '--child', dist, mode], {
    encoding: 'utf8',
    env: { ...process.env, WARMUP: String(warmup) },
    maxBuffer: 256 << 20,
  });
}

/** Self time per function of dist/ in a .cpuprofile, in ms. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const cf = byId.get(profile.samples[i]).callFrame;
    if (!cf.url.startsWith(`file://${dist}/`) && !cf.url.startsWith(`${dist}/`)) continue;
    const key = `${cf.functionName || '(anonymous)'}\t${cf.url.slice(cf.url.indexOf(dist) + dist.length + 1)}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  }
  return self;
}

function tiering(tmp) {
  const warmup = Number(process.env.WARMUP) || 13;
  const out = runChild(['--trace-opt', '--trace-deopt', '--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', tmp], warmup);
  const optimised = new Set([...out.matchAll(/completed optimizing \S+ <JSFunction (.*?) \(sfi/g)].map((m) => m[1]));
  const deopts = new Map();
  for (const m of out.matchAll(/SharedFunctionInfo (.*?)>\) \(opt id \d+\) for deoptimization, reason: (.*?)\]/g)) deopts.set(m[1], m[2]);
  for (const m of out.matchAll(/bailout \(kind: ([^,]+), reason: ([^)]+)\): begin\. deoptimizing \S+ <JSFunction (.*?) \(sfi/g))
    deopts.set(m[3], `${m[1]}: ${m[2]}`);
  const profile = JSON.parse(
    fs.readFileSync(
      path.join(
        tmp,
        fs.readdirSync(tmp).find((f) => f.endsWith('.cpuprofile')),
      ),
      'utf8',
    ),
  );
  const rows = [...selfTimes(profile)].sort((a, b) => b[1] - a[1]);
  const status = (name) => (!optimised.has(name) ? 'never optimised' : deopts.has(name) ? `optimised, deopt: ${deopts.get(name)}` : 'optimised');
  const total = rows.reduce((s, [, v]) => s + v, 0);
  const never = rows.filter(([k]) => !optimised.has(k.split('\t')[0])).reduce((s, [, v]) => s + v, 0);
  const attaches = (warmup + 1) * 40;
  console.log(
    `${mode === 'plumb' ? 'plumbing row' : 'nets.attach()'}, ${dist}: ${attaches} attaches (${warmup} rounds of attach + delete, then 40); ${out.split('\n').find((l) => l.startsWith('{'))}`,
  );
  console.log(
    `self time in dist/: ${total.toFixed(0)} ms, ${never.toFixed(0)} ms of it in functions never optimised; V8 optimised ${optimised.size} functions (of any file)`,
  );
  console.log('  self ms  what V8 did                                function');
  for (const [k, v] of rows.slice(0, Number(process.env.TOP) || 40))
    console.log(`${v.toFixed(1).padStart(9)}  ${status(k.split('\t')[0]).padEnd(42)} ${k.replace('\t', '  ')}`);
  const reasons = new Map();
  for (const r of deopts.values()) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  console.log(`deoptimisations by reason (any file): ${[...reasons].map(([r, n]) => `${r} ×${n}`).join(', ') || 'none'}`);
}

/** Polymorphic and megamorphic property accesses in dist/ from a --log-ic log (each IC's pc mapped to its code object). */
function inlineCaches(tmp) {
  const log = path.join(tmp, 'ic.log');
  runChild(['--log-ic', `--logfile=${log}`, '--no-logfile-per-isolate'], 3);
  const codes = [];
  const seen = new Set();
  for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
    const f = line.split(',');
    if (f[0] === 'code-creation') {
      const start = parseInt(f[4], 16);
      codes.push([start, start + Number(f[5]), f.slice(6).join(',')]);
    } else if (/IC$/.test(f[0]) && (f[6] === 'P' || f[6] === 'N')) {
      const pc = parseInt(f[1], 16);
      let fn = '?';
      for (let i = codes.length - 1; i >= 0; i--) if (pc >= codes[i][0] && pc < codes[i][1]) ((fn = codes[i][2]), (i = 0));
      if (!fn.includes(`${dist}/`)) continue;
      const key = `${f[6]} ${f[0].padEnd(12)} ${fn.split(`${dist}/`)[1].split(',')[0]} line ${f[3]} col ${f[4]} key ${f[8]}`;
      seen.add(key);
    }
  }
  console.log(`\npolymorphic (P) and megamorphic (N) accesses in dist/ (${mode}, 160 attaches):`);
  for (const k of [...seen].sort()) console.log(`  ${k}`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-tiering-'));
try {
  tiering(tmp);
  if (ic) inlineCaches(tmp);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
