// A misspelt option key (`polciy: 'drop'`) of anything a transaction adds
// used to be dropped without a word: the chain was created with the
// default accept policy. It is refused when the command is added, so
// nothing of it reaches the kernel (read back with `nft -j list ruleset`).
// What a listing returns (handles, use counts, a listed set's elements) is
// still taken back as it is; deleting a set a rule still uses names the
// command and says why.
import { describe, expect, it } from 'vitest';
import { NftCommandError, ValidationError, rule } from '../../lib';
import { nftJson, nftObjects } from '../helpers/nft';
import { useNetns } from '../helpers/netns';
import { rulesetWithoutHandles, writeBackAfterDelete } from '../helpers/nft-write-back';

describe('nftables option keys', () => {
  const box = useNetns('nftkeys');
  const ns = () => box.ns('nftkeys');
  const h = () => box.h('nftkeys');

  it('refuses a misspelt key when the command is added: nothing of it reaches the kernel', async () => {
    expect(nftJson(ns())).toEqual([]);
    const gen = (await h().nft.generation.get()).id;
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'k' });
    let caught: unknown;
    try {
      tx.addChain({ family: 'inet', table: 'k', name: 'input', type: 'filter', hook: 'input', priority: 0, polciy: 'drop' } as never);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).message).toContain('"polciy": unknown option');
    expect(() => tx.addSet({ family: 'inet', table: 'k', name: 's', keyType: 'ipv4_addr', sizee: 10 } as never)).toThrow(/"sizee": unknown option/);
    expect(tx.describe()).toEqual(['add table inet k']);
    await tx.commit();

    // Only the table was sent: no chain (an accept-policy chain before), no set.
    expect((await h().nft.generation.get()).id).toBe(gen + 1);
    expect(nftObjects(ns(), 'table').map((t) => t.name)).toEqual(['k']);
    expect(nftObjects(ns(), 'chain')).toEqual([]);
    expect(nftObjects(ns(), 'set')).toEqual([]);
    const del = h().nft.transaction();
    del.deleteTable({ family: 'inet', name: 'k' });
    await del.commit();
    expect(nftJson(ns())).toEqual([]);
  });

  it('takes a listed ruleset back as listed (read-only keys, a set with its elements), and names a delete of a set still in use', async () => {
    const t = { family: 'inet', table: 'r' } as const;
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'r', comment: 'round trip' });
    tx.addChain({ ...t, name: 'input', type: 'filter', hook: 'input', priority: 0, policy: 'drop' });
    tx.addSet({ ...t, name: 'allowed', keyType: 'ipv4_addr', flags: ['interval'], size: 64, comment: 'who' }, [{ key: '10.0.0.0/8' }, { key: '192.0.2.7' }]);
    tx.addObject({ ...t, name: 'hits', type: 'counter', packets: 5n, bytes: 300n });
    tx.addRule({ ...t, chain: 'input', rule: rule().match('ip saddr', '@allowed').accept() });
    await tx.commit();
    const before = rulesetWithoutHandles(ns());
    const listed = await h().nft.ruleset.get({ family: 'inet', table: 'r' });
    expect(listed.tables[0].handle).toBeGreaterThan(0);
    expect(listed.sets[0].elements.length).toBe(2);

    // Deleting the set the rule looks up: the kernel's EBUSY, naming the command and what it means.
    const busy = h().nft.transaction();
    busy.deleteSet({ ...t, name: 'allowed' });
    const err = await busy.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NftCommandError);
    expect((err as NftCommandError).code).toBe('EBUSY');
    expect((err as NftCommandError).message).toContain('delete set inet r allowed');
    expect((err as NftCommandError).message).toContain('still in use');
    expect(rulesetWithoutHandles(ns())).toBe(before);

    // Everything written again from the listing as it came (handles, use counts, the set's elements).
    await writeBackAfterDelete(h(), ns(), { family: 'inet', name: 'r' }, listed);
    expect(rulesetWithoutHandles(ns())).toBe(before);
    expect(nftObjects(ns(), 'set', 'r')[0].elem).toHaveLength(2);
  });
});
