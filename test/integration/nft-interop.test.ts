// Interop with nft(8), both ways: the same ruleset loaded with `nft -f` and
// committed with nlkit reads back identically — as nlkit objects and in
// `nft -j list ruleset`. Covers every expression, set/map type and object
// kind nlkit types; plus table families and flags, netdev/bridge chains.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeNftRule, open } from '../../lib';
import type { Expression } from '../../lib/nftables/expressions/registry';
import { RULE_CASES, nftSource, nlkitDefinition } from '../helpers/nft-cases';
import { nft, nftJson, nftLoad, nftObjects, nftRuleLines } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

/** Drops what legitimately differs between two copies of a table: names, handles, use counts, expiry clocks. */
function normalize(v: unknown, table: string): unknown {
  return JSON.parse(
    JSON.stringify(v, (k, x) => {
      if (k === 'handle' || k === 'use' || k === 'expires' || k === 'userdata' || k === 'owner') return undefined;
      if (typeof x === 'bigint') return String(x);
      if (x && typeof x === 'object' && x.type === 'Buffer' && Array.isArray(x.data)) return Buffer.from(x.data).toString('hex');
      if (typeof x === 'string' && (k === 'table' || k === 'name') && x === table) return '<table>';
      if (typeof x === 'string' && /^__(set|map)\d+$/.test(x)) return '<anonymous>';
      if (typeof x === 'string' && /^@__(set|map)\d+$/.test(x)) return '@<anonymous>';
      // A rule's anonymous interval set: nft sizes it by its boundaries, nlkit by its elements (a hint either way).
      if (k === 'anonymousSets' && Array.isArray(x)) return x.map(({ size: _size, ...rest }: { size?: number }) => rest);
      return x;
    }),
  );
}

describe('nftables interop with nft', () => {
  const box = useNetns('nft');
  const ns = () => box.ns('nft');

  it('loads the reference ruleset with nft and the same one with nlkit', async () => {
    nftLoad(ns(), nftSource('fromnft'));
    const h = box.h('nft');
    const d = nlkitDefinition('fromnlk');
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 'fromnlk', comment: d.comment });
    for (const o of d.objects) tx.addObject(o);
    for (const c of d.chains.filter((c) => c.name === 'x')) tx.addChain(c);
    for (const [s, els] of d.sets) tx.addSet(s, els);
    for (const c of d.chains.filter((c) => c.name !== 'x')) tx.addChain(c);
    for (const [chain, , r] of RULE_CASES) {
      tx.addRule({ family: 'inet', table: 'fromnlk', chain, ...(Array.isArray(r) ? { expressions: r } : { rule: r }) });
    }
    const { results } = await tx.commit();
    expect(results.every((r) => r.handle !== undefined)).toBe(true);
  });

  it('nft prints what nlkit wrote exactly as what nft wrote, rule by rule', () => {
    const a = nftRuleLines(ns(), 'inet', 'fromnft');
    const b = nftRuleLines(ns(), 'inet', 'fromnlk');
    expect(b).toEqual(a);
    // The statements themselves, as nft renders them from the kernel's view of nlkit's rules.
    expect(b).toContain('ip saddr 10.0.0.0/24 oifname != "c1" masquerade');
    expect(b).toContain('meta l4proto tcp dnat ip to numgen random mod 100 map { 0-89 : 10.0.0.2 . 80, 90-99 : 10.0.0.3 . 80 }');
  });

  it('nft -j shows the same tables, chains, sets, maps, elements, objects and rules', () => {
    const pick = (table: string) =>
      normalize(
        nftJson(ns()).filter((o) => Object.values(o)[0].table === table || Object.values(o)[0].name === table),
        table,
      );
    expect(pick('fromnlk')).toEqual(pick('fromnft'));
    // Spot checks of the JSON nft produces for nlkit's objects.
    const sets = nftObjects(ns(), 'set', 'fromnlk');
    expect(sets.find((s) => s.name === 'v4')).toMatchObject({
      type: 'ipv4_addr',
      flags: ['interval'],
      elem: [{ prefix: { addr: '10.0.0.0', len: 8 } }, { range: ['172.16.0.1', '172.16.0.9'] }, '192.168.1.1'],
    });
    expect(sets.find((s) => s.name === 'marks')).toMatchObject({ type: 'mark', elem: [1, 256] });
    expect(sets.find((s) => s.name === 'seen')).toMatchObject({ timeout: 60, size: 65535 });
    const maps = nftObjects(ns(), 'map', 'fromnlk');
    expect(maps.find((m) => m.name === 'dm')).toMatchObject({ type: ['ipv4_addr', 'inet_service'], map: 'ipv4_addr . inet_service' });
    expect(nftObjects(ns(), 'quota', 'fromnlk')).toMatchObject([{ name: 'q', bytes: 26214400 }]);
    expect(nft(ns(), 'list', 'table', 'inet', 'fromnlk')).toContain('comment "interop"');
  });

  it('nlkit decodes what nft wrote into the same objects nlkit wrote', async () => {
    const h = box.h('nft');
    const a = await h.nft.ruleset.get({ family: 'inet', table: 'fromnft' });
    const b = await h.nft.ruleset.get({ family: 'inet', table: 'fromnlk' });
    expect(normalize(b.tables, 'fromnlk')).toEqual(normalize(a.tables, 'fromnft'));
    expect(normalize(b.chains, 'fromnlk')).toEqual(normalize(a.chains, 'fromnft'));
    expect(normalize(b.objects, 'fromnlk')).toEqual(normalize(a.objects, 'fromnft'));
    expect(normalize(b.rules, 'fromnlk')).toEqual(normalize(a.rules, 'fromnft'));
    const named = (r: typeof a) => r.sets.filter((s) => !s.name.startsWith('__'));
    expect(normalize(named(b), 'fromnlk')).toEqual(normalize(named(a), 'fromnft'));
    // And those objects are what the caller wrote.
    const d = nlkitDefinition('fromnlk');
    for (const [s, els] of d.sets) {
      const got = b.sets.find((x) => x.name === s.name)!;
      const { timeout: _t, ...rest } = s;
      expect(got).toMatchObject(rest);
      expect(got.elements.map(({ expires: _e, counter: _c, ...e }) => e)).toEqual(els);
    }
    expect(b.chains.find((c) => c.name === 'in')).toMatchObject({ type: 'filter', hook: 'input', priority: 10, policy: 'drop', comment: 'in' });
  });

  it('lists rules of one chain, and decodes each expression kind listed in the issue', async () => {
    const rules = await box.h('nft').nft.rules.list({ family: 'inet', table: 'fromnft', chain: 'f' });
    expect(rules.every((r) => r.chain === 'f')).toBe(true);
    const all = await box.h('nft').nft.rules.list({ family: 'inet', table: 'fromnft' });
    const kinds = new Set(all.flatMap((r) => r.expressions.map((e) => e.type)));
    for (const k of [
      'payload',
      'meta',
      'cmp',
      'bitwise',
      'range',
      'immediate',
      'counter',
      'ct',
      'nat',
      'masq',
      'redir',
      'numgen',
      'lookup',
      'dynset',
      'fib',
      'limit',
      'log',
      'reject',
      'notrack',
      'objref',
      'quota',
      'byteorder',
      'exthdr',
      'tproxy',
      'socket',
      'rt',
      'osf',
      'synproxy',
      'hash',
      'connlimit',
    ]) {
      expect(kinds, k).toContain(k);
    }
    expect([...kinds]).not.toContain('opaque');
  });

  it('round-trips an expression nlkit has no type for (opaque) through list and re-add', async () => {
    // iptables-nft writes its matches as xtables `match` expressions, which nlkit keeps opaque.
    execFileSync('ip', ['netns', 'exec', ns(), 'iptables-nft', '-A', 'INPUT', '-m', 'comment', '--comment', 'opq', '-j', 'ACCEPT']);
    const h = box.h('nft');
    const [r] = await h.nft.rules.list({ family: 'ip', table: 'filter', chain: 'INPUT' });
    expect(r.expressions.some((e) => e.type === 'opaque' && e.name === 'match')).toBe(true);
    const tx = h.nft.transaction();
    tx.addRule({ family: 'ip', table: 'filter', chain: 'INPUT', expressions: r.expressions });
    await tx.commit();
    const lines = execFileSync('ip', ['netns', 'exec', ns(), 'iptables-nft', '-S', 'INPUT'], { encoding: 'utf8' }).trim().split('\n');
    expect(lines.slice(1)).toEqual(['-A INPUT -m comment --comment opq -j ACCEPT', '-A INPUT -m comment --comment opq -j ACCEPT']);
  });

  it('dup and fwd (ip and netdev tables): the same rules as nft, decoded and described alike', async () => {
    const h = box.h('nft');
    const lo = (await h.links.get('lo')).index;
    const ifindex = Buffer.alloc(4);
    ifindex.writeUInt32LE(lo); // host order, as nft puts an interface index into a register
    const addr = Buffer.from([10, 0, 0, 1]);
    const source = (suffix: string) => `table ip dup${suffix} {
  chain c {
    type filter hook prerouting priority filter; policy accept;
    dup to 10.0.0.1 device "lo"
  }
}
table netdev fwd${suffix} {
  chain i {
    type filter hook ingress device "lo" priority filter; policy accept;
    fwd to "lo"
    dup to "lo"
    fwd ip to 10.0.0.1 device "lo"
  }
}
`;
    nftLoad(ns(), source('a'));
    // The same with nlkit: empty tables and chains from nft, the rules from typed expressions.
    nftLoad(ns(), source('b').replace(/^ {4}(dup|fwd) .*\n/gm, ''));
    const tx = h.nft.transaction();
    tx.addRule({
      family: 'ip',
      table: 'dupb',
      chain: 'c',
      expressions: [
        { type: 'immediate', dreg: 1, data: addr },
        { type: 'immediate', dreg: 2, data: ifindex },
        { type: 'dup', regAddr: 1, regDev: 2 },
      ],
    });
    const fwdRules: Expression[][] = [
      [
        { type: 'immediate', dreg: 1, data: ifindex },
        { type: 'fwd', regDev: 1 },
      ],
      [
        { type: 'immediate', dreg: 1, data: ifindex },
        { type: 'dup', regDev: 1 },
      ],
      [
        { type: 'immediate', dreg: 1, data: ifindex },
        { type: 'immediate', dreg: 2, data: addr },
        { type: 'fwd', regDev: 1, regAddr: 2, family: 'ip' },
      ],
    ];
    for (const expressions of fwdRules) tx.addRule({ family: 'netdev', table: 'fwdb', chain: 'i', expressions });
    await tx.commit();
    const expected = { dup: ['dup to 10.0.0.1 device "lo"'], fwd: ['fwd to "lo"', 'dup to "lo"', 'fwd ip to 10.0.0.1 device "lo"'] };
    const names = (i: number) => (i === lo ? 'lo' : undefined);
    for (const [family, kind] of [
      ['ip', 'dup'],
      ['netdev', 'fwd'],
    ] as const) {
      expect(nftRuleLines(ns(), family, `${kind}b`)).toEqual(expected[kind]);
      expect(nftRuleLines(ns(), family, `${kind}a`)).toEqual(expected[kind]);
      const a = await h.nft.rules.list({ family, table: `${kind}a` });
      const b = await h.nft.rules.list({ family, table: `${kind}b` });
      expect(b.map((r) => r.expressions)).toEqual(a.map((r) => r.expressions));
      expect(a.flatMap((r) => r.expressions).some((e) => e.type === 'opaque')).toBe(false);
      expect(a.map((r) => describeNftRule(r, { interfaceNames: names }))).toEqual(expected[kind]);
    }
  });

  it('tables of every family, dormant and owner flags, netdev and bridge chains', async () => {
    const h = box.h('nft');
    await h.links.add({ name: 'd0', kind: 'bridge' });
    const tx = h.nft.transaction();
    tx.addTable({ family: 'ip', name: 'f4', flags: ['dormant'] });
    tx.addTable({ family: 'ip6', name: 'f6' });
    tx.addChain({ family: 'ip6', table: 'f6', name: 'in', type: 'filter', hook: 'input', priority: 0 });
    tx.addTable({ family: 'bridge', name: 'fb' });
    tx.addChain({ family: 'bridge', table: 'fb', name: 'fwd', type: 'filter', hook: 'forward', priority: 'filter' });
    tx.addTable({ family: 'netdev', name: 'fn' });
    tx.addChain({ family: 'netdev', table: 'fn', name: 'ing', type: 'filter', hook: 'ingress', device: 'd0', priority: -500 });
    tx.addTable({ family: 'arp', name: 'fa' });
    await tx.commit();
    const tables = nftObjects(ns(), 'table');
    // (nft 1.0.6 prints table flags wrongly in JSON: check the text form.)
    expect(nft(ns(), 'list', 'table', 'ip', 'f4')).toContain('flags dormant');
    for (const [family, name] of [
      ['ip6', 'f6'],
      ['bridge', 'fb'],
      ['netdev', 'fn'],
      ['arp', 'fa'],
    ]) {
      expect(tables.find((t) => t.name === name)).toMatchObject({ family });
    }
    const chains = nftObjects(ns(), 'chain');
    expect(chains.find((c) => c.name === 'ing')).toMatchObject({ family: 'netdev', type: 'filter', hook: 'ingress', prio: -500 });
    expect(nft(ns(), 'list', 'table', 'netdev', 'fn')).toContain('type filter hook ingress device "d0" priority -500; policy accept;');
    expect(chains.find((c) => c.name === 'fwd')).toMatchObject({ family: 'bridge', hook: 'forward', prio: -200 });

    nftLoad(
      ns(),
      'table ip g4 {\n flags dormant\n}\ntable netdev gn {\n chain ing {\n  type filter hook ingress device "d0" priority -500; policy accept;\n }\n}\n',
    );
    const listed = await h.nft.tables.list();
    expect(listed.find((t) => t.name === 'g4')).toMatchObject({ family: 'ip', flags: ['dormant'] });
    const gn = await h.nft.chains.list({ family: 'netdev', table: 'gn' });
    expect(gn).toMatchObject([{ name: 'ing', type: 'filter', hook: 'ingress', device: 'd0', priority: -500, policy: 'accept' }]);
    // Filters keep what matches at each level (a table has no chain to compare).
    expect((await h.nft.tables.list({ table: 'gn' })).map((t) => `${t.family} ${t.name}`)).toEqual(['netdev gn']);
    expect((await h.nft.chains.list({ table: 'gn', chain: 'ing' })).map((c) => c.name)).toEqual(['ing']);
    expect(await h.nft.chains.list({ table: 'gn', chain: 'nope' })).toEqual([]);
    const one = await h.nft.ruleset.get({ family: 'netdev', table: 'gn' });
    expect(one.tables.map((t) => t.name)).toEqual(['gn']);
    expect(one.chains.map((c) => c.name)).toEqual(['ing']);

    // An owner table lives as long as the socket that created it: this handle's.
    const other = await open({ netns: ns() });
    const otx = other.nft.transaction();
    otx.addTable({ family: 'inet', name: 'owned', flags: ['owner'] });
    await otx.commit();
    const owned = (await h.nft.tables.list()).find((t) => t.name === 'owned');
    expect(owned).toMatchObject({ flags: ['owner'] });
    expect(owned!.owner).toBeGreaterThan(0);
    expect(nft(ns(), 'list', 'tables')).toContain('table inet owned');
    other.close();
    // The kernel drops the table when the owning socket goes away.
    for (let i = 0; i < 100 && nft(ns(), 'list', 'tables').includes('owned'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(nft(ns(), 'list', 'tables')).not.toContain('table inet owned');
  });
});
