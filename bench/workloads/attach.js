'use strict';
/**
 * Container attach and teardown, 50 sandboxes: `nets.attach()` (veth pair
 * with the peer created directly in the sandbox, hairpin, IPAM address,
 * loopback and interface up, default route, state recorded) into existing
 * namespaces and into namespaces nlkit creates, against the same plumbing
 * done by spawning `ip` from Node, by nlkit's low-level API and by the Go
 * peer (both without IPAM, state or hairpin); then tearing the 50 down with
 * `nets.detach(network, ids)` (one bulk delete), `nets.detach()` one by one, and
 * `ip link del` per sandbox.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { summarize } = require('../lib/stats');
const { go, runPeer } = require('../peers/peers');
const { plumbSandbox } = require('../lib/attach-plumb');
const { alternate, roundsResult, ratioAtMost } = require('../lib/rounds');

const N = 50;
const ATTACH = 'attach one sandbox (per sandbox, 50 attached per run)';
const NETNS = 'create and delete a network namespace (per namespace, 50 per run)';
const TEARDOWN = 'tear down 50 sandboxes (total)';
const SEQ = 'nlkit, `nets.attach()`, existing namespace, one after another';
const SEQ_CREATE = 'nlkit, `nets.attach({ create: true })`, namespace created by nlkit, one after another';
const BULK = 'nlkit, `nets.detach(network, ids)` (one bulk delete)';
const LOW =
  "nlkit's low-level API, the Go peer's plumbing (a fresh handle in each sandbox; veth with its peer created there, master/up; lo up, address, up, default route)";
// The row's definition before links.add() resolved to the peer's index (issue #14, attach-echo), kept for comparison.
const LOW_GET =
  "nlkit's low-level API, the same plumbing as the row's earlier definition (eth0's index read back with `links.get('eth0')`, the sandbox in two rounds)";
const GO =
  'Go vishvananda/netlink, the same plumbing (veth with its peer created in the sandbox, master/up; in the sandbox: lo up, address, up, default route)';

/** Runs `run` warmup + runs times; records ms per item (`per`) or the total. */
async function timed(ctx, spec) {
  const samples = [];
  const runs = spec.runs ?? ctx.runs;
  const warmup = spec.warmup ?? ctx.warmup;
  for (let i = 0; i < warmup + runs; i++) {
    if (spec.setup) await spec.setup();
    const t0 = process.hrtime.bigint();
    const own = await spec.run();
    // A peer that times itself (spec.selfTimed) returns its time; any other resolved value is ignored.
    const ms = spec.selfTimed ? own : Number(process.hrtime.bigint() - t0) / 1e6;
    if (spec.teardown) await spec.teardown();
    if (i >= warmup) samples.push(ms / (spec.per ?? 1));
  }
  return ctx.record({
    group: spec.group,
    variant: spec.variant,
    impl: spec.impl ?? 'nlkit',
    kind: 'time',
    unit: 'ms',
    runs,
    warmup,
    note: spec.note,
    ...summarize(samples),
  });
}

module.exports = {
  name: 'attach',
  order: 50,
  description: 'container networks: attach 50 sandboxes (veth into the sandbox, address, routes) and tear them down, vs the same with `ip` spawned from Node',

  async run(ctx) {
    const { nlkit } = ctx;
    const host = await ctx.netns('athost');
    const sandboxes = [];
    for (let i = 0; i < N; i++) sandboxes.push(await ctx.netns(`sb${i}`));
    // Namespaces nlkit creates on attach: the runner's prefix and pid, so a killed run's are removed at the next start.
    const owned = Array.from({ length: N }, (_, i) => `nlbench-${process.pid}-own${i}`);
    // nlkit keeps its state under /run/nlkit by default, a tmpfs on a normal host (not in this
    // container): the state goes to a tmpfs here too, and one variant keeps it on ext4.
    const stateDir = fs.mkdtempSync(path.join(tmpfsDir(), 'nlbench-state-'));
    const diskDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-state-'));
    const nets = await nlkit.networks({ host, stateDir });
    const host2 = await ctx.netns('athost2');
    const diskNets = await nlkit.networks({ host: host2, stateDir: diskDir });
    const runs = ctx.quick ? 2 : 5;
    const slow = { runs: ctx.quick ? 1 : 3, warmup: ctx.quick ? 0 : 1 };
    try {
      await nets.create({ name: 'bench', subnet: '10.78.0.0/16' });
      const attachAll = async () => {
        for (const sandbox of sandboxes) await nets.attach('bench', { sandbox });
      };
      const attachOwned = async () => {
        for (const sandbox of owned) await nets.attach('bench', { sandbox, create: true });
      };
      const detachAll = () => nets.detachAll('bench');

      await diskNets.create({ name: 'bench', subnet: '10.78.0.0/16' });
      // The rows the Go targets compare, alternated round by round (bench/lib/rounds.js).
      await alternatedWithGo(ctx, { host, sandboxes, attachAll, detachAll });
      await timed(ctx, {
        group: ATTACH,
        variant: 'nlkit, `nets.attach()`, existing namespace, one after another, state on ext4',
        per: N,
        runs,
        note: "IPAM and state files on this machine's ext4 instead of a tmpfs: a write-and-rename of the IPAM file costs ~0.14 ms there",
        run: async () => {
          for (const sandbox of sandboxes) await diskNets.attach('bench', { sandbox });
        },
        teardown: () => diskNets.detachAll('bench'),
      });
      await timed(ctx, {
        group: ATTACH,
        variant: 'nlkit, `nets.attach()`, existing namespace, 50 concurrent calls',
        per: N,
        runs,
        run: () => Promise.all(sandboxes.map((sandbox) => nets.attach('bench', { sandbox }))),
        teardown: detachAll,
      });
      await timed(ctx, {
        group: ATTACH,
        variant: SEQ_CREATE,
        per: N,
        runs,
        note: 'includes creating the namespace (see the namespace table); detaching deletes it, and the kernel frees deleted namespaces in the background (cleanup_net), so each run starts 2 s after the previous teardown',
        run: attachOwned,
        teardown: async () => {
          await detachAll();
          await new Promise((r) => setTimeout(r, 2000));
        },
      });

      // The same plumbing with `ip`, one process per step, awaited in turn (a sample of sandboxes).
      const few = ctx.quick ? 3 : 10;
      const ipAttach = async (sb, i) => {
        const hostIf = `hv${i}`;
        await ctx.ipQuiet(host, ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sb]);
        await ctx.ipQuiet(host, ['link', 'set', hostIf, 'master', 'nlk-bench', 'up']);
        await ctx.ipQuiet(sb, ['link', 'set', 'lo', 'up']);
        await ctx.ipQuiet(sb, ['addr', 'add', `10.78.1.${i + 1}/16`, 'dev', 'eth0']);
        await ctx.ipQuiet(sb, ['link', 'set', 'eth0', 'up']);
        await ctx.ipQuiet(sb, ['route', 'add', 'default', 'via', '10.78.0.1']);
      };
      const ipDetach = async () => {
        for (let i = 0; i < few; i++) await ctx.ipQuiet(host, ['link', 'del', `hv${i}`]).catch(() => undefined);
      };
      await timed(ctx, {
        group: ATTACH,
        variant: '`ip` spawned per step (6 per sandbox: veth into the sandbox, master/up, lo up, address, up, route)',
        impl: 'alternative',
        per: few,
        ...slow,
        note: `measured on ${few} sandboxes and reported per sandbox; no IPAM, no state, no hairpin`,
        run: async () => {
          for (let i = 0; i < few; i++) await ipAttach(sandboxes[i], i);
        },
        teardown: ipDetach,
      });

      // The row's earlier definition (two rounds in the sandbox), not a target row: measured on its own.
      const lowHost = await nlkit.open({ netns: host });
      try {
        await timed(ctx, {
          group: ATTACH,
          variant: LOW_GET,
          per: N,
          runs,
          note: 'bench/lib/attach-plumb.js with `readBack: true`; not the target row',
          run: async () => {
            for (let i = 0; i < N; i++) await plumbSandbox(nlkit, lowHost, sandboxes[i], i, { readBack: true });
          },
          teardown: async () => {
            for (let i = 0; i < N; i++) await lowHost.links.delete(`lv${i}`, { missingOk: true });
          },
        });
      } finally {
        lowHost.close();
      }

      // Namespace creation on its own (nlkit creates it with unshare + bind mount, no process).
      await timed(ctx, {
        group: NETNS,
        variant: 'nlkit, `createNetns()` (then `deleteNetns()`, untimed)',
        per: N,
        runs,
        run: async () => {
          for (const name of owned) await nlkit.createNetns(name);
        },
        teardown: async () => {
          for (const name of owned) await nlkit.deleteNetns(name, { missingOk: true });
        },
      });
      await timed(ctx, {
        group: NETNS,
        variant: '`ip netns add` spawned per namespace',
        impl: 'alternative',
        per: few,
        ...slow,
        note: `measured on ${few} namespaces`,
        run: async () => {
          for (let i = 0; i < few; i++) await spawnIp(['netns', 'add', owned[i]]);
        },
        teardown: async () => {
          for (let i = 0; i < few; i++) await nlkit.deleteNetns(owned[i], { missingOk: true });
        },
      });

      // Teardown of 50 attached sandboxes.
      const ids = sandboxes.slice();
      await timed(ctx, {
        group: TEARDOWN,
        variant: BULK,
        runs,
        setup: attachAll,
        run: () => nets.detach('bench', ids),
      });
      await timed(ctx, {
        group: TEARDOWN,
        variant: 'nlkit, `nets.detach(network, ids)`, namespaces created by nlkit (deleted with them)',
        runs,
        setup: attachOwned,
        run: () => nets.detach('bench', owned),
      });
      await timed(ctx, {
        group: TEARDOWN,
        variant: 'nlkit, `nets.detach()` one after another',
        ...slow,
        note: 'each veth delete costs the kernel ~20 ms (synchronize_net)',
        setup: attachAll,
        run: async () => {
          for (const sandbox of sandboxes) await nets.detach('bench', sandbox);
        },
      });
      await timed(ctx, {
        group: TEARDOWN,
        variant: '`ip link del` spawned per sandbox',
        impl: 'alternative',
        ...slow,
        note: 'the veths are then gone; the state is cleaned up untimed',
        setup: attachAll,
        run: async () => {
          for (let i = 0; i < N; i++) await ctx.ipQuiet(sandboxes[i], ['link', 'del', 'eth0']);
        },
        teardown: detachAll,
      });
    } finally {
      await nets.delete('bench').catch(() => undefined);
      nets.close();
      await diskNets.delete('bench').catch(() => undefined);
      diskNets.close();
      fs.rmSync(diskDir, { recursive: true, force: true });
      for (const name of owned) await nlkit.deleteNetns(name, { missingOk: true }).catch(() => undefined);
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  },

  targets: [
    {
      text: "the Go peer's plumbing with the low-level API ≤ 1.5× Go vishvananda/netlink (existing namespace)",
      evaluate: (r) => ratioAtMost(r(LOW), r(GO), 1.5),
    },
    {
      text: 'attach ≤ 1.5× Go vishvananda/netlink doing the same (existing namespace)',
      evaluate: (r) => ratioAtMost(r(SEQ), r(GO), 1.5),
    },
    {
      text: 'attach ≤ 2 ms per sandbox (existing namespace)',
      evaluate: (r) => atMost(r(SEQ), 2),
      limit: 'see the notes below',
    },
    {
      text: 'attach ≤ 2 ms per sandbox, namespace created by nlkit included',
      evaluate: (r) => atMost(r(SEQ_CREATE), 2),
      limit:
        "creating the namespace adds ~0.45 ms (unshare on a thread and a bind mount; see the namespace table) to the ~1.7 ms attach, and deleting it on detach runs between the timed runs; the issue's 2 ms target is met for the attach itself (existing namespace)",
    },
    {
      text: 'teardown of 50 sandboxes ≤ 250 ms in total',
      evaluate: (r) => atMost(r(BULK), 250),
      limit: 'see the notes below',
    },
  ],
};

/**
 * `nets.attach()`, the low-level plumbing and the Go peer (the rows the Go targets compare), in
 * alternated rounds: each round attaches the 50 sandboxes with each of them in turn (the order reversed
 * every other round), so each ratio compares runs seconds apart, not the two ends of the workload
 * (bench/lib/rounds.js). One warm-up round; per round one sample each (ms per sandbox).
 */
async function alternatedWithGo(ctx, { host, sandboxes, attachAll, detachAll }) {
  const { nlkit } = ctx;
  const rounds = ctx.quick ? 2 : 7;
  const perSandbox = async (work) => {
    const t0 = process.hrtime.bigint();
    await work();
    return [Number(process.hrtime.bigint() - t0) / 1e6 / N];
  };
  const vish = go(ctx.log);
  const paths = sandboxes.map((sb) => path.join(nlkit.NETNS_RUN_DIR, sb));
  // Exactly the Go peer's plumbing with the low-level API (bench/lib/attach-plumb.js): per sandbox the
  // namespace file and a fresh handle in it, as Go's NewHandleAt; the host handle is opened once, as Go's
  // process lives in the host namespace (its package handle makes a socket per request there).
  const lowHost = await nlkit.open({ netns: host });
  try {
    const batches = [
      async () => {
        const s = await perSandbox(attachAll);
        await detachAll();
        return s;
      },
      async () => {
        const s = await perSandbox(async () => {
          for (let i = 0; i < N; i++) await plumbSandbox(nlkit, lowHost, sandboxes[i], i);
        });
        for (let i = 0; i < N; i++) await lowHost.links.delete(`lv${i}`, { missingOk: true });
        return s;
      },
    ];
    // The Go program times each attach itself (process start and its untimed deletes not counted).
    if (vish.bin)
      batches.push(async () => {
        const out = await runPeer(host, vish.bin, ['attach', 'nlk-bench', '10.78.0.1', ...paths]);
        return [out.ms.reduce((a, b) => a + b, 0) / out.ms.length];
      });
    const [seq, low, gop] = await alternate(rounds, 1, batches);
    const row = (variant, impl, entry, note) =>
      ctx.record({ group: ATTACH, variant, impl, kind: 'time', unit: 'ms', runs: rounds, warmup: 1, note, ...roundsResult(entry) });
    row(SEQ, 'nlkit', seq, 'alternated round by round with the two rows the Go targets compare it with');
    row(
      LOW,
      'nlkit',
      low,
      "bench/lib/attach-plumb.js; the sandbox handle `open({ netns, shortLived: true })`; eth0 named by the peer's index links.add() resolves to, the sandbox in one round; no IPAM, no state, no hairpin, like the Go peer; alternated round by round with the Go peer",
    );
    if (gop)
      row(
        GO,
        'alternative',
        gop,
        'timed by the Go program around each attach (process start not counted); no IPAM, no state, no hairpin; alternated round by round with the nlkit rows',
      );
  } finally {
    lowHost.close();
  }
}

/** A tmpfs for state files, like /run on a normal host; the temporary directory if there is none. */
function tmpfsDir() {
  try {
    const st = fs.statfsSync('/dev/shm');
    if (st.type === 0x01021994) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return os.tmpdir();
}

/** `ip netns add` has to run in the root namespace (it creates the namespace): only names of this run. */
function spawnIp(args) {
  const { spawn } = require('node:child_process');
  if (!String(args[2]).startsWith(`nlbench-${process.pid}-`)) throw new Error('bench: refusing to add a namespace not of this run');
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip ${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

function atMost(result, max) {
  if (!result) return { met: false, value: 'not measured' };
  return { met: result.median <= max, value: `${result.median.toFixed(2)} ms` };
}
