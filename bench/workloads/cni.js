'use strict';
/**
 * CNI ADD and DEL latency per container, a fresh process per call as a
 * runtime runs plugins: nlkit-cni against the reference bridge + host-local +
 * portmap chain for the same configuration (a bridge, a /24, masquerade, one
 * published port), both driven by the libcni driver of the conformance tests
 * (test/cni/driver, built here with the packaged Go) inside a bench host
 * namespace. Node's share: the same calls' start-up alone (`node -e 0`, and
 * nlkit-cni's VERSION, which loads the plugin and answers without touching
 * the network), and `ip netns exec` + the driver, which both variants pay.
 * Needs golang-go, golang-github-appc-cni-dev and containernetworking-plugins
 * (scripts/test.sh installs them); skipped without them.
 */
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { summarize } = require('../lib/stats');

const N = 10;
const ROOT = path.resolve(__dirname, '..', '..');
const REFERENCE = '/usr/lib/cni';
const ADD = 'CNI ADD, one container (fresh plugin processes, libcni driver)';
const DEL = 'CNI DEL, one container';
const START = 'process start-up alone (per call)';
const NLKIT = 'nlkit-cni';
const REF = 'reference bridge + host-local + portmap';

function run(cmd, args, env, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr}`))));
    child.stdin.end(input ?? '');
  });
}

/** Runs `run` warmup + runs times; records ms per item (`per`). */
async function timed(ctx, spec) {
  const samples = [];
  for (let i = 0; i < spec.warmup + spec.runs; i++) {
    if (spec.setup) await spec.setup();
    const t0 = process.hrtime.bigint();
    await spec.run();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (spec.teardown) await spec.teardown();
    if (i >= spec.warmup) samples.push(ms / spec.per);
  }
  return ctx.record({
    group: spec.group,
    variant: spec.variant,
    impl: spec.impl,
    kind: 'time',
    unit: 'ms',
    runs: spec.runs,
    warmup: spec.warmup,
    ...summarize(samples),
  });
}

module.exports = {
  name: 'cni',
  order: 55,
  description: 'CNI plugin: ADD and DEL per container, nlkit-cni vs the reference bridge + host-local + portmap, a fresh process per call (libcni driver)',

  async run(ctx) {
    if (!fs.existsSync(path.join(REFERENCE, 'portmap')) || !fs.existsSync('/usr/share/gocode/src/github.com/containernetworking/cni/libcni')) {
      ctx.log('  skipped: containernetworking-plugins and golang-github-appc-cni-dev are not installed');
      return;
    }
    const host = await ctx.netns('cnihost');
    const containers = [];
    for (let i = 0; i < N; i++) containers.push(await ctx.netns(`cnic${i}`));
    const dir = path.dirname(ctx.tmpFile('.keep', ''));
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(path.join(ROOT, 'bin', 'nlkit-cni.js'), path.join(bin, 'nlkit-cni'));
    const driver = path.join(dir, 'driver');
    execFileSync('go', ['build', '-o', driver, '.'], {
      cwd: path.join(ROOT, 'test', 'cni', 'driver'),
      env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: path.join(dir, 'gocache'), GOFLAGS: '' },
      stdio: 'pipe',
    });
    const env = { ...process.env, CNI_PATH: `${bin}:${REFERENCE}`, CNI_CACHE_DIR: path.join(dir, 'cache') };
    const conflists = {
      [NLKIT]: ctx.tmpFile(
        'nlkit.conflist',
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'benchnlk',
          plugins: [
            {
              type: 'nlkit-cni',
              bridge: 'cnibr0',
              isGateway: true,
              ipMasq: true,
              stateDir: path.join(dir, 'state'),
              capabilities: { portMappings: true },
              ipam: { subnet: '10.91.0.0/24' },
            },
          ],
        }),
      ),
      [REF]: ctx.tmpFile(
        'ref.conflist',
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'benchref',
          plugins: [
            {
              type: 'bridge',
              bridge: 'cnibr1',
              isGateway: true,
              ipMasq: true,
              ipam: { type: 'host-local', subnet: '10.92.0.0/24', dataDir: path.join(dir, 'host-local') },
            },
            { type: 'portmap', capabilities: { portMappings: true }, snat: true },
          ],
        }),
      ),
    };
    const drive = (variant, cmd, i) =>
      run(
        'ip',
        [
          'netns',
          'exec',
          host,
          driver,
          cmd,
          conflists[variant],
          `bench${i}`,
          `/run/netns/${containers[i]}`,
          'eth0',
          JSON.stringify({ portMappings: [{ hostPort: 20000 + i, containerPort: 80, protocol: 'tcp' }] }),
        ],
        env,
      );
    const runs = ctx.quick ? 1 : ctx.runs;
    const warmup = ctx.quick ? 0 : ctx.warmup;
    for (const variant of [NLKIT, REF]) {
      const impl = variant === NLKIT ? 'nlkit' : 'alternative';
      let added = false;
      const addAll = async () => {
        for (let i = 0; i < N; i++) await drive(variant, 'add', i);
        added = true;
      };
      const delAll = async () => {
        for (let i = 0; i < N; i++) await drive(variant, 'del', i);
        added = false;
      };
      await timed(ctx, { group: ADD, variant, impl, runs, warmup, per: N, run: addAll, teardown: delAll });
      await timed(ctx, { group: DEL, variant, impl, runs, warmup, per: N, setup: addAll, run: delAll });
      if (added) await delAll();
    }
    // a resident agent: the same calls in one process that loaded nlkit-cni once (what a thin plugin talking to it would add: one local round trip)
    const agentConf = JSON.stringify({
      ...JSON.parse(fs.readFileSync(conflists[NLKIT], 'utf8')).plugins[0],
      cniVersion: '1.0.0',
      name: 'benchagent',
      bridge: 'cnibr2',
      ipam: { subnet: '10.93.0.0/24' },
    });
    const agent = JSON.parse(
      execFileSync(
        'ip',
        ['netns', 'exec', host, process.execPath, path.join(ROOT, 'bench', 'lib', 'cni-resident.js'), agentConf, ...containers.map((c) => `/run/netns/${c}`)],
        { encoding: 'utf8' },
      ),
    );
    ctx.record({
      group: ADD,
      variant: 'nlkit-cni in a resident process (no start-up: what an agent would pay)',
      impl: 'nlkit',
      kind: 'time',
      unit: 'ms',
      runs: N,
      warmup: N,
      ...summarize(agent.add),
    });
    ctx.record({
      group: DEL,
      variant: 'nlkit-cni in a resident process (no start-up: what an agent would pay)',
      impl: 'nlkit',
      kind: 'time',
      unit: 'ms',
      runs: N,
      warmup: N,
      ...summarize(agent.del),
    });
    // what every call pays before doing any work
    const startN = async (cmd, args, input, callEnv = env) => {
      for (let i = 0; i < N; i++) await run(cmd, args, callEnv, input);
    };
    const start = (variant, impl, fn) => timed(ctx, { group: START, variant, impl, runs, warmup, per: N, run: fn });
    const version = { ...env, CNI_COMMAND: 'VERSION' };
    await start('`node -e 0`', 'nlkit', () => startN(process.execPath, ['-e', '0']));
    await start('nlkit-cni VERSION (start-up, loads only what VERSION needs)', 'nlkit', () =>
      startN(process.execPath, [path.join(ROOT, 'bin', 'nlkit-cni.js')], '{"cniVersion":"1.0.0"}', version),
    );
    await start('node loading what ADD needs from the unbundled dist/ (`require` of the networks layer, no call)', 'nlkit', () =>
      startN(process.execPath, ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist', 'cni', 'add.js'))})`]),
    );
    await start('bridge VERSION (Go plugin)', 'alternative', () => startN(path.join(REFERENCE, 'bridge'), [], '{"cniVersion":"1.0.0"}', version));
  },
};
