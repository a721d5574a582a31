// A change declares the shared maps it writes to (lib/services/table.ts,
// `declareMaps`) instead of reading their types from the kernel first: the
// kernel still gets the change right (read back with `nft -j`); a map
// someone redefined behind nlkit's back makes the kernel refuse the
// declaration (EEXIST), and the change is sent again as before (the map's
// types read from the kernel): the same outcome as without declarations.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services, type ServiceManager } from '../../lib/services/manager';
import { useNetns } from '../helpers/netns';

function nft(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });
}

/** The endpoints map's values for a VIP, as `nft -j` lists them. */
function endpointsOf(ns: string, vip: string): string[] {
  const out = JSON.parse(nft(ns, '-j', 'list', 'map', 'inet', 'nlkit-svc', 'endpoints4')) as {
    nftables: Array<{ map?: { elem?: Array<[{ concat: unknown[] }, { concat: unknown[] }]> } }>;
  };
  const elems = out.nftables.find((x) => x.map)?.map?.elem ?? [];
  return [...new Set(elems.filter(([k]) => k.concat[0] === vip).map(([, v]) => v.concat.join(':')))].sort();
}

describe('services: shared maps declared in each change', () => {
  const box = useNetns('host');
  let svcs: ServiceManager;
  let stateDir: string;
  const web = (ips: string[]) => ({ name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80 }], endpoints: ips.map((ip) => ({ ip, port: 8080 })) });

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-p99-maps-'));
    svcs = await services({ host: box.ns('host'), stateDir });
  });
  afterAll(() => {
    svcs?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('changes the endpoints in the kernel', async () => {
    await svcs.add(web(['10.88.0.2', '10.88.0.3']));
    await svcs.set('web', { endpoints: web(['10.88.0.4']).endpoints }, { cutFlows: false });
    expect(endpointsOf(box.ns('host'), '10.96.0.10')).toEqual(['10.88.0.4:8080']);
    await svcs.set('web', { endpoints: web(['10.88.0.5', '10.88.0.6']).endpoints }, { cutFlows: false });
    expect(endpointsOf(box.ns('host'), '10.96.0.10')).toEqual(['10.88.0.5:8080', '10.88.0.6:8080']);
    expect(await svcs.check()).toEqual([]);
  });

  it('a map redefined behind its back: the declaration refused (EEXIST), the change sent again as before; reconcile() repairs', async () => {
    const ns = box.ns('host');
    // Someone remakes the endpoints map with a timeout flag (its chains emptied first: a map in use cannot be deleted).
    nft(ns, 'flush', 'table', 'inet', 'nlkit-svc');
    nft(ns, 'delete', 'map', 'inet', 'nlkit-svc', 'endpoints4');
    nft(
      ns,
      'add',
      'map',
      'inet',
      'nlkit-svc',
      'endpoints4',
      '{ type ipv4_addr . inet_proto . inet_service . mark : ipv4_addr . inet_service; flags timeout; }',
    );
    // As without declarations: the kernel refuses to delete the old slots the remade map lacks (ENOENT), not EEXIST.
    const err = await svcs.set('web', { endpoints: web(['10.88.0.7']).endpoints }, { cutFlows: false }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(err?.code).toBe('ENOENT');
    expect(err?.message).toMatch(/delete elements from set inet nlkit-svc endpoints4/);
    expect((await svcs.get('web')).endpoints.map((e) => e.ip)).toEqual(['10.88.0.5', '10.88.0.6']);
    expect((await svcs.check()).length).toBeGreaterThan(0);
    // reconcile() puts the records' elements and rules back (into the remade map), and changes go through again.
    await svcs.reconcile();
    await svcs.set('web', { endpoints: web(['10.88.0.8']).endpoints }, { cutFlows: false });
    expect(endpointsOf(ns, '10.96.0.10')).toEqual(['10.88.0.8:8080']);
  });
});
