// A listed neighbour or FDB entry written back makes the same entry, compared with `ip -j neigh` and `bridge -j fdb`;
// a proxy neighbour refuses the state and MAC the kernel would drop.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

type Row = Record<string, unknown>;

/** Our neighbour entries on n0 (cache and proxy) as `ip -j` prints them, in a stable order. */
function neighRows(ns: string): Row[] {
  const rows = [...ipJson<Row[]>(ns, 'neigh', 'show', 'nud', 'all', 'dev', 'n0'), ...ipJson<Row[]>(ns, 'neigh', 'show', 'proxy', 'dev', 'n0')];
  return rows.filter((r) => /^(10\.9\.0\.|fd00::)/.test(String(r.dst))).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Our FDB entries of a device as `bridge -j fdb` prints them, in a stable order. */
function fdbRows(ns: string, dev: string): Row[] {
  const rows = JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }) || '[]') as Row[];
  return rows
    .filter((r) => String(r.mac).startsWith('02:00:00:00:0') || (r.mac === '00:00:00:00:00:00' && r.dst !== undefined))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function bridge(ns: string, ...args: string[]): void {
  execFileSync('bridge', ['-n', ns, ...args]);
}

describe('listed neighbours and FDB entries written back', () => {
  const box = useNetns('nl');
  const ns = () => box.ns('nl');
  const h = () => box.h('nl');

  it('a listed neighbour (cache and proxy) writes back the same entry: state, flags and protocol', async () => {
    ip(ns(), 'link', 'add', 'n0', 'type', 'veth', 'peer', 'name', 'n1');
    ip(ns(), 'link', 'set', 'n0', 'up');
    ip(ns(), 'neigh', 'add', '10.9.0.2', 'lladdr', '02:00:00:00:09:02', 'dev', 'n0', 'nud', 'permanent', 'protocol', 'static');
    ip(ns(), 'neigh', 'add', '10.9.0.3', 'lladdr', '02:00:00:00:09:03', 'dev', 'n0', 'nud', 'stale', 'extern_learn');
    ip(ns(), 'neigh', 'add', '10.9.0.4', 'lladdr', '02:00:00:00:09:04', 'dev', 'n0', 'nud', 'noarp');
    ip(ns(), 'neigh', 'add', 'fd00::2', 'lladdr', '02:00:00:00:09:12', 'dev', 'n0', 'router', 'extern_learn', 'nud', 'stale', 'protocol', 'static');
    ip(ns(), 'neigh', 'add', 'proxy', '10.9.0.5', 'dev', 'n0', 'router');
    ip(ns(), 'neigh', 'add', 'proxy', 'fd00::5', 'dev', 'n0');
    const before = neighRows(ns());
    expect(before).toHaveLength(6);
    const nb = h().neighbours;
    const listed = [...(await nb.list({ link: 'n0' })), ...(await nb.list({ link: 'n0', proxy: true }))].filter((n) => /^(10\.9\.0\.|fd00::)/.test(n.address));
    expect(listed).toHaveLength(6);
    // Removed with ip, made again from the listed entries: one by one, then as one bulk write.
    const removeAll = () => {
      for (const n of listed) ip(ns(), 'neigh', 'del', ...(n.proxy ? ['proxy'] : []), n.address, 'dev', 'n0');
      expect(neighRows(ns())).toEqual([]);
    };
    removeAll();
    // It was a ValidationError: a listed state is an array (and the flags were dropped).
    for (const n of listed) await nb.add(n);
    expect(neighRows(ns())).toEqual(before);
    removeAll();
    await nb.add(listed);
    expect(neighRows(ns())).toEqual(before);
    // Changed with ip, replaced back.
    ip(ns(), 'neigh', 'replace', '10.9.0.2', 'lladdr', '02:00:00:00:09:99', 'dev', 'n0', 'nud', 'stale');
    ip(ns(), 'neigh', 'replace', 'fd00::2', 'lladdr', '02:00:00:00:09:98', 'dev', 'n0', 'nud', 'stale');
    expect(neighRows(ns())).not.toEqual(before);
    for (const n of listed) await nb.replace(n);
    expect(neighRows(ns())).toEqual(before);
    // An option given wins over the listed flags.
    const v6 = listed.find((n) => n.address === 'fd00::2')!;
    await nb.replace({ ...v6, router: false });
    expect(neighRows(ns()).find((r) => r.dst === 'fd00::2')).not.toHaveProperty('router');
    expect(neighRows(ns()).find((r) => r.dst === 'fd00::2')).toHaveProperty('extern_learn');
    // A misspelt listed flag is refused, not dropped.
    await expect(nb.replace({ ...v6, flags: ['routr'] })).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses a state or MAC on a proxy neighbour, which the kernel took and dropped', async () => {
    const nb = h().neighbours;
    for (const [field, extra] of [
      ['state', { state: 'permanent' as const }],
      ['state', { state: 'none' as const }],
      ['mac', { mac: '02:00:00:00:09:06' }],
    ] as const) {
      for (const write of [nb.add.bind(nb), nb.replace.bind(nb)]) {
        const e = await write({ link: 'n0', address: '10.9.0.6', proxy: true, ...extra }).catch((x: unknown) => x);
        expect(e, `${field} ${JSON.stringify(extra)}`).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).field).toBe(field);
      }
    }
    expect(ipJson<Row[]>(ns(), 'neigh', 'show', 'proxy', 'dev', 'n0').filter((r) => r.dst === '10.9.0.6')).toEqual([]);
    await nb.add({ link: 'n0', address: '10.9.0.6', proxy: true });
    expect(ipJson<Row[]>(ns(), 'neigh', 'show', 'proxy', 'dev', 'n0').filter((r) => r.dst === '10.9.0.6')).toHaveLength(1);
  });

  it('a listed FDB entry (bridge port, VXLAN remote) writes back the same entry: state, remote and flags', async () => {
    ip(ns(), 'link', 'add', 'br0', 'type', 'bridge');
    ip(ns(), 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    ip(ns(), 'link', 'set', 'p1', 'master', 'br0');
    // A dynamic entry needs a forwarding port (EPERM on a disabled one).
    for (const dev of ['br0', 'p0', 'p1']) ip(ns(), 'link', 'set', dev, 'up');
    bridge(ns(), 'fdb', 'add', '02:00:00:00:0a:01', 'dev', 'p1', 'master', 'static', 'sticky');
    bridge(ns(), 'fdb', 'add', '02:00:00:00:0a:02', 'dev', 'p1', 'master', 'extern_learn');
    bridge(ns(), 'fdb', 'add', '02:00:00:00:0a:03', 'dev', 'p1', 'master', 'dynamic');
    bridge(ns(), 'fdb', 'add', '02:00:00:00:0a:04', 'dev', 'p1', 'master', 'static');
    ip(ns(), 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1');
    ip(ns(), 'addr', 'add', '10.7.0.1/24', 'dev', 'u0');
    ip(ns(), 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '7', 'local', '10.7.0.1', 'dstport', '4789', 'nolearning', 'dev', 'u0');
    bridge(ns(), 'fdb', 'add', '02:00:00:00:0b:01', 'dev', 'vx0', 'dst', '10.7.0.2', 'port', '4790', 'vni', '99', 'router');
    bridge(ns(), 'fdb', 'add', '02:00:00:00:0b:02', 'dev', 'vx0', 'dst', '10.7.0.2', 'extern_learn', 'static');
    bridge(ns(), 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '10.7.0.3', 'via', 'u0');
    bridge(ns(), 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '10.7.0.4');
    const fdb = h().fdb;
    const before = { p1: fdbRows(ns(), 'p1'), vx0: fdbRows(ns(), 'vx0') };
    expect(before.p1).toHaveLength(4);
    expect(before.vx0).toHaveLength(4);
    const listed = [...(await fdb.list({ link: 'p1' })), ...(await fdb.list({ link: 'vx0' }))].filter(
      (e) => e.mac.startsWith('02:00:00:00:0') || (e.mac === '00:00:00:00:00:00' && e.dst !== undefined),
    );
    expect(listed).toHaveLength(8);
    for (const e of listed) await fdb.delete(e);
    expect({ p1: fdbRows(ns(), 'p1'), vx0: fdbRows(ns(), 'vx0') }).toEqual({ p1: [], vx0: [] });
    // The sticky, extern_learn and router flags were dropped: plain entries came back.
    for (const e of listed) await (e.mac === '00:00:00:00:00:00' ? fdb.append(e) : fdb.add(e));
    expect({ p1: fdbRows(ns(), 'p1'), vx0: fdbRows(ns(), 'vx0') }).toEqual(before);
    // Changed with bridge, replaced back.
    bridge(ns(), 'fdb', 'replace', '02:00:00:00:0a:01', 'dev', 'p1', 'master', 'static');
    bridge(ns(), 'fdb', 'replace', '02:00:00:00:0b:01', 'dev', 'vx0', 'dst', '10.7.0.9');
    expect(fdbRows(ns(), 'p1')).not.toEqual(before.p1);
    for (const e of listed) if (e.mac !== '00:00:00:00:00:00') await fdb.replace(e);
    expect({ p1: fdbRows(ns(), 'p1'), vx0: fdbRows(ns(), 'vx0') }).toEqual(before);
    // An option given wins over the listed flags.
    const sticky = listed.find((e) => e.mac === '02:00:00:00:0a:01')!;
    await fdb.replace({ ...sticky, sticky: false });
    expect(fdbRows(ns(), 'p1').find((r) => r.mac === '02:00:00:00:0a:01')).toMatchObject({ flags: [], state: 'static' });
  });
});
