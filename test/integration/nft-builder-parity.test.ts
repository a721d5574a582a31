// Rule builder statements against nft: for each rule text, the expressions
// nft sends (captured from `nft --debug=mnl`, so also for what this kernel
// lacks, like queue) carry the same attributes with the same bytes as those
// nlkit writes for the builder calls. Two things are not the rule's own and
// are set aside: nft numbers an inline map `__map0`/`__map%d` and gives it a
// set id (nlkit's id is taken from nft's), and nft adds the set id of a named
// set it has cached (the kernel finds a named set by its name).
import { beforeAll, describe, expect, it } from 'vitest';
import { readExpressionList, type Expression } from '../../lib/nftables/expressions/registry';
import { BUILDER_PARITY_CASES, BUILDER_PARITY_RULESET } from '../helpers/nft-builder-cases';
import { nftLoad } from '../helpers/nft';
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
});
