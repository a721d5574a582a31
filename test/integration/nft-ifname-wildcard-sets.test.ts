// Interface-name wildcards ("veth*") in sets: nft stores one as the interval
// of every name with that prefix. Written by nlkit (a named set, an inline
// set of the builder, a concatenation), they must match real packets from a
// veth; written by nft, nlkit must list them as "veth*" and copy them as they are.
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenTcp, rule, type Handle } from '../../lib';
import type { Expression } from '../../lib/nftables/expressions/registry';
import { nftLoad, nftObjects } from '../helpers/nft';
import { useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

const SRV = '10.9.7.1';
const t = { family: 'inet', table: 'w' } as const;

/** `iifname . ip saddr @pairs` as expressions, as nft writes it (the builder has no concatenated lookup). */
const PAIR_LOOKUP: Expression[] = [
  { type: 'meta', key: 'nfproto', dreg: 1 },
  { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([2]) },
  { type: 'meta', key: 'iifname', dreg: 1 },
  { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 2 },
  { type: 'lookup', set: 'pairs', sreg: 1 },
];

async function counters(h: Handle): Promise<number[]> {
  const rules = await h.nft.rules.list({ ...t, chain: 'input' });
  return rules.flatMap((r) => r.expressions.filter((e): e is Extract<Expression, { type: 'counter' }> => e.type === 'counter').map((e) => Number(e.packets)));
}

describe('nftables sets with interface-name wildcards', () => {
  const box = useNetns('srv', 'cli', 'copy');
  let server: net.Server | undefined;

  beforeAll(async () => {
    const h = box.h('srv');
    await h.links.add({ name: 'vethsrv', kind: 'veth', peer: { name: 'eth0', netns: box.ns('cli') }, up: true });
    await h.addresses.add('vethsrv', `${SRV}/24`);
    const c = box.h('cli');
    await c.links.set('eth0', { up: true });
    await c.addresses.add('eth0', '10.9.7.2/24');
    server = await listenTcp({ netns: box.ns('srv'), host: SRV, port: 7100 }, (s) => s.end('ok'));
  });

  afterAll(() => server?.close());

  it('sets written by nlkit match packets from a veth by the wildcard', async () => {
    const h = box.h('srv');
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 'w' });
    tx.addChain({ ...t, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
    tx.addSet({ ...t, name: 'names', keyType: 'ifname', flags: ['interval'] }, [{ key: 'veth*' }, { key: 'eth9' }]);
    tx.addSet({ ...t, name: 'pairs', keyType: ['ifname', 'ipv4_addr'], flags: ['interval'] }, [{ key: ['veth*', '10.9.7.0/24'] }]);
    tx.addRule({ ...t, chain: 'input', rule: rule().tcp({ dport: 7100 }).iifname(['veth*', 'eth9']).counter() });
    tx.addRule({ ...t, chain: 'input', rule: rule().tcp({ dport: 7100 }).iifname('@names').counter() });
    tx.addRule({ ...t, chain: 'input', expressions: [...PAIR_LOOKUP, { type: 'counter' }] });
    await tx.commit();

    expect(await hello(box.ns('cli'), SRV, 7100)).toBe('ok');
    const counts = await counters(h);
    expect(counts).toHaveLength(3);
    for (const n of counts) expect(n).toBeGreaterThan(0);
    expect(await h.nft.elements.list({ ...t, name: 'names' })).toEqual([{ key: 'eth9' }, { key: 'veth*' }]);
    expect(await h.nft.elements.list({ ...t, name: 'pairs' })).toEqual([{ key: ['veth*', '10.9.7.0/24'] }]);
  });

  it('sets written by nft list the wildcard, and copy as they are', async () => {
    nftLoad(
      box.ns('srv'),
      'table inet foreign {\n set s { type ifname; flags interval; elements = { "br-*", "veth*", "lo" }; }\n' +
        ' set c { type ifname . ipv4_addr; flags interval; elements = { "veth*" . 10.0.0.0/8 }; }\n}\n',
    );
    const h = box.h('srv');
    const ref = { family: 'inet', table: 'foreign' } as const;
    expect(await h.nft.elements.list({ ...ref, name: 's' })).toEqual([{ key: 'br-*' }, { key: 'lo' }, { key: 'veth*' }]);
    expect(await h.nft.elements.list({ ...ref, name: 'c' })).toEqual([{ key: ['veth*', '10.0.0.0/8'] }]);

    const tx = box.h('copy').nft.transaction();
    tx.addTable({ family: 'inet', name: 'foreign' });
    for (const { elements, ...s } of (await h.nft.ruleset.get(ref)).sets) tx.addSet(s, elements);
    await tx.commit();
    const strip = (o: Record<string, unknown>) => ({ ...o, handle: undefined });
    expect(nftObjects(box.ns('copy'), 'set', 'foreign').map(strip)).toEqual(nftObjects(box.ns('srv'), 'set', 'foreign').map(strip));
  });
});
