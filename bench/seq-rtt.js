'use strict';
/**
 * The cost of one awaited call (issue #14), for A/B runs of builds on a busy machine:
 * `node bench/seq-rtt.js [dist dir ...]` (default: this checkout's dist/).
 * For each build, in turn, a new process creates a namespace with a bridge and runs
 * ROUNDS (default 3) rounds of: N (default 2,000) routes added one after another, each
 * awaited, then deleted the same way (the route-churn "sequential" row's pattern), and
 * N awaited `links.get('lo')`. It prints per call: wall µs, CPU µs of the whole process
 * (process.cpuUsage(), all threads), the event loop thread's CPU and the voluntary
 * context switches (a thread going to sleep: a wake-up to pay later) of the event loop
 * and of the other threads, and the load average. The builds alternate REPEAT times
 * (default 3); the last round of each process is kept (the first ones warm up V8).
 * A build given as `DIR:nopoll` runs with NLKIT_LOOP_SPIN_US=0 (no event-loop poll after a send),
 * so `node bench/seq-rtt.js OLD/dist dist dist:nopoll` alternates three variants.
 * NOCONTEND=1 makes the event loop's bounded poll (lib/netlink/loop-poll.ts) ignore the
 * contention rule, to see its mechanism on a loaded machine; the I/O thread's own spin
 * still obeys it. NS_TAG=t names the namespaces nlbench-t-PID-seq.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N = Number(process.env.N) || 2000;
const ROUNDS = Number(process.env.ROUNDS) || 3;
const REPEAT = Number(process.env.REPEAT) || 3;

/** Voluntary context switches of the event loop thread and of all the others, and the loop thread's CPU ns. */
function threads() {
  let main = 0;
  let others = 0;
  for (const t of fs.readdirSync('/proc/self/task')) {
    let status;
    try {
      status = fs.readFileSync(`/proc/self/task/${t}/status`, 'utf8');
    } catch {
      continue; // the thread exited
    }
    const v = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]);
    if (t === String(process.pid)) main += v;
    else others += v;
  }
  const loopNs = Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  return { main, others, loopNs };
}

async function timed(calls, fn) {
  const a = threads();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1000 / calls;
  const c = process.cpuUsage(c0);
  const b = threads();
  return {
    wall,
    cpu: (c.user + c.system) / calls,
    loopCpu: (b.loopNs - a.loopNs) / 1000 / calls,
    loopSleeps: (b.main - a.main) / calls,
    otherSleeps: (b.others - a.others) / calls,
  };
}

/** One build's measurement, in this process (the child side). */
async function measure(dist) {
  const nl = require(path.resolve(dist, 'index.js'));
  if (process.env.NOCONTEND === '1') require(path.resolve(dist, 'native/binding.js')).native().cpusContended = () => false;
  const ns = `nlbench-${process.env.NS_TAG ? `${process.env.NS_TAG}-` : ''}${process.pid}-seq`;
  await nl.createNetns(ns);
  const h = await nl.open({ netns: ns });
  const out = {};
  try {
    await h.links.add({ name: 'd0', kind: 'bridge', up: true });
    const link = (await h.links.get('d0')).index;
    const routes = Array.from({ length: N }, (_, i) => ({ dst: `10.64.${(i >> 8) & 255}.${i & 255}/32`, link }));
    for (let r = 0; r < ROUNDS; r++) {
      out.churn = await timed(2 * N, async () => {
        for (const x of routes) await h.routes.add(x);
        for (const x of routes) await h.routes.delete(x);
      });
      out.get = await timed(N, async () => {
        for (let i = 0; i < N; i++) await h.links.get('lo');
      });
    }
  } finally {
    h.close();
    await nl.deleteNetns(ns);
  }
  return out;
}

function row(name, m) {
  const f = (x) => x.toFixed(1).padStart(6);
  return `${name.padEnd(28)} wall ${f(m.wall)} µs  cpu ${f(m.cpu)} µs  loop cpu ${f(m.loopCpu)} µs  sleeps/call loop ${m.loopSleeps.toFixed(2)} others ${m.otherSleeps.toFixed(2)}`;
}

async function main() {
  if (process.argv[2] === '--child') {
    process.stdout.write(JSON.stringify(await measure(process.argv[3])));
    return;
  }
  const builds = process.argv.length > 2 ? process.argv.slice(2) : [path.join(__dirname, '..', 'dist')];
  const results = new Map(builds.map((b) => [b, []]));
  for (let i = 0; i < REPEAT; i++) {
    for (const b of builds) {
      const load = os.loadavg()[0].toFixed(2);
      const [dir, variant] = b.split(':');
      const env = variant === 'nopoll' ? { ...process.env, NLKIT_LOOP_SPIN_US: '0' } : process.env;
      const m = JSON.parse(execFileSync(process.execPath, [__filename, '--child', dir], { encoding: 'utf8', env }));
      results.get(b).push(m);
      console.log(`[${b}] load ${load}`);
      console.log(`  ${row('routes add+delete, awaited', m.churn)}`);
      console.log(`  ${row("links.get('lo'), awaited", m.get)}`);
    }
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  console.log(`\nmedians of ${REPEAT} (load now ${os.loadavg()[0].toFixed(2)}):`);
  for (const [b, ms] of results) {
    for (const k of ['churn', 'get']) {
      const m = {};
      for (const f of Object.keys(ms[0][k])) m[f] = median(ms.map((x) => x[k][f]));
      const [dir, variant] = b.split(':');
      const name = `${path.basename(path.dirname(path.resolve(dir)))}${variant ? `:${variant}` : ''}`;
      console.log(`  ${row(`${k === 'churn' ? 'routes' : 'links.get'} ${name}`, m)}`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
