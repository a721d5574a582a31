// iface_index set elements: an index no link can have (2^31 and above; the
// kernel's ifindex is an int, and nft refuses them) is refused when the
// command is added, as a key, a range end or a map value; it used to be
// written as an element that matches nothing. What nft writes (0, "lo", 7)
// is still listed and written back as it came.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { nftLoad } from '../helpers/nft';
import { useNetns } from '../helpers/netns';
import { rulesetWithoutHandles, writeBackAfterDelete } from '../helpers/nft-write-back';

describe('nftables iface_index sets', () => {
  const box = useNetns('nftifidx');
  const ns = () => box.ns('nftifidx');
  const h = () => box.h('nftifidx');
  const S = { family: 'inet', table: 'i', name: 'devs' } as const;

  it('writes back what nft wrote, and refuses an index above 2^31 - 1: the set is unchanged', async () => {
    nftLoad(
      ns(),
      'table inet i {\n set devs { type iface_index; elements = { 0, "lo", 7 } }\n map out { type ipv4_addr : iface_index; elements = { 192.0.2.1 : "lo" } }\n}',
    );
    const before = rulesetWithoutHandles(ns());
    const listed = await h().nft.ruleset.get({ family: 'inet', table: 'i' });
    expect(listed.sets.find((s) => s.name === 'devs')?.elements.map((e) => e.key)).toEqual([0, 1, 7]);

    // The set's layout is read at commit: the element is refused there, before anything is sent.
    const bad: Array<[string, Record<string, unknown>]> = [
      ['devs', { key: 2 ** 31 }],
      ['devs', { key: 0xffffffff }],
      ['out', { key: '192.0.2.2', value: 2 ** 31 }],
    ];
    for (const [name, element] of bad) {
      const tx = h().nft.transaction();
      tx.addElements({ ...S, name }, [element as never]);
      const err = await tx.commit().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).message).toContain('must be an interface index: an integer from 0 to 2147483647');
    }
    expect(rulesetWithoutHandles(ns())).toBe(before);

    await writeBackAfterDelete(h(), ns(), { family: 'inet', name: 'i' }, listed);
    expect(rulesetWithoutHandles(ns())).toBe(before);
  });
});
