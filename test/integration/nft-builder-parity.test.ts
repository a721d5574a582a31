// Rule builder statements against nft: for each rule text, the expressions
// nft sends (captured from `nft --debug=mnl`, so also for what this kernel
// lacks, like queue) carry the same attributes with the same bytes as those
// nlkit writes for the builder calls. Two things are not the rule's own and
// are set aside: nft numbers an inline map `__map0`/`__map%d` and gives it a
// set id (nlkit's id is taken from nft's), and nft adds the set id of a named
// set it has cached (the kernel finds a named set by its name). Then each
// rule the kernel here accepts from nft is committed by nlkit into a copy of
// the tables, and `nft list` prints both copies alike.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { readExpressionList, type Expression } from '../../lib/nftables/expressions/registry';
import { BUILDER_PARITY_CASES, BUILDER_PARITY_RULESET } from '../helpers/nft-builder-cases';
import { nftLoad, nftRuleLines } from '../helpers/nft';
import { attributeTree, nftRuleExpressionBytes, nlkitExpressionBytes } from '../helpers/nft-request';
import { useNetns } from '../helpers/netns';

const ANONYMOUS = /^__(map|set)(\d+|%d)$/;

/** nft's expressions with the named-set ids and inline-map numbering set aside (see the top). */
function ownPart(exprs: Expression[]): Expression[] {
  return exprs.map((e) => {
    if (e.type !== 'lookup' && e.type !== 'dynset') return e;
    if (ANONYMOUS.test(e.set)) return { ...e, set: e.set.replace(/\d+$/, '%d') };
    const { setId: _named, ...rest } = e;
    return rest as Expression;
  });
}

describe('rule builder statements: parity with nft', () => {
  const box = useNetns('bp');
  beforeAll(() => nftLoad(box.ns('bp'), BUILDER_PARITY_RULESET));

  it.each(BUILDER_PARITY_CASES.map((c) => [c[3], c] as const))('%s', (_text, [family, table, chain, text, builder]) => {
    const fromNft = nftRuleExpressionBytes(box.ns('bp'), family, table, chain, ...text.split(' '));
    expect(fromNft, text).toBeDefined();
    const nftExprs = ownPart(readExpressionList(fromNft!));
    const nftSetId = nftExprs.find((e) => e.type === 'lookup')?.setId;
    const ours = nlkitExpressionBytes(builder.build(family, { setId: () => nftSetId ?? 1 }).expressions)!;
    expect(readExpressionList(ours), text).toEqual(nftExprs);
    // Attribute by attribute (libnftnl orders some differently); where a named set's id was set aside, against nft's re-encoded.
    const setAside = readExpressionList(fromNft!).some((e) => (e.type === 'lookup' || e.type === 'dynset') && !ANONYMOUS.test(e.set) && e.setId !== undefined);
    expect(attributeTree(ours), text).toEqual(attributeTree(setAside ? nlkitExpressionBytes(nftExprs)! : fromNft!));
  });

  it('what this kernel accepts from nft, it accepts from nlkit, and nft lists both alike', async () => {
    const ns = box.ns('bp');
    // Fresh copies of the tables (t → t_nft, t_nlk, ...): one for nft's rules, one for nlkit's.
    for (const copy of ['nft', 'nlk']) nftLoad(ns, BUILDER_PARITY_RULESET.replace(/^table (\w+) (\w+) \{/gm, `table $1 $2_${copy} {`));
    const h = box.h('bp');
    let accepted = 0;
    for (const [family, table, chain, text, builder] of BUILDER_PARITY_CASES) {
      const byNft = spawnSync('ip', ['netns', 'exec', ns, 'nft', 'add', 'rule', family, `${table}_nft`, chain, ...text.split(' ')]);
      if (byNft.status !== 0) continue; // queue: no nfnetlink_queue in this kernel
      accepted++;
      const tx = h.nft.transaction();
      tx.addRule({ family, table: `${table}_nlk`, chain, rule: builder });
      await tx.commit();
    }
    expect(accepted).toBeGreaterThan(BUILDER_PARITY_CASES.length - 5);
    for (const [family, table] of [
      ['inet', 't'],
      ['ip', 'd'],
      ['ip6', 'd6'],
      ['netdev', 'nd'],
    ]) {
      const lines = nftRuleLines(ns, family, `${table}_nft`);
      expect(lines.length, table).toBeGreaterThan(0);
      expect(nftRuleLines(ns, family, `${table}_nlk`), table).toEqual(lines);
    }
  });
});
