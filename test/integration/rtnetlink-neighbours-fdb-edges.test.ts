// Neighbour and FDB (bridge, VXLAN) entries at the edges, read back with `ip -j neigh` and `bridge -j fdb`.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

function fdbOf(ns: string, dev: string): string[] {
  const rows = JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }) || '[]') as Array<{
    mac: string;
    dst?: string;
  }>;
  return rows.map((e) => `${e.mac} ${e.dst ?? ''}`).sort();
}

/** Every neighbour entry on n0, cache and proxy. */
function ipJsonNeigh(ns: string): unknown[] {
  return [...ipJson<unknown[]>(ns, 'neigh', 'show', 'nud', 'all', 'dev', 'n0'), ...ipJson<unknown[]>(ns, 'neigh', 'show', 'proxy', 'dev', 'n0')];
}

describe('fdb at the edges', () => {
  const box = useNetns('fe');
  const ns = () => box.ns('fe');
  const h = () => box.h('fe');

  it('appends destinations to the all-zero and multicast MACs; appending to a unicast MAC is refused, not ignored', async () => {
    ip(ns(), 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1');
    ip(ns(), 'addr', 'add', '10.7.0.1/24', 'dev', 'u0');
    ip(ns(), 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '7', 'local', '10.7.0.1', 'dstport', '4789', 'nolearning', 'dev', 'u0');
    const fdb = h().fdb;
    for (const mac of ['00:00:00:00:00:00', '01:00:5e:00:00:05']) {
      await fdb.append({ link: 'vx0', mac, dst: '10.7.0.2' });
      await fdb.append({ link: 'vx0', mac, dst: '10.7.0.3' });
    }
    await fdb.add({ link: 'vx0', mac: '02:00:00:00:00:01', dst: '10.7.0.2' });
    // The kernel answered this with success and kept the one destination: the caller believed 10.7.0.3 was added.
    const e = await fdb.append({ link: 'vx0', mac: '02:00:00:00:00:01', dst: '10.7.0.3' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('mac');
    await expect(fdb.append({ link: 'vx0', mac: '02:00:00:00:00:02', dst: '10.7.0.3' })).rejects.toBeInstanceOf(ValidationError);
    expect(fdbOf(ns(), 'vx0')).toEqual([
      '00:00:00:00:00:00 10.7.0.2',
      '00:00:00:00:00:00 10.7.0.3',
      '01:00:5e:00:00:05 10.7.0.2',
      '01:00:5e:00:00:05 10.7.0.3',
      '02:00:00:00:00:01 10.7.0.2',
    ]);
  });

  it('refuses a flag that is not a boolean on neighbours and FDB entries, instead of reading it as truthy', async () => {
    ip(ns(), 'link', 'add', 'n0', 'type', 'veth', 'peer', 'name', 'n1');
    ip(ns(), 'link', 'add', 'br0', 'type', 'bridge');
    ip(ns(), 'link', 'set', 'n1', 'master', 'br0');
    const nb = h().neighbours;
    // `proxy: 'false'` made a proxy entry; `router: 'no'` a router.
    for (const flag of ['proxy', 'router', 'externLearned', 'managed']) {
      const e = await nb.add({ link: 'n0', address: '10.8.0.2', mac: '02:00:00:00:08:02', [flag]: 'false' }).catch((x: unknown) => x);
      expect(e, flag).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(flag);
    }
    await expect(nb.replace([{ link: 'n0', address: '10.8.0.3', mac: '02:00:00:00:08:03', router: 1 as unknown as boolean }])).rejects.toThrow();
    await expect(nb.list({ proxy: 'false' as unknown as boolean })).rejects.toBeInstanceOf(ValidationError);
    await expect(nb.get({ link: 'n0', address: '10.8.0.2', proxy: 0 as unknown as boolean })).rejects.toBeInstanceOf(ValidationError);
    expect(ipJsonNeigh(ns())).toEqual([]);
    // `sticky: 'false'` made a sticky entry, `self: 'false'` programmed the port's own table.
    for (const flag of ['self', 'sticky', 'externLearned', 'master']) {
      const e = await h()
        .fdb.add({ link: 'n1', bridge: 'br0', mac: '02:00:00:00:08:09', state: 'static', [flag]: 'false' })
        .catch((x: unknown) => x);
      expect(e, flag).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(flag);
    }
    expect(fdbOf(ns(), 'n1').filter((e) => e.startsWith('02:00:00:00:08:09'))).toEqual([]);
  });

  it('adds a managed neighbour as ip neigh add ... managed does (no state, no MAC: the kernel resolves it)', async () => {
    ip(ns(), 'link', 'set', 'n0', 'up');
    ip(ns(), 'addr', 'add', '10.8.0.1/24', 'dev', 'n0');
    ip(ns(), 'neigh', 'add', '10.8.0.20', 'dev', 'n0', 'managed');
    // It was a ValidationError asking for a MAC (the default state was permanent), and with a MAC the kernel's EINVAL.
    await h().neighbours.add({ link: 'n0', address: '10.8.0.21', managed: true });
    const made = ipJson<Array<{ dst: string; managed?: null; state: string[] }>>(ns(), 'neigh', 'show', 'nud', 'all', 'dev', 'n0');
    const of = (dst: string) => made.find((n) => n.dst === dst);
    expect(of('10.8.0.20')).toMatchObject({ managed: null });
    expect({ ...of('10.8.0.21'), dst: 'x' }).toEqual({ ...of('10.8.0.20'), dst: 'x' }); // the same entry as ip's
    expect((await h().neighbours.get({ link: 'n0', address: '10.8.0.21' })).flags).toContain('managed');
    const e = await h()
      .neighbours.add({ link: 'n0', address: '10.8.0.22', managed: true, mac: '02:00:00:00:08:22', state: 'permanent' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('state');
  });

  it("refuses a VXLAN remote on an entry of a bridge's FDB, which would drop it and make a plain entry", async () => {
    ip(ns(), 'link', 'add', 'vxp', 'type', 'vxlan', 'id', '9', 'local', '10.7.0.1', 'dstport', '4789', 'nolearning', 'dev', 'u0');
    ip(ns(), 'link', 'set', 'vxp', 'master', 'br0');
    const fdb = h().fdb;
    for (const [field, value] of [
      ['dst', '10.7.0.9'],
      ['port', 4790],
      ['vni', 99],
      ['via', 'u0'],
    ] as const) {
      for (const entry of [
        { link: 'vxp', bridge: 'br0', mac: '02:00:00:00:09:01', state: 'static' as const },
        { link: 'vxp', master: true, mac: '02:00:00:00:09:01', state: 'static' as const },
        { link: 'br0', bridge: 'br0', mac: '02:00:00:00:09:01', state: 'static' as const },
      ]) {
        const e = await fdb.add({ ...entry, [field]: value }).catch((x: unknown) => x);
        expect(e, `${field} ${JSON.stringify(entry)}`).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).field).toBe(field);
      }
    }
    expect(fdbOf(ns(), 'vxp').filter((e) => e.startsWith('02:00:00:00:09:01'))).toEqual([]);
    expect(fdbOf(ns(), 'br0').filter((e) => e.startsWith('02:00:00:00:09:01'))).toEqual([]);
    // On the VXLAN device's own table the remote is kept.
    await fdb.add({ link: 'vxp', mac: '02:00:00:00:09:01', dst: '10.7.0.9', port: 4790 });
    expect(fdbOf(ns(), 'vxp').filter((e) => e.startsWith('02:00:00:00:09:0'))).toEqual(['02:00:00:00:09:01 10.7.0.9']);
  });
});
