// Element counters written back: a set or map defined with `counter` lists
// each element's packets and bytes (`element.counter`), and a listing written
// back (tables, chains, sets with their elements, ...) used to drop them: the
// kernel gave every element a new counter at 0. The counter is now written
// as the element's counter expression with its values (NFTA_SET_ELEM_EXPR),
// as nft writes `192.0.2.1 counter packets 5 bytes 300`, so the written-back
// ruleset is the one nft wrote (read back with `nft -j list ruleset`).
import { describe, expect, it } from 'vitest';
import { nftJson, nftLoad } from '../helpers/nft';
import { useNetns } from '../helpers/netns';
import { rulesetWithoutHandles, writeBackAfterDelete } from '../helpers/nft-write-back';

const RULESET = `
table inet c {
  set plain { type ipv4_addr; counter; elements = { 192.0.2.1 counter packets 5 bytes 300, 192.0.2.2 } }
  set ranges { type ipv4_addr; flags interval; counter; elements = { 10.0.0.0/8 counter packets 7 bytes 700, 198.51.100.1-198.51.100.9 counter packets 1 bytes 60 } }
  set pairs { type ipv4_addr . inet_service; counter; elements = { 192.0.2.3 . 80 counter packets 2 bytes 120 } }
  map ports { type inet_service : verdict; counter; elements = { 22 counter packets 9 bytes 900 : accept } }
}`;

describe('nftables element counters', () => {
  const box = useNetns('nftelctr');
  const ns = () => box.ns('nftelctr');
  const h = () => box.h('nftelctr');

  it('writes a listed set back with its elements’ counter values', async () => {
    nftLoad(ns(), RULESET);
    const before = rulesetWithoutHandles(ns());
    expect(before).toContain('{"packets":5,"bytes":300}');
    const listed = await h().nft.ruleset.get({ family: 'inet', table: 'c' });
    const plain = listed.sets.find((s) => s.name === 'plain');
    expect(plain?.elements.map((e) => e.counter)).toEqual([
      { packets: 5n, bytes: 300n },
      { packets: 0n, bytes: 0n },
    ]);

    await writeBackAfterDelete(h(), ns(), { family: 'inet', name: 'c' }, listed);
    // Before: every element came back with "counter": {"packets": 0, "bytes": 0}.
    expect(rulesetWithoutHandles(ns())).toBe(before);
  });

  it('adds elements with counter values given, as nft does', async () => {
    const tx = h().nft.transaction();
    tx.addElements({ family: 'inet', table: 'c', name: 'plain' }, [{ key: '192.0.2.9', counter: { packets: 3n, bytes: 180n } }]);
    await tx.commit();
    const [e] = await h()
      .nft.elements.list({ family: 'inet', table: 'c', name: 'plain' })
      .then((els) => els.filter((x) => x.key === '192.0.2.9'));
    expect(e.counter).toEqual({ packets: 3n, bytes: 180n });
    const set = nftJson(ns()).find((o) => o.set?.name === 'plain')?.set as { elem: Array<{ elem: { val: string; counter: unknown } }> };
    expect(set.elem.find((x) => x.elem.val === '192.0.2.9')?.elem.counter).toEqual({ packets: 3, bytes: 180 });
  });
});
