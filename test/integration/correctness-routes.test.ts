// Listing routes where the IPv4 main table does not exist yet (the kernel
// creates it with the first IPv4 route, or when loopback comes up): ip shows
// nothing, and so must nlkit. Other missing tables stay an error, as for ip.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkError, createNetns, deleteNetns, open, type Handle } from '../../lib';
import { ip, requireRoot, uniqueNetnsName } from '../helpers/netns';

/** Exit status and stderr of `ip ARGS` in a namespace (ip fails on a missing table). */
function ipStatus(ns: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { status: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('routes.list without a main table', () => {
  // Not useNetns: that brings loopback up, which creates the main table.
  let ns = '';
  let h: Handle;
  beforeAll(async () => {
    requireRoot();
    ns = uniqueNetnsName('noroutes');
    await createNetns(ns);
    h = await open({ netns: ns });
  });
  afterAll(async () => {
    h?.close();
    if (ns) await deleteNetns(ns, { missingOk: true });
  });

  it('returns [] for IPv4 in a namespace without IPv4 routes, like ip', async () => {
    // The precondition: the kernel really has no IPv4 main table here (ip hides that).
    expect(ipStatus(ns, '-4', 'route', 'show', 'table', 'local').stderr).toMatch(/FIB table does not exist/);
    expect(ipStatus(ns, '-4', 'route', 'show')).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(ipStatus(ns, '-4', 'route', 'show', 'table', 'main').status).toBe(0);
    expect(await h.routes.list({ family: 4 })).toEqual([]);
    expect(await h.routes.list({ family: 4, table: 'main' })).toEqual([]);
    expect(await h.routes.list({ family: 4, table: 254 })).toEqual([]);
    // Both families at once never asked the IPv4 table specifically.
    expect((await h.routes.list()).filter((r) => r.family === 4)).toEqual([]);
  });

  it('still fails for a table that does not exist, like ip', async () => {
    const theirs = ipStatus(ns, '-4', 'route', 'show', 'table', '100');
    expect(theirs.status).not.toBe(0);
    expect(theirs.stderr).toMatch(/FIB table does not exist/);
    const err = await h.routes.list({ family: 4, table: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).code).toBe('ENOENT');
    expect((err as NetlinkError).extack).toMatch(/FIB table does not exist/);
  });

  it('lists the routes once the main table exists', async () => {
    await h.links.add({ name: 'd0', kind: 'bridge' });
    await h.links.set('d0', { up: true });
    await h.addresses.add('d0', '10.77.0.1/24');
    await h.routes.add({ dst: '10.78.0.0/16', gateway: '10.77.0.2' });
    const ours = (await h.routes.list({ family: 4 })).map((r) => r.dst).sort();
    const theirs = ip(ns, '-4', 'route', 'show')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0])
      .sort();
    expect(ours).toEqual(['10.77.0.0/24', '10.78.0.0/16']);
    expect(theirs).toEqual(['10.77.0.0/24', '10.78.0.0/16']);
  });
});
