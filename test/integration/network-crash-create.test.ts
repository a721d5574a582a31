// A create that a dead process left halfway, met by the next create or by a
// reconcile running at the same time (CNI: an ADD and a GC): the next create
// must not take the half-built record for the network, and a concurrent
// reconcile must not delete the network that create has just built. The
// fixture process is SIGKILLed at each step boundary of create
// (NLKIT_FAULT_AFTER_STEP=create:<n>, see network-crash.test.ts); the
// kernel is read back with ip -j and nft -j, next to foreign state (a bridge
// made by ip, a table written by nft) that must stay.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNetns, deleteNetns } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ip, ipJson, requireRoot, uniqueNetnsName } from '../helpers/netns';
import { nftLoad, nftObjects, nftRuleLines } from '../helpers/nft';

const root = path.resolve(__dirname, '..', '..');
const NET = { name: 'crash', subnet: '10.77.0.0/24' };
/** The boundaries after the network is recorded and before it is complete (network-crash.test.ts: create has 5). */
const HALF_BUILT_STEPS = [2, 3, 4, 5];

/** Runs the crash fixture's create in its own network namespace, killed after `step`. */
function crashCreate(host: string, stateDir: string, step: number): void {
  const r = spawnSync('unshare', ['-n', process.execPath, 'test/fixtures/network-crash.cjs', host, stateDir, 'create', `${host}-s-`], {
    cwd: root,
    env: { ...process.env, NLKIT_FAULT_AFTER_STEP: `create:${String(step)}` },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

/** The network is complete in the kernel: bridge up with its gateway, nlkit's firewall naming it, foreign state untouched. */
function expectBuilt(host: string, label: string): void {
  const bridge = ipJson(host, '-d', 'addr', 'show', 'nlk-crash');
  expect(bridge, `${label}: bridge`).toHaveLength(1);
  expect(bridge[0].linkinfo.info_kind, label).toBe('bridge');
  expect(
    bridge[0].addr_info.map((a: { local: string }) => a.local),
    `${label}: gateway address`,
  ).toContain('10.77.0.1');
  expect(
    nftObjects(host, 'table').map((t) => `${t.family} ${t.name}`),
    `${label}: tables`,
  ).toEqual(expect.arrayContaining(['inet nlkit', 'inet foreign']));
  expect(nftRuleLines(host, 'inet', 'nlkit').join('\n'), `${label}: firewall rules for the bridge`).toContain('nlk-crash');
  expect(ipJson(host, 'link', 'show', 'foreign0'), `${label}: foreign link`).toHaveLength(1);
}

/** A host namespace with foreign state and a state directory of its own, both removed afterwards (also on failure). */
async function withHost(fn: (host: string, stateDir: string, open: () => Promise<NetworkManager>) => Promise<void>): Promise<void> {
  const host = uniqueNetnsName('cc');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-crash-create-'));
  const opened: NetworkManager[] = [];
  await createNetns(host);
  try {
    ip(host, 'link', 'add', 'foreign0', 'type', 'bridge');
    nftLoad(host, 'table inet foreign {\n chain keep {\n  type filter hook forward priority 0;\n  counter accept\n }\n}\n');
    await fn(host, stateDir, async () => {
      const m = await networks({ host, stateDir });
      opened.push(m);
      return m;
    });
  } finally {
    await opened[0]?.delete('crash', { missingOk: true }).catch(() => undefined);
    for (const m of opened) m.close();
    await deleteNetns(host, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

describe('network manager: create after a create that died halfway', () => {
  it('builds the network anew instead of returning the half-built record', async () => {
    requireRoot();
    expect(fs.existsSync(path.join(root, 'dist', 'index.js')), 'npm run build:ts first (npm test does)').toBe(true);
    for (const step of HALF_BUILT_STEPS) {
      const label = `create killed after step ${String(step)}, then created again`;
      await withHost(async (host, stateDir, open) => {
        crashCreate(host, stateDir, step);
        const nets = await open();
        const net = await nets.create(NET);
        expect(net.bridge, label).toBe('nlk-crash');
        expectBuilt(host, label);
        expect(await nets.check(), `${label}: nothing left to reconcile`).toEqual([]);
      });
    }
  }, 120_000);

  it('a reconcile at the same time (CNI GC) does not delete the network a concurrent create built', async () => {
    requireRoot();
    for (const step of [2, 4]) {
      const label = `create killed after step ${String(step)}, then create and reconcile at once`;
      await withHost(async (host, stateDir, open) => {
        crashCreate(host, stateDir, step);
        const adder = await open();
        const collector = await open();
        await Promise.all([collector.reconcile(), adder.create(NET)]);
        expectBuilt(host, label);
        expect(await adder.find('crash'), label).toBeDefined();
        expect(await collector.check(), label).toEqual([]);
      });
    }
  }, 120_000);
});
