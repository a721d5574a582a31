// Crash safety of sidecar interception by fault injection: a fixture process
// intercepting a pod (fresh, or replacing an interception with other
// routing) or removing an interception is SIGKILLed at each step boundary
// (NLKIT_FAULT_AFTER_STEP=intercept:<n> or unintercept:<n>). An interception
// keeps no state outside the pod: what recovers is the restarted daemon's
// intercept() (with its options, or with the ones before the crash: a
// rollback) and its check() and remove(). Then the namespace must hold the
// interception exactly (nft, ip rule, ip route read back), and after
// remove() nothing of either routing: no table, policy rule or local route.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, intercept as nlkitIntercept, open, type InterceptOptions } from '../../lib';
import { interceptFile } from '../../lib/sidecar/lock';
import { interceptSpec } from '../../lib/sidecar/options';
import { readPending, writePending } from '../../lib/sidecar/pending';
import { runFaultFixture, type FixtureRun } from '../helpers/fault-fixture';
import { ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';
import { nftObjects } from '../helpers/nft';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sidecar-crash-'));
const R1 = { mode: 'tproxy', outboundPort: 15101, inboundPort: 15106, mark: 1, table: 133, exclude: { marks: [0x539] } } as const;
const R2 = { ...R1, mark: 2, table: 134 } as const;

function runFixture(op: string, opts: InterceptOptions, fault: string): Promise<FixtureRun> {
  return runFaultFixture(process.execPath, ['test/fixtures/intercept-crash.cjs', op, JSON.stringify({ stateDir, ...opts })], fault);
}

describe('sidecar: crash safety at every step of intercept() and remove()', () => {
  const box = useNetns('pod');
  const pod = () => box.ns('pod');
  const intercept = (opts: InterceptOptions) => nlkitIntercept({ stateDir, ...opts, netns: pod() });
  afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  /** Nothing of either routing or the table is left in the pod. */
  function expectClean(label: string): void {
    expect(
      nftObjects(pod(), 'table').map((t) => t.name),
      `${label}: table`,
    ).not.toContain('nlkit-sidecar');
    const rules = ipJson<Array<{ fwmark?: string; table?: string }>>(pod(), 'rule', 'show');
    expect(
      rules.filter((r) => r.table === '133' || r.table === '134'),
      `${label}: policy rules`,
    ).toEqual([]);
    // ip says "FIB table does not exist" for a table without routes
    const routes = (table: string) => ipJson<unknown[]>(pod(), 'route', 'show', 'table', 'all').filter((r) => (r as { table?: string }).table === table);
    for (const table of ['133', '134']) expect(routes(table), `${label}: routes of table ${table}`).toEqual([]);
  }

  it("check() reports the routing a killed intercept() left pending, reconcile() removes it and repairs the interception's own", async () => {
    const icpt = await intercept(R1);
    // killed replacing R1 by R2 after R1's routing went and R2's was written, before R2's table
    const r = await runFixture('intercept', { ...R2, netns: pod() }, 'intercept:2');
    expect(r.signal, r.stderr).toBe('SIGKILL');
    const drift = await icpt.check();
    expect(drift.filter((d) => d.kind === 'pending-routing')).toEqual([
      { kind: 'pending-routing', detail: expect.stringContaining('mode=tproxy mark=2 table=134') as string },
    ]);
    expect(drift.map((d) => d.kind)).toContain('policy-rule-missing'); // R1's, taken by the dead writer
    expect(await icpt.reconcile()).toEqual(drift);
    expect(await icpt.check()).toEqual([]);
    for (const family of ['-4', '-6']) {
      const tables = ipJson<Array<{ table?: string }>>(pod(), family, 'rule', 'show').map((x) => x.table);
      expect(tables.filter((t) => t === '133' || t === '134')).toEqual(['133']);
    }
    expect(fs.readdirSync(stateDir)).toEqual([]);
    await icpt.remove();
    expectClean('after reconcile');
  }, 60_000);

  it("a name that names another namespace now: the interception neither reports nor removes that namespace's pending routing", async () => {
    const name = uniqueNetnsName('rebind');
    await createNetns(name);
    const h = await open({ netns: name });
    await h.links.set('lo', { up: true });
    h.close();
    const icpt = await nlkitIntercept({ stateDir, ...R1, netns: name });
    try {
      await deleteNetns(name);
      await createNetns(name); // the same name, another namespace; the interception's handle keeps the old one
      const file = interceptFile(stateDir, name, 'routing');
      writePending(file, interceptSpec({ ...R2, netns: name })); // a dead writer's, in the new namespace
      expect((await icpt.check()).map((d) => d.kind)).not.toContain('pending-routing');
      await icpt.reconcile();
      await icpt.remove();
      expect(readPending(file).map((r) => r.table)).toEqual([134]);
    } finally {
      icpt.close();
      fs.rmSync(interceptFile(stateDir, name, 'routing'), { force: true });
      await deleteNetns(name);
    }
  }, 60_000);

  // fresh: no interception before; replace: R1 in place, the fixture writes R2; the daemon restarts with `after`
  const scenarios: Array<{ name: string; before?: typeof R1; op: 'intercept' | 'remove'; opts: typeof R1; after: typeof R1 }> = [
    { name: 'fresh intercept', op: 'intercept', opts: R1, after: R1 },
    { name: 'replace, restarted with the new options', before: R1, op: 'intercept', opts: R2, after: R2 },
    { name: 'replace, restarted with the old options', before: R1, op: 'intercept', opts: R2, after: R1 },
    { name: 'remove', op: 'remove', opts: R1, after: R1 },
  ];
  for (const s of scenarios) {
    it(`${s.name}: whatever step it died after, intercept() again holds, check() is clean, remove() leaves nothing`, async () => {
      const fault = s.op === 'remove' ? 'unintercept' : 'intercept';
      for (let step = 1; ; step++) {
        const label = `${s.name}, killed after ${fault} step ${String(step)}`;
        if (s.before) (await intercept(s.before)).close();
        const r = await runFixture(s.op, { ...s.opts, netns: pod() }, `${fault}:${String(step)}`);
        if (r.stdout.includes('"done":true')) {
          expect(step, `${s.name}: steps`).toBeGreaterThan(2);
          const icpt = await intercept(s.after);
          await icpt.remove();
          expectClean(`${label} (not killed)`);
          break;
        }
        expect(r.signal, `${label}: ${r.stderr}`).toBe('SIGKILL');
        const icpt = await intercept(s.after);
        expect(await icpt.check(), label).toEqual([]);
        // the restarted daemon's routing, and only it
        const tables = ipJson<Array<{ table?: string }>>(pod(), 'rule', 'show').map((x) => x.table);
        expect(
          tables.filter((t) => t === '133' || t === '134'),
          label,
        ).toEqual([String(s.after.table)]);
        await icpt.remove();
        expectClean(label);
      }
    }, 120_000);
  }
});
