// Sandbox identity: an attachment belongs to the namespace that was attached
// (nsfs device + inode), not to whatever later sits at its name or path.
// A namespace re-created under the same name is never rewired or deleted;
// an id held by another sandbox is an AttachmentConflictError; the host
// namespace is refused as a sandbox unless asked for.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachmentConflictError, createNetns, deleteNetns, open, openNetnsSync, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { AddressPool } from '../../lib/network/address-pool';
import { Ipam } from '../../lib/network/ipam';
import { identityAt, refuseHostNamespace } from '../../lib/network/sandbox-identity';
import { ip, ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

/** What `ip -j` shows of a namespace: its links with their addresses, and its routes. */
function snapshotOf(ns: string): unknown {
  const links = ipJson(ns, 'addr', 'show').map((l: any) => ({
    ifname: l.ifname,
    address: l.address,
    addrs: l.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`),
  }));
  // Route flags (linkdown) follow carrier changes the kernel makes by itself: compared without them.
  const routes = (...args: string[]) => ipJson(ns, ...args, 'route', 'show').map(({ flags: _flags, ...r }: any) => r);
  return { links, routes: routes(), routes6: routes('-6') };
}

/** A namespace unrelated to nlkit under `name`: a bridge called eth0 with an address and a route. */
async function impostor(name: string): Promise<void> {
  await createNetns(name);
  ip(name, 'link', 'add', 'eth0', 'type', 'bridge');
  ip(name, 'addr', 'add', '192.0.2.7/24', 'dev', 'eth0');
  ip(name, 'link', 'set', 'eth0', 'up');
}

describe('network manager: sandbox identity', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let stateDir: string;
  const names: string[] = [];
  const fresh = (label: string) => {
    const n = uniqueNetnsName(label);
    names.push(n);
    return n;
  };
  const leases = () => JSON.parse(fs.readFileSync(path.join(stateDir, 'ipam', 'ident.json'), 'utf8')).allocations as Record<string, string>;
  const hostVeths = () => ipJson(box.ns('host'), 'link', 'show', 'type', 'veth').map((l: any) => l.ifname as string);

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-ident-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'ident', subnet: '10.67.0.0/24' });
  });
  afterAll(async () => {
    await nets?.delete('ident').catch(() => undefined);
    nets?.close();
    for (const n of names) await deleteNetns(n, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  for (const created of [false, true]) {
    it(`never touches a namespace re-created under an attached name (${created ? 'made by attach' : "the caller's"})`, async () => {
      const name = fresh(created ? 'own' : 'named');
      if (!created) await createNetns(name);
      const a = await nets.attach('ident', { sandbox: name, create: created });
      expect(await nets.check()).toEqual([]);
      // the sandbox goes without a detach; an unrelated namespace takes its name
      await deleteNetns(name);
      await impostor(name);
      const before = snapshotOf(name);

      const drift = await nets.check();
      expect(drift.map((d) => `${d.kind}:${d.id}`)).toEqual([`sandbox-gone:${name}`]);
      expect(drift[0].detail).toMatch(/another namespace/);
      expect(snapshotOf(name), 'check() changed nothing').toEqual(before);

      await nets.reconcile();
      expect(snapshotOf(name), 'reconcile() did not touch the impostor').toEqual(before);
      expect(fs.existsSync(`/run/netns/${name}`), 'nor delete it').toBe(true);
      expect((await nets.get('ident')).attachments.map((x) => x.id)).not.toContain(name);
      expect(Object.values(leases())).not.toContain(name);
      expect(hostVeths()).not.toContain(a.hostIfname);
      expect(await nets.check()).toEqual([]);
      // detach of what is no longer attached, and a delete of the network later, leave it alone too
      expect(await nets.detach('ident', name, { missingOk: true })).toBe(false);
      expect(snapshotOf(name)).toEqual(before);
    });
  }

  it('verifies a sandbox recorded by path: another namespace behind the path is garbage, not rewired', async () => {
    const name = fresh('bypath');
    await createNetns(name);
    const file = `/run/netns/${name}`;
    const a = await nets.attach('ident', { sandbox: { path: file }, id: 'by-path' });
    expect(a.sandboxPath).toBe(file);
    // as with a reused pid: the same path, another namespace
    await deleteNetns(name);
    await impostor(name);
    const before = snapshotOf(name);
    expect((await nets.check()).map((d) => `${d.kind}:${d.id}`)).toEqual(['sandbox-gone:by-path']);
    // attaching the new namespace under the old id is a conflict until the old one is forgotten
    await expect(nets.attach('ident', { sandbox: { path: file }, id: 'by-path' })).rejects.toBeInstanceOf(AttachmentConflictError);
    await nets.reconcile();
    expect(snapshotOf(name)).toEqual(before);
    expect(Object.values(leases())).not.toContain('by-path');
    expect(hostVeths()).not.toContain(a.hostIfname);
    // now the id is free: the new namespace can be attached (it gets nlkit's interface then, as asked)
    const again = await nets.attach('ident', { sandbox: { path: file }, id: 'by-path', ifname: 'eth1' });
    expect(ipJson(name, '-4', 'addr', 'show', 'eth1')[0].addr_info.map((x: any) => `${x.local}/${x.prefixlen}`)).toEqual([again.ipv4]);
    await nets.detach('ident', { id: 'by-path' });
    expect(
      ipJson(name, 'link', 'show')
        .map((l: any) => l.ifname)
        .sort(),
    ).toEqual(['eth0', 'lo']);
  });

  it('refuses an id held by another sandbox with AttachmentConflictError, changing nothing; the same sandbox again is idempotent', async () => {
    const [s1, s2] = [fresh('c1'), fresh('c2')];
    const a1 = await nets.attach('ident', { sandbox: s1, create: true, id: 'web' });
    await createNetns(s2);
    const leasesBefore = leases();
    const err = await nets.attach('ident', { sandbox: s2, id: 'web' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttachmentConflictError);
    expect(err).toMatchObject({ name: 'AttachmentConflictError', network: 'ident', id: 'web', holder: `/run/netns/${s1}` });
    expect(ipJson(s2, 'link', 'show').map((l: any) => l.ifname)).toEqual(['lo']);
    expect(leases()).toEqual(leasesBefore);
    expect(await nets.attach('ident', { sandbox: s1, id: 'web' })).toEqual(a1);
    expect((await nets.get('ident')).attachments.filter((x) => x.id === 'web')).toHaveLength(1);
    await nets.detach('ident', { id: 'web' });
  });

  it('reports a lease nobody is attached with (leaked by an older version, say) and reconcile releases it', async () => {
    const ipam = new Ipam(path.join(stateDir, 'ipam'), 'ident', [new AddressPool('10.67.0.0/24', '10.67.0.1')]);
    const { ipv4 } = await ipam.allocate('ghost');
    expect((await nets.check()).map((d) => `${d.kind}:${d.id}`)).toEqual(['leaked-lease:ghost']);
    await nets.reconcile();
    expect(Object.keys(leases())).not.toContain(ipv4);
    expect(await nets.check()).toEqual([]);
  });

  it("refuses the manager's host namespace and the caller's own as a sandbox unless allowHostNamespace", async () => {
    const host = box.ns('host');
    const before = snapshotOf(host);
    await expect(nets.attach('ident', { sandbox: host })).rejects.toBeInstanceOf(ValidationError);
    await expect(nets.attach('ident', { sandbox: { path: `/run/netns/${host}` }, id: 'h' })).rejects.toThrow(
      /host namespace of this manager.*allowHostNamespace/,
    );
    expect(snapshotOf(host)).toEqual(before);
    expect((await nets.get('ident')).attachments).toEqual([]);
    // the caller's own namespace (here the machine's): the check alone, so nothing can reach it if it failed
    expect(() => refuseHostNamespace(identityAt('/proc/self/ns/net')!, host, 'self')).toThrow(/caller's own namespace/);
    // asked for explicitly, it is attached (the host here is a test namespace)
    const a = await nets.attach('ident', { sandbox: host, ifname: 'self0', allowHostNamespace: true });
    expect(ipJson(host, '-4', 'addr', 'show', 'self0')[0].addr_info.map((x: any) => `${x.local}/${x.prefixlen}`)).toEqual([a.ipv4]);
    await nets.detach('ident', host);
    expect(ipJson(host, 'link', 'show').map((l: any) => l.ifname)).not.toContain('self0');
  });
  it("refuses the manager's host namespace after its name was deleted (the namespace its handle works in, read when it opened)", async () => {
    // A manager of its own, on a host whose name goes away while the manager (and a caller's fd) keep it alive.
    const hostName = fresh('gonehost');
    await createNetns(hostName);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-ident-gone-'));
    const held = openNetnsSync(hostName);
    const gone = await networks({ host: hostName, stateDir: dir });
    try {
      await gone.create({ name: 'gone', subnet: '10.68.0.0/24' });
      await deleteNetns(hostName);
      // Looked up by name at attach time, the host was "none" and its own namespace was attached as a sandbox.
      const err = await gone.attach('gone', { sandbox: held, id: 'self' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(String(err)).toMatch(/host namespace of this manager.*allowHostNamespace/);
      // Nothing was made there: the kernel's links of that namespace, read back, are lo and the bridge.
      const h = await open({ netns: held });
      try {
        expect((await h.links.list()).map((l) => l.kind ?? l.name).sort()).toEqual(['bridge', 'lo']);
      } finally {
        h.close();
      }
      expect((await gone.get('gone')).attachments).toEqual([]);
      const leaseFile = path.join(dir, 'ipam', 'gone.json');
      expect(fs.existsSync(leaseFile) ? JSON.parse(fs.readFileSync(leaseFile, 'utf8')).allocations : {}).toEqual({});
    } finally {
      await gone.delete('gone').catch(() => undefined);
      gone.close();
      held.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
