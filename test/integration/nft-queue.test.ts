// queue: the test kernel has no nfnetlink_queue support, so the kernel refuses
// these rules. What is tested is what can be: nft's own request for the same
// rule text (captured from `nft --debug=mnl`) decodes into the typed queue
// expression, and nlkit encodes that expression into the same bytes. The
// describeNftRule text follows nft's `nft list` form (as nft's own tests list
// it); it cannot be compared with a listing here.
import { describe, expect, it } from 'vitest';
import { NftCommandError, describeNftRule } from '../../lib';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { Attributes, parseMessages } from '../../lib/netlink/parser';
import { NFTA_RULE_EXPRESSIONS } from '../../lib/nftables/constants';
import { readExpressionList, writeExpressionList, type Expression } from '../../lib/nftables/expressions/registry';
import { nftLoad } from '../helpers/nft';
import { nftNewRuleRequest } from '../helpers/nft-request';
import { useNetns } from '../helpers/netns';

/** The NFTA_RULE_EXPRESSIONS attribute nlkit writes for these expressions. */
function nlkitExpressionBytes(exprs: Expression[]): Buffer | undefined {
  const w = new NetlinkWriter();
  w.begin(0x10, 0);
  writeExpressionList(w, NFTA_RULE_EXPRESSIONS, exprs);
  return new Attributes(parseMessages(w.end().finish())[0].payload).get(NFTA_RULE_EXPRESSIONS);
}

/** [nft rule text, the expressions nlkit decodes from nft's request, describeNftRule text]. */
const QUEUE_CASES: Array<[string, Expression[], string]> = [
  ['queue', [{ type: 'queue', num: 0, total: 1, flags: [] }], 'queue to 0'],
  ['queue num 3 bypass', [{ type: 'queue', num: 3, total: 1, flags: ['bypass'] }], 'queue flags bypass to 3'],
  ['queue num 4-5 fanout bypass', [{ type: 'queue', num: 4, total: 2, flags: ['bypass', 'fanout'] }], 'queue flags bypass,fanout to 4-5'],
  [
    'queue flags bypass to numgen inc mod 4',
    [
      { type: 'numgen', dreg: 1, mode: 'incremental', modulus: 4, offset: 0 },
      { type: 'queue', sregQnum: 1, flags: ['bypass'] },
    ],
    'queue flags bypass to numgen inc mod 4',
  ],
];

describe('nftables queue expression', () => {
  const box = useNetns('nq');

  it('decodes what nft sends for queue statements, and encodes them into the same bytes', () => {
    const ns = box.ns('nq');
    nftLoad(ns, 'table inet t {\n  chain c {\n    type filter hook input priority filter; policy accept;\n  }\n}\n');
    for (const [text, expected, described] of QUEUE_CASES) {
      const request = nftNewRuleRequest(ns, 'inet', 't', 'c', ...text.split(' '));
      const fromNft = new Attributes(request.subarray(4)).get(NFTA_RULE_EXPRESSIONS);
      expect(fromNft, text).toBeDefined();
      const decoded = readExpressionList(fromNft);
      expect(decoded, text).toEqual(expected);
      expect(nlkitExpressionBytes(expected), text).toEqual(fromNft);
      expect(describeNftRule({ expressions: decoded, family: 'inet' }), text).toBe(described);
    }
  });

  it('the kernel here refuses it as it refuses nft (no queue support), naming the expression', async () => {
    const tx = box.h('nq').nft.transaction();
    tx.addRule({ family: 'inet', table: 't', chain: 'c', expressions: QUEUE_CASES[1][1] });
    const err: unknown = await tx.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NftCommandError);
    expect(String(err)).toContain('queue');
  });
});
