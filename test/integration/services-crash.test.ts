// Crash safety of services by fault injection: a fixture process adding,
// changing or deleting a service is SIGKILLed at each step boundary of the
// commit (NLKIT_FAULT_AFTER_STEP=service:<n>). Then, in this process: check()
// reports the interrupted operation (and the table's drift, when the kernel
// was changed but the record not), reconcile() puts the table back to the
// records, the table read with `nft -j` matches them, and the operation can be
// done again. A foreign table added with nft is left alone throughout.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services } from '../../lib/services/manager';
import { useNetns } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');
const SPEC = { name: 'web', vips: ['10.96.5.1'], ports: [{ port: 80 }], endpoints: [{ ip: '10.5.0.2' }, { ip: '10.5.0.3' }] };

function runFixture(host: string, stateDir: string, op: string, step: number): Promise<{ signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['test/fixtures/services-crash.cjs', host, stateDir, op], {
      cwd: root,
      env: { ...process.env, NLKIT_FAULT_AFTER_STEP: `service:${step}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (_status, signal) => resolve({ signal, stdout }));
  });
}

const nft = (ns: string, ...args: string[]): string => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });

describe('services: crash safety at every step of a change', () => {
  const box = useNetns('host');
  const dirs: string[] = [];
  beforeAll(() => {
    nft(box.ns('host'), 'add', 'table', 'inet', 'foreign');
    nft(box.ns('host'), 'add', 'chain', 'inet', 'foreign', 'keep');
  });
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  // the commit's boundaries: journaled, committed, then one per service record (apply changes three)
  const cases: Array<[string, number]> = [
    ...['add', 'set', 'delete'].flatMap((op) => [1, 2, 3].map((step): [string, number] => [op, step])),
    ...[1, 2, 3, 4, 5].map((step): [string, number] => ['apply', step]),
  ];
  for (const [op, step] of cases) {
    it(`${op}, killed after step ${step}: check() reports it, reconcile() makes the table match the records`, async () => {
      const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-svccrash-'));
      dirs.push(stateDir);
      // each case on a clean table: the services of earlier cases are removed first
      const svcs = await services({ host: box.ns('host'), stateDir });
      try {
        if (op !== 'add') await svcs.add(SPEC);
        const run = await runFixture(box.ns('host'), stateDir, op, step);
        expect(run.signal).toBe('SIGKILL');
        const found = await svcs.check();
        expect(found.map((d) => d.kind)).toContain('interrupted');
        if (step === 2) expect(found.length).toBeGreaterThan(1); // the kernel was changed, the record not
        await svcs.reconcile();
        expect(await svcs.check()).toEqual([]);
        const recorded = await svcs.find('web');
        // With no service recorded there is no table (the last removal, or reconcile(), deleted it).
        const none = (await svcs.list()).length === 0;
        const listed = none ? '' : nft(box.ns('host'), '-j', 'list', 'map', 'inet', 'nlkit-svc', 'vips4');
        if (none) expect(() => nft(box.ns('host'), 'list', 'table', 'inet', 'nlkit-svc')).toThrow(/No such file/);
        // each service's address is in the table exactly when it is recorded (apply's are recorded one by one)
        for (const [name, vip] of [
          ['web', '10.96.5.1'],
          ['api', '10.96.5.2'],
          ['db', '10.96.5.3'],
        ])
          expect(listed.includes(`"${vip}"`), `${name}: ${listed}`).toBe((await svcs.find(name)) !== undefined);
        // and the operation can be done again
        const again = await runFixture(box.ns('host'), stateDir, op === 'add' && recorded ? 'set' : op === 'delete' && !recorded ? 'add' : op, 99);
        expect(again.stdout).toContain('"done":true');
        expect(await svcs.check()).toEqual([]);
        expect(nft(box.ns('host'), 'list', 'table', 'inet', 'foreign')).toContain('chain keep');
        if (op === 'apply' && step === 5) {
          // past the last boundary the fixture runs to its end: the step list is exact
          await svcs.apply([SPEC]); // three changes again
          const past = await runFixture(box.ns('host'), stateDir, op, 6);
          expect(past.stdout).toContain('"done":true');
        }
      } finally {
        await svcs.apply([]);
        svcs.close();
      }
    });
  }
});
