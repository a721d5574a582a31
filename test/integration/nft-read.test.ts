// Reading nftables back with the verbs of every family: `list` (filters),
// `get` (one by key, NotFoundError when missing), `find` (one or undefined);
// listed objects round-trip into get; unknown filter keys are refused; the
// former list* names still work (deprecated).
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, ValidationError, rule } from '../../lib';
import { nftObjects } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

const T = { family: 'inet', table: 'rd' } as const;

describe('nftables read verbs', () => {
  const box = useNetns('rd');
  const h = () => box.h('rd');
  let ruleHandle = 0;

  async function setup(): Promise<void> {
    if (ruleHandle) return;
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'rd' });
    tx.addChain({ ...T, name: 'c' });
    tx.addSet({ ...T, name: 's', keyType: 'inet_service' }, [{ key: 22 }, { key: 80 }]);
    tx.addObject({ ...T, name: 'n', type: 'counter' });
    const r = tx.addRule({ ...T, chain: 'c', rule: rule().tcp({ dport: '@s' }).accept() });
    const { results } = await tx.commit();
    ruleHandle = results[r].handle!;
  }

  it('get returns one object by key, find the same or undefined', async () => {
    await setup();
    expect(await h().nft.tables.get({ family: 'inet', name: 'rd' })).toMatchObject({ family: 'inet', name: 'rd' });
    expect(await h().nft.chains.get({ ...T, name: 'c' })).toMatchObject({ table: 'rd', name: 'c' });
    expect(await h().nft.rules.get({ ...T, chain: 'c', handle: ruleHandle })).toMatchObject({
      chain: 'c',
      handle: ruleHandle,
      expressions: rule().tcp({ dport: '@s' }).accept().toExpressions('inet'),
    });
    expect(await h().nft.sets.get({ ...T, name: 's' })).toMatchObject({ name: 's', keyType: 'inet_service' });
    expect(await h().nft.objects.get({ ...T, name: 'n', type: 'counter' })).toMatchObject({ name: 'n', type: 'counter' });
    expect(await h().nft.tables.find({ family: 'inet', name: 'rd' })).toMatchObject({ name: 'rd' });
    expect(await h().nft.sets.find({ ...T, name: 's' })).toMatchObject({ name: 's' });
    expect((await h().nft.elements.list({ ...T, name: 's' })).map((e) => e.key).sort()).toEqual([22, 80]);
    // Cross-check against nft: the same objects exist.
    expect(nftObjects(box.ns('rd'), 'set', 'rd').map((s) => s.name)).toEqual(['s']);
  });

  it('get throws NotFoundError (an ENOENT NetlinkError) for what is missing; find returns undefined', async () => {
    await setup();
    const missing = [
      () => h().nft.tables.get({ family: 'inet', name: 'nope' }),
      () => h().nft.tables.get({ family: 'inet', handle: 999_999 }),
      () => h().nft.chains.get({ ...T, name: 'nope' }),
      () => h().nft.chains.get({ family: 'inet', table: 'nope', name: 'c' }),
      () => h().nft.rules.get({ ...T, chain: 'c', handle: 999_999 }),
      () => h().nft.sets.get({ ...T, name: 'nope' }),
      () => h().nft.elements.list({ ...T, name: 'nope' }),
      () => h().nft.objects.get({ ...T, name: 'nope', type: 'counter' }),
    ];
    for (const get of missing) {
      const err = await get().catch((e) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err.code).toBe('ENOENT');
    }
    expect(await h().nft.tables.find({ family: 'inet', name: 'nope' })).toBeUndefined();
    expect(await h().nft.chains.find({ ...T, name: 'nope' })).toBeUndefined();
    expect(await h().nft.rules.find({ ...T, chain: 'c', handle: 999_999 })).toBeUndefined();
    expect(await h().nft.sets.find({ ...T, name: 'nope' })).toBeUndefined();
    expect(await h().nft.objects.find({ ...T, name: 'nope', type: 'counter' })).toBeUndefined();
  });

  it('listed objects pass to get as they are (read types are keys)', async () => {
    await setup();
    const [table] = await h().nft.tables.list({ family: 'inet', table: 'rd' });
    const [chain] = await h().nft.chains.list({ ...T, chain: 'c' });
    const [r] = await h().nft.rules.list({ ...T, chain: 'c' });
    const [set] = await h().nft.sets.list(T);
    const [obj] = await h().nft.objects.list({ ...T, type: 'counter' });
    expect((await h().nft.tables.get(table)).handle).toBe(table.handle);
    expect((await h().nft.tables.get({ family: 'inet', handle: table.handle })).name).toBe('rd');
    expect((await h().nft.chains.get(chain)).handle).toBe(chain.handle);
    expect((await h().nft.chains.get({ ...T, handle: chain.handle })).name).toBe('c');
    expect((await h().nft.rules.get(r)).handle).toBe(r.handle);
    expect((await h().nft.sets.get(set)).name).toBe('s');
    expect((await h().nft.objects.get(obj)).name).toBe('n');
  });

  it('refuses filter keys a listing does not know, before anything is sent', async () => {
    await expect(h().nft.tables.list({ family: 'inet', tabel: 'rd' } as never)).rejects.toThrow(ValidationError);
    await expect(h().nft.tables.list({ chain: 'c' } as never)).rejects.toThrow(/unknown option/);
    await expect(h().nft.rules.list({ table: 'rd', chian: 'c' } as never)).rejects.toThrow(ValidationError);
    await expect(h().nft.objects.list({ kind: 'counter' } as never)).rejects.toThrow(ValidationError);
    await expect(h().nft.rules.get({ ...T, chain: 'c', handle: 0 })).rejects.toThrow(ValidationError);
  });

  it('refuses reference keys a get does not know (they were ignored), and takes listed objects as they are', async () => {
    await setup();
    const nft = h().nft;
    for (const [what, call] of [
      ['tables.get', () => nft.tables.get({ family: 'inet', name: 'rd', hanlde: 1 } as never)],
      ['chains.get', () => nft.chains.get({ ...T, name: 'c', hadnle: 1 } as never)],
      ['sets.get', () => nft.sets.get({ ...T, name: 's', bogus: 1 } as never)],
      ['sets.find', () => nft.sets.find({ ...T, name: 's', bogus: 1 } as never)],
      ['elements.list', () => nft.elements.list({ ...T, name: 's', keyy: 22 } as never)],
    ] as const) {
      await expect(call(), what).rejects.toThrow(ValidationError);
    }
    const rs = await nft.ruleset.get(T);
    expect(await nft.tables.get(rs.tables[0])).toEqual(rs.tables[0]);
    expect((await nft.chains.get(rs.chains[0])).name).toBe('c');
    expect((await nft.sets.get(rs.sets[0])).name).toBe('s');
    expect((await nft.elements.list(rs.sets[0])).map((e) => e.key).sort()).toEqual([22, 80]);
  });

  it('rules.get and objects.get refuse reference keys they do not know, and take listed rules and objects as they are', async () => {
    await setup();
    const nft = h().nft;
    for (const [what, call] of [
      ['rules.get', () => nft.rules.get({ ...T, chain: 'c', handle: ruleHandle, hadnle: 1 } as never)],
      ['rules.find', () => nft.rules.find({ ...T, chain: 'c', handle: ruleHandle, bogus: 1 } as never)],
      ['objects.get', () => nft.objects.get({ ...T, name: 'n', type: 'counter', nmae: 'x' } as never)],
      ['objects.find', () => nft.objects.find({ ...T, name: 'n', type: 'counter', consumed: 1 } as never)],
    ] as const) {
      await expect(call(), what).rejects.toThrow(ValidationError);
    }
    const rs = await nft.ruleset.get(T);
    expect((await nft.rules.get(rs.rules[0])).handle).toBe(ruleHandle);
    expect(await nft.objects.get(rs.objects[0])).toMatchObject({ name: 'n', type: 'counter' });
  });

  it('the ruleset and the generation', async () => {
    await setup();
    const rs = await h().nft.ruleset.get(T);
    expect(rs.tables.map((t) => t.name)).toEqual(['rd']);
    expect(rs.sets[0].elements.map((e) => e.key).sort()).toEqual([22, 80]);
    expect(rs.objects.map((o) => o.name)).toEqual(['n']);
    const { id } = await h().nft.generation.get();
    expect(id).toBeGreaterThan(0);
  });

  it('deprecated names still work: listTables, listChains, listRules, listSets, getSet, listElements, listObjects, listRuleset, generation()', async () => {
    await setup();
    const nft = h().nft;
    // The former calls ignored filter keys that do not apply; they still do.
    expect((await nft.listTables({ family: 'inet', table: 'rd', chain: 'x' })).map((t) => t.name)).toEqual(['rd']);
    expect((await nft.listChains(T)).map((c) => c.name)).toEqual(['c']);
    expect((await nft.listRules({ ...T, chain: 'c' }))[0].handle).toBe(ruleHandle);
    expect((await nft.listSets(T)).map((s) => s.name)).toEqual(['s']);
    expect((await nft.getSet({ ...T, name: 's' })).name).toBe('s');
    expect(await nft.listElements({ ...T, name: 's' })).toHaveLength(2);
    expect((await nft.listObjects({ ...T, type: 'counter' })).map((o) => o.name)).toEqual(['n']);
    expect((await nft.listRuleset(T)).rules).toHaveLength(1);
    expect((await nft.generation()).id).toBe((await nft.generation.get()).id);
  });
});
