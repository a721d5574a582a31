// Services leave nothing behind: the last service's removal (delete, or
// apply([])) removes the `inet nlkit-svc` table, read back with
// `nft -j list ruleset` (the ruleset is as before the first service);
// check() sees no drift in a missing table when no service is recorded, and
// reconcile() removes a leftover table nlkit wrote, but not one holding
// others' objects.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../lib/handle';
import { services, type ServiceManager } from '../../lib/services/manager';
import type { ServiceSpec } from '../../lib/services/spec';
import { useNetns } from '../helpers/netns';

describe('services: the last removal removes the table', () => {
  const box = useNetns('host');
  let svcs: ServiceManager;
  let stateDir: string;
  const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', box.ns('host'), 'nft', ...args], { encoding: 'utf8' });
  const ruleset = () => JSON.parse(nft('-j', 'list', 'ruleset')) as unknown;
  // This nft cannot list the services table (its concatenations with a mark): the table is read back with nlkit while it exists.
  const hasTable = async () => {
    const h = await open({ netns: box.ns('host') });
    try {
      return (await h.nft.tables.find({ family: 'inet', name: 'nlkit-svc' })) !== undefined;
    } finally {
      h.close();
    }
  };
  const objects = async () => {
    const h = await open({ netns: box.ns('host') });
    try {
      const rs = await h.nft.ruleset.get({ family: 'inet', table: 'nlkit-svc' });
      return { chains: rs.chains.map((c) => c.name), vips4: rs.sets.find((x) => x.name === 'vips4')?.elements.length };
    } finally {
      h.close();
    }
  };

  const web: ServiceSpec = { name: 'web', vips: ['10.96.3.1', 'fd00:96::3:1'], ports: [{ port: 80, nodePort: 30080 }], endpoints: [{ ip: '10.88.3.2' }] };
  const db: ServiceSpec = {
    name: 'db',
    vips: ['10.96.3.2'],
    ports: [{ port: 5432 }],
    endpoints: [{ ip: '10.88.3.3' }],
    sessionAffinity: { timeoutSeconds: 60 }, // its own chain and map
  };

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-svc-clean-'));
    svcs = await services({ host: box.ns('host'), stateDir });
  });
  afterAll(() => {
    svcs?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('delete of the last service leaves the ruleset as before the first', async () => {
    const before = ruleset();
    await svcs.add(web);
    await svcs.add(db);
    expect(await hasTable()).toBe(true);
    await svcs.delete('web');
    expect(await hasTable()).toBe(true); // db is still there
    await svcs.delete('db');
    expect(ruleset()).toEqual(before);
    expect(await svcs.check()).toEqual([]);
    expect(await svcs.reconcile()).toEqual([]);
    expect(ruleset()).toEqual(before);
    // The next service writes the table whole again.
    await svcs.add(web);
    expect(await svcs.check()).toEqual([]);
    await svcs.delete('web');
    expect(ruleset()).toEqual(before);
  });

  it('apply([]) leaves the ruleset as before the first apply()', async () => {
    const before = ruleset();
    await svcs.apply([web, db]);
    expect(await hasTable()).toBe(true);
    expect((await svcs.apply([])).removed.sort()).toEqual(['db', 'web']);
    expect(ruleset()).toEqual(before);
    expect(await svcs.check()).toEqual([]);
  });

  it('reconcile() removes a leftover table of nlkit with no service recorded', async () => {
    const before = ruleset();
    await svcs.add(web);
    fs.rmSync(path.join(stateDir, 'services', 'records', 'web.json')); // the record gone, the table stays
    expect(await svcs.check()).toEqual([{ service: '', kind: 'table-leftover', detail: 'table inet nlkit-svc is left with no service recorded' }]);
    await svcs.reconcile();
    expect(ruleset()).toEqual(before);
    expect(await svcs.check()).toEqual([]);
  });

  it('keeps a table holding what nlkit did not write, and reports it', async () => {
    await svcs.add(web);
    nft('add', 'chain', 'inet', 'nlkit-svc', 'mine');
    await svcs.delete('web');
    expect(await hasTable()).toBe(true);
    const found = await svcs.check();
    expect(found).toEqual([
      {
        service: '',
        kind: 'table-leftover',
        detail: 'table inet nlkit-svc is left with no service recorded, and holds what nlkit did not write (chain mine): not removed',
      },
    ]);
    await svcs.reconcile();
    // Kept, the web service gone from it all the same.
    expect(await objects()).toMatchObject({ chains: expect.arrayContaining(['mine', 'services']), vips4: 0 });
    nft('delete', 'table', 'inet', 'nlkit-svc');
    expect(await svcs.check()).toEqual([]);
  });
});
