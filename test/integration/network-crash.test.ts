// Crash safety by the intent journal, proven by fault injection: for each
// operation (create, attach, detach, publish, unpublish, setBackends with
// weights, delete, and attach/detach of a sandbox on two networks) and each
// of its step boundaries, a fixture process performing it is SIGKILLed there
// (NLKIT_FAULT_AFTER_STEP=<op>:<n>). Then, in this process: check() reports
// the interrupted operation, reconcile() finishes or undoes it, and the
// kernel (read with ip -j and nft -j), the state and the leases agree —
// nothing leaked — and the operation can be done again. Foreign state (a
// link added with ip, a table added with nft) is left alone throughout.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, NETNS_RUN_DIR } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { runFaultFixture, type FixtureRun } from '../helpers/fault-fixture';
import { ip, ipJson, requireRoot } from '../helpers/netns';
import { nftLoad, nftObjects, nftRuleLines } from '../helpers/nft';

const root = path.resolve(__dirname, '..', '..');
const NETS = [
  { name: 'crash', subnet: '10.77.0.0/24' },
  { name: 'crash2', subnet: '10.78.0.0/24' },
];
/**
 * The fixture's operations: the fault hook's operation (whose steps are counted: in the multi-network cases the
 * setup's attaches count too, so every boundary of both attaches is cut), the interrupted-* kind check() reports,
 * and the step boundaries (the fixture runs to completion past the last one: checked below).
 */
const CASES = {
  create: { fault: 'create', kind: 'create', steps: 5 },
  attach: { fault: 'attach', kind: 'attach', steps: 4 },
  detach: { fault: 'detach', kind: 'detach', steps: 6 },
  publish: { fault: 'publish', kind: 'publish', steps: 3 },
  unpublish: { fault: 'unpublish', kind: 'unpublish', steps: 3 },
  backends: { fault: 'backends', kind: 'publish', steps: 3 },
  'attach-multi': { fault: 'attach', kind: 'attach', steps: 7 },
  'detach-multi': { fault: 'detach', kind: 'detach', steps: 6 },
  delete: { fault: 'delete', kind: 'delete', steps: 6 },
} as const;
type Op = keyof typeof CASES;
const OPS = Object.keys(CASES) as Op[];

type Run = FixtureRun;

/** Runs the fixture in its own network namespace (unshare -n), with the fault hook set. */
function runFixture(args: string[], fault: string): Promise<Run> {
  return runFaultFixture('unshare', ['-n', process.execPath, 'test/fixtures/network-crash.cjs', ...args], fault);
}

let serial = 0;

/** The kernel, the state and the leases agree; nothing of nlkit's is left that the state does not name. */
async function expectConsistent(nets: NetworkManager, host: string, stateDir: string, tag: string, label: string): Promise<void> {
  expect(await nets.check(), label).toEqual([]);
  const st = await nets.state();
  const atts = NETS.flatMap((n) => Object.values(st.attachments[n.name] ?? {}));
  for (const { name } of NETS) {
    // leases = recorded attachments, per network
    const mine = Object.values(st.attachments[name] ?? {});
    const leaseFile = path.join(stateDir, 'ipam', `${name}.json`);
    const owners = fs.existsSync(leaseFile) ? Object.values(JSON.parse(fs.readFileSync(leaseFile, 'utf8')).allocations as Record<string, string>) : [];
    expect([...new Set(owners)].sort(), `${label}: leases of ${name}`).toEqual(mine.map((a) => a.id).sort());
    expect(owners.length, `${label}: one lease per attachment of ${name}`).toBe(mine.length);
  }
  // host veths (ip -j) = recorded attachments
  const veths = ipJson(host, 'link', 'show', 'type', 'veth').map((l: any) => l.ifname as string);
  expect(veths.sort(), `${label}: host veths`).toEqual(atts.map((a) => a.hostIfname).sort());
  // namespaces made by attach({ create: true }) exist only for recorded attachments, each owned by one of them
  const made = fs.readdirSync(NETNS_RUN_DIR).filter((n) => n.startsWith(tag));
  const owned = atts.filter((a) => a.ownsSandbox).map((a) => a.sandboxName);
  expect(made.sort(), `${label}: namespaces`).toEqual([...new Set(owned)].sort());
  expect(owned.length, `${label}: one owner per namespace`).toBe(new Set(owned).size);
  // each sandbox's default route (if any) goes through the gateway of the attachment that has it
  for (const sandbox of made) {
    const withRoute = atts.filter((a) => a.sandboxName === sandbox && a.defaultRoute);
    expect(withRoute.length, `${label}: at most one default route of ${sandbox}`).toBeLessThanOrEqual(1);
    const gw = withRoute.length ? st.networks[withRoute[0].network].gateway : undefined;
    expect(ipJson(sandbox, '-4', 'route', 'show', 'default')[0]?.gateway, `${label}: default route of ${sandbox}`).toBe(gw);
  }
  // nft (nft -j): one map element per single-backend publication, a rule naming every backend of a weighted one; no table without networks
  const tables = nftObjects(host, 'table').map((t) => `${t.family} ${t.name}`);
  expect(tables, `${label}: foreign table`).toContain('inet foreign');
  if (Object.keys(st.networks).length === 0) expect(tables, `${label}: no nlkit table without networks`).not.toContain('inet nlkit');
  else {
    const pub4 = nftObjects(host, 'map', 'nlkit').find((m) => m.name === 'pub4');
    const elems = JSON.stringify(pub4?.elem ?? []);
    const pubs = Object.values(st.publications);
    const single = pubs.filter((p) => p.backends.length === 1);
    expect(((pub4?.elem ?? []) as unknown[]).length, `${label}: map elements`).toBe(single.length);
    for (const p of single) expect(elems).toContain(`"${p.backends[0].ipv4}"`);
    const rules = nftRuleLines(host, 'inet', 'nlkit').join('\n');
    for (const p of pubs.filter((x) => x.backends.length > 1)) {
      for (const b of p.backends) expect(rules, `${label}: weighted backend ${b.id}`).toContain(String(b.ipv4));
      expect(elems, `${label}: a weighted publication is no map element`).not.toContain(`"${p.backends[0].ipv4}"`);
    }
  }
  expect(ipJson(host, 'link', 'show', 'foreign0'), `${label}: foreign link`).toHaveLength(1);
}

/** What the operation needs before it (what the fixture had set up; a crash may have undone some), made if missing. */
async function prepare(nets: NetworkManager, op: Op, tag: string): Promise<void> {
  const [a, b] = [`${tag}a`, `${tag}b`];
  const multi = op === 'attach-multi' || op === 'detach-multi';
  for (const n of multi ? NETS : NETS.slice(0, 1)) if (op !== 'create' && !(await nets.find(n.name))) await nets.create(n);
  const attached = async (network: string, id: string) => (await nets.get(network)).attachments.some((x) => x.id === id);
  const need: Array<[string, string]> = [];
  if (['publish', 'detach', 'backends', 'attach-multi', 'detach-multi'].includes(op)) need.push(['crash', a]);
  if (op === 'backends') need.push(['crash', b]);
  if (op === 'detach-multi') need.push(['crash2', a]);
  for (const [network, id] of need) if (!(await attached(network, id))) await nets.attach(network, { sandbox: id, create: true });
  if (op === 'backends' && (await nets.publications.list()).length === 0) await nets.publish({ network: 'crash', hostPort: 8080, containerPort: 80, to: a });
}

/** Does the operation the fixture was killed in, in this process (it must succeed now). */
async function redo(nets: NetworkManager, op: Op, tag: string): Promise<void> {
  const a = `${tag}a`;
  const pub = { network: 'crash', hostPort: 8080, containerPort: 80, to: a };
  switch (op) {
    case 'create':
      await nets.create(NETS[0]);
      break;
    case 'attach':
      expect((await nets.attach('crash', { sandbox: a, create: true })).ipv4).toMatch(/^10\.77\.0\.\d+\/24$/);
      break;
    case 'detach':
      await nets.detach('crash', a, { missingOk: true });
      expect((await nets.get('crash')).attachments.map((x) => x.id)).not.toContain(a);
      break;
    case 'publish':
      expect((await nets.publish(pub)).backends).toHaveLength(1);
      break;
    case 'unpublish':
      await nets.unpublish({ hostPort: 8080 }, { missingOk: true });
      expect(await nets.publications.list()).toEqual([]);
      break;
    case 'backends': {
      const weighted = await nets.setBackends({ hostPort: 8080 }, [
        { id: a, weight: 1 },
        { id: `${tag}b`, weight: 3 },
      ]);
      expect(weighted.backends.map((x) => x.weight)).toEqual([1, 3]);
      break;
    }
    case 'attach-multi':
      expect((await nets.attach('crash2', { sandbox: a, create: true, defaultRoute: true })).ipv4).toMatch(/^10\.78\.0\.\d+\/24$/);
      expect(ipJson(a, '-4', 'route', 'show', 'default')[0]?.gateway).toBe('10.78.0.1');
      break;
    case 'detach-multi':
      await nets.detach('crash', a, { missingOk: true });
      expect(fs.existsSync(path.join(NETNS_RUN_DIR, a)), 'the namespace stays with its other network').toBe(true);
      expect((await nets.get('crash2')).attachments.map((x) => x.id)).toContain(a);
      break;
    case 'delete':
      await nets.delete('crash', { missingOk: true });
      expect(await nets.find('crash')).toBeUndefined();
      break;
  }
}

/** What a scenario gets: its host namespace, the prefix of its sandbox names, its state directory. */
interface CrashHost {
  host: string;
  tag: string;
  stateDir: string;
  /** A manager of that host and state (closed, with the network deleted, afterwards). */
  manager(): Promise<NetworkManager>;
}

/**
 * Runs one scenario in a host namespace of its own that holds foreign state
 * nlkit must leave alone (a bridge made by ip, a table written by nft -f),
 * with a state directory of its own; everything is removed afterwards, also
 * on failure.
 */
async function withCrashHost<T>(name: string, fn: (c: CrashHost) => Promise<T>): Promise<T> {
  const host = `nlt${process.pid}-${name}`;
  const tag = `${host}-s-`;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-crash-'));
  await createNetns(host);
  let nets: NetworkManager | undefined;
  try {
    ip(host, 'link', 'add', 'foreign0', 'type', 'bridge');
    nftLoad(host, 'table inet foreign {\n chain keep {\n  type filter hook forward priority 0;\n  counter accept\n }\n}\n');
    return await fn({ host, tag, stateDir, manager: async () => (nets = await networks({ host, stateDir })) });
  } finally {
    for (const n of NETS) await nets?.delete(n.name, { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const n of fs.readdirSync(NETNS_RUN_DIR).filter((x) => x.startsWith(tag))) await deleteNetns(n, { missingOk: true });
    await deleteNetns(host, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** One crash case, in a host of its own (see {@link withCrashHost}). */
async function crashCase(op: Op, step: number): Promise<{ done: boolean }> {
  const label = `${op} killed after step ${step}`;
  return withCrashHost(`k${++serial}`, async ({ host, tag, stateDir, manager }) => {
    const r = await runFixture([host, stateDir, op, tag], `${CASES[op].fault}:${step}`);
    if (r.status === 0) return { done: true };
    expect(r.signal, `${label}: ${r.stderr}`).toBe('SIGKILL');
    const nets = await manager();
    const drift = await nets.check();
    expect(
      drift.map((d) => d.kind),
      label,
    ).toContain(`interrupted-${CASES[op].kind}`);
    const fixed = await nets.reconcile();
    expect(fixed.map((d) => d.kind)).toContain(`interrupted-${CASES[op].kind}`);
    await expectConsistent(nets, host, stateDir, tag, `${label}, after reconcile`);
    // the dead process's journal is gone with its last intent (this process has its own)
    expect(
      fs.readdirSync(path.join(stateDir, 'intents')).filter((f) => !f.startsWith(`${process.pid}-`)),
      `${label}: intents cleared`,
    ).toEqual([]);
    // the interrupted operation can be done again (its setup first, if the crash undid it)
    await prepare(nets, op, tag);
    await redo(nets, op, tag);
    await expectConsistent(nets, host, stateDir, tag, `${label}, after redo`);
    return { done: false };
  });
}

describe('network manager: crash at every step boundary', () => {
  it('leaves nothing behind after reconcile, whatever step the process died after', async () => {
    requireRoot();
    expect(fs.existsSync(path.join(root, 'dist', 'index.js')), 'npm run build:ts first (npm test does)').toBe(true);
    const only = process.env.NLKIT_CRASH_OPS?.split(','); // a subset while working on one operation
    const ops = OPS.filter((op) => !only || only.includes(op));
    const cases = ops.flatMap((op) => Array.from({ length: CASES[op].steps + 1 }, (_, i) => [op, i + 1] as const));
    const done = new Map<string, boolean>();
    // A few at a time: each case has its own host namespace, state directory and sandbox names.
    const queue = [...cases];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) done.set(`${c[0]}:${c[1]}`, (await crashCase(c[0], c[1])).done);
    };
    // allSettled: a failing case must not end the test while the others still have namespaces to delete.
    const settled = await Promise.allSettled([worker(), worker(), worker(), worker()]);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    for (const op of ops) {
      // every counted boundary killed the process, and the one after the last let it finish: the step table is exact
      for (let n = 1; n <= CASES[op].steps; n++) expect(done.get(`${op}:${n}`), `${op}:${n} killed`).toBe(false);
      expect(done.get(`${op}:${CASES[op].steps + 1}`), `${op} has ${CASES[op].steps} steps`).toBe(true);
    }
  }, 300_000);
});

describe('network manager: crash during 20 concurrent attaches', () => {
  it('recovers every interrupted attach: no leaked lease, veth or namespace', async () => {
    requireRoot();
    for (const step of [7, 41]) {
      await withCrashHost(`many${step}`, async ({ host, tag, stateDir, manager }) => {
        const r = await runFixture([host, stateDir, 'attach-many', tag], `attach:${step}`);
        expect(r.signal, r.stderr).toBe('SIGKILL');
        const nets = await manager();
        const interrupted = (await nets.check()).filter((d) => d.kind === 'interrupted-attach');
        expect(interrupted.length, 'some attaches were cut short').toBeGreaterThan(0);
        await nets.reconcile();
        await expectConsistent(nets, host, stateDir, tag, `20 attaches killed after attach step ${step}`);
        // and the ones cut short attach now
        for (let i = 0; i < 20; i++) await nets.attach('crash', { sandbox: `${tag}m${i}`, create: true });
        await expectConsistent(nets, host, stateDir, tag, 'after attaching all 20');
        expect(new Set((await nets.get('crash')).attachments.map((a) => a.ipv4)).size).toBe(20);
      });
    }
  }, 60_000);
});

describe('network manager: an attach redone right after a crash, without reconcile', () => {
  it('settles the dead attempt first and succeeds, whatever step it died after', async () => {
    requireRoot();
    for (let step = 1; step <= CASES.attach.steps; step++) {
      const label = `attach killed after step ${step}, then attached again`;
      await withCrashHost(`redo${step}`, async ({ host, tag, stateDir, manager }) => {
        const r = await runFixture([host, stateDir, 'attach', tag], `attach:${step}`);
        expect(r.signal, r.stderr).toBe('SIGKILL');
        const nets = await manager();
        const again = await nets.attach('crash', { sandbox: `${tag}a`, create: true });
        expect(ipJson(`${tag}a`, '-4', 'addr', 'show', 'eth0')[0].addr_info[0].local, label).toBe(again.ipv4!.split('/')[0]);
        await expectConsistent(nets, host, stateDir, tag, label); // check() is [] too: nothing left to reconcile
        // the namespace is nlkit's (made again by this attach): a detach takes it away
        await nets.detach('crash', `${tag}a`);
        expect(fs.existsSync(`${NETNS_RUN_DIR}/${tag}a`), label).toBe(false);
        await expectConsistent(nets, host, stateDir, tag, `${label}, then detached`);
      });
    }
  }, 60_000);
});

describe('network manager: detach order', () => {
  it('takes the sandbox out of its publications before deleting its links', async () => {
    requireRoot();
    await withCrashHost('order', async ({ host, tag, stateDir, manager }) => {
      // killed between detach's step 2 (publications updated) and step 3 (links deleted)
      const r = await runFixture([host, stateDir, 'detach', tag], 'detach:2');
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const nets = await manager();
      const a = (await nets.state()).attachments.crash[`${tag}a`];
      expect(ipJson(host, 'link', 'show', a.hostIfname), 'the veth is still there').toHaveLength(1);
      const pub4 = nftObjects(host, 'map', 'nlkit').find((m) => m.name === 'pub4');
      expect(JSON.stringify(pub4?.elem ?? []), 'the map no longer names the backend').not.toContain(`"${a.ipv4}"`);
      expect(await nets.publications.list()).toEqual([]);
      await nets.reconcile();
      await expectConsistent(nets, host, stateDir, tag, 'detach killed after step 2');
    });
  }, 60_000);
});

describe('network manager: a dead attach whose namespace another network attached meanwhile', () => {
  it('keeps the namespace that network uses, and hands it the ownership', async () => {
    requireRoot();
    await withCrashHost('heir', async ({ host, tag, stateDir, manager }) => {
      const a = `${tag}a`;
      // killed after attach's step 2: the namespace made, nothing recorded
      const r = await runFixture([host, stateDir, 'attach', tag], 'attach:2');
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(fs.existsSync(path.join(NETNS_RUN_DIR, a)), 'the dead attach made the namespace').toBe(true);
      const nets = await manager();
      // another network of the same sandbox, attached before anyone reconciles (its attach settles only its own network's intents)
      await nets.create(NETS[1]);
      const other = await nets.attach('crash2', { sandbox: a, create: true });
      expect((await nets.check()).map((d) => d.kind)).toContain('interrupted-attach');
      await nets.reconcile();
      expect(fs.existsSync(path.join(NETNS_RUN_DIR, a)), 'the namespace crash2 uses stays').toBe(true);
      expect(ipJson(a, '-4', 'addr', 'show', 'eth0')[0].addr_info[0].local).toBe(other.ipv4!.split('/')[0]);
      await expectConsistent(nets, host, stateDir, tag, 'dead attach, namespace used by crash2');
      // and it goes with the sandbox's last network, as one nlkit made
      await nets.detach('crash2', a);
      expect(fs.existsSync(path.join(NETNS_RUN_DIR, a)), 'the namespace goes with its last network').toBe(false);
      await expectConsistent(nets, host, stateDir, tag, 'then detached from crash2');
    });
  }, 60_000);
});
