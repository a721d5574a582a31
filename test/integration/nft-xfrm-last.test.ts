// Typed xfrm (`ipsec in reqid 1`) and last (`last used never`) expressions.
// xfrm: nft's own request for each rule text (captured from `nft --debug=mnl`)
// decodes into the typed expression, nlkit encodes it into the same bytes, and
// the rule nft added lists back through nlkit with nft's text. last: nft 1.0.6
// here cannot parse `last`, so it is tested against the kernel alone: added by
// nlkit, it reads back as never used, and as used after a packet passed it.
import { describe, expect, it } from 'vitest';
import { ValidationError, describeNftRule, listenTcp } from '../../lib';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { Attributes, parseMessages } from '../../lib/netlink/parser';
import { NFTA_RULE_EXPRESSIONS } from '../../lib/nftables/constants';
import { readExpressionList, writeExpressionList, type Expression } from '../../lib/nftables/expressions/registry';
import { nftLoad, nftRuleLines } from '../helpers/nft';
import { nftNewRuleRequest } from '../helpers/nft-request';
import { useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

/** The NFTA_RULE_EXPRESSIONS attribute nlkit writes for these expressions. */
function nlkitExpressionBytes(exprs: Expression[]): Buffer | undefined {
  const w = new NetlinkWriter();
  w.begin(0x10, 0);
  writeExpressionList(w, NFTA_RULE_EXPRESSIONS, exprs);
  return new Attributes(parseMessages(w.end().finish())[0].payload).get(NFTA_RULE_EXPRESSIONS);
}

const cmp = (hex: string): Expression => ({ type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from(hex, 'hex') });

/** [chain, nft rule text (as nft lists it), the expressions nlkit decodes from nft's request]. */
const XFRM_CASES: Array<[string, string, Expression[]]> = [
  ['in', 'ipsec in reqid 1', [{ type: 'xfrm', direction: 'in', key: 'reqid', spnum: 0, dreg: 1 }, cmp('01000000')]],
  ['in', 'ipsec in spi 5', [{ type: 'xfrm', direction: 'in', key: 'spi', spnum: 0, dreg: 1 }, cmp('00000005')]],
  [
    'in',
    'ipsec in spnum 1 ip saddr 1.2.3.4 accept',
    [{ type: 'xfrm', direction: 'in', key: 'saddr4', spnum: 1, dreg: 1 }, cmp('01020304'), { type: 'immediate', dreg: 0, verdict: { code: 'accept' } }],
  ],
  ['out', 'ipsec out ip daddr 1.2.3.4', [{ type: 'xfrm', direction: 'out', key: 'daddr4', spnum: 0, dreg: 1 }, cmp('01020304')]],
  ['out', 'ipsec out ip6 daddr ::1', [{ type: 'xfrm', direction: 'out', key: 'daddr6', spnum: 0, dreg: 1 }, cmp('00000000000000000000000000000001')]],
];

const TABLE = `table inet t {
  chain in { type filter hook input priority filter; policy accept; }
  chain out { type filter hook output priority filter; policy accept; }
}
`;

describe('nftables xfrm and last expressions', () => {
  const box = useNetns('x', 'l');

  it('xfrm: decodes what nft sends, encodes the same bytes, and describes rules nft added as nft lists them', async () => {
    const ns = box.ns('x');
    nftLoad(ns, TABLE);
    for (const [chain, text, expected] of XFRM_CASES) {
      const request = nftNewRuleRequest(ns, 'inet', 't', chain, ...text.split(' '));
      const fromNft = new Attributes(request.subarray(4)).get(NFTA_RULE_EXPRESSIONS);
      expect(fromNft, text).toBeDefined();
      expect(readExpressionList(fromNft), text).toEqual(expected);
      expect(nlkitExpressionBytes(expected), text).toEqual(fromNft);
    }
    // nft really added them (the kernel here has xfrm): nlkit lists and describes them as nft does.
    const rules = await box.h('x').nft.rules.list({ family: 'inet', table: 't' });
    expect(rules.map((r) => describeNftRule(r))).toEqual(XFRM_CASES.map(([, text]) => text));
    expect(rules.map((r) => r.expressions)).toEqual(XFRM_CASES.map(([, , e]) => e));
  });

  it('xfrm: a rule added by nlkit reads back in nft as the text it describes', async () => {
    const h = box.h('x');
    const tx = h.nft.transaction();
    for (const name of ['in', 'out']) tx.flushChain({ family: 'inet', table: 't', name });
    for (const [chain, , expressions] of XFRM_CASES) tx.addRule({ family: 'inet', table: 't', chain, expressions });
    await tx.commit();
    expect(nftRuleLines(box.ns('x'), 'inet', 't')).toEqual(XFRM_CASES.map(([, text]) => text));
  });

  it('refuses a bad last time or xfrm spnum before sending (ValidationError naming the field)', () => {
    const tx = box.h('l').nft.transaction();
    const add = (e: Expression) => () => tx.addRule({ family: 'inet', table: 't', chain: 'in', expressions: [e] });
    expect(add({ type: 'last', used: -1 })).toThrow(/last used/);
    expect(add({ type: 'last', used: 1.5 })).toThrow(ValidationError);
    expect(add({ type: 'xfrm', direction: 'in', key: 'reqid', spnum: 2 ** 32, dreg: 1 })).toThrow(/xfrm spnum/);
    expect(add({ type: 'xfrm', direction: 'sideways' as never, key: 'reqid', spnum: 0, dreg: 1 })).toThrow(ValidationError);
    expect(tx.size).toBe(0);
  });

  it('last: never used until a packet reaches it, then the time since', async () => {
    const ns = box.ns('l');
    const h = box.h('l');
    nftLoad(ns, TABLE);
    const port = 4711;
    const tcpDport: Expression[] = [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      cmp('06'),
      { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
      cmp(port.toString(16).padStart(4, '0')),
      { type: 'last' },
    ];
    const tx = h.nft.transaction();
    tx.addRule({ family: 'inet', table: 't', chain: 'in', expressions: tcpDport });
    tx.addRule({ family: 'inet', table: 't', chain: 'in', expressions: [{ type: 'last' }] });
    await tx.commit();
    const before = await h.nft.rules.list({ family: 'inet', table: 't', chain: 'in' });
    expect(before.map((r) => r.expressions.at(-1))).toEqual([{ type: 'last' }, { type: 'last' }]);
    expect(describeNftRule(before[0])).toBe(`tcp dport ${port} last used never`);

    const server = await listenTcp({ netns: ns, host: '127.0.0.1', port }, (s) => s.end('hi'));
    try {
      expect(await hello(ns, '127.0.0.1', port)).toBe('hi');
    } finally {
      server.close();
    }
    const after = await h.nft.rules.list({ family: 'inet', table: 't', chain: 'in' });
    for (const r of after) {
      const last = r.expressions.at(-1);
      expect(last?.type).toBe('last');
      expect(last).toHaveProperty('used', expect.any(Number));
      expect(describeNftRule(r)).toMatch(/last used \d+(ms|s)$/);
    }
    // A listed rule re-added keeps its state (used, not never).
    const again = h.nft.transaction();
    again.addRule(after[0]);
    await again.commit();
    const copy = (await h.nft.rules.list({ family: 'inet', table: 't', chain: 'in' })).at(-1);
    expect(copy?.expressions.at(-1)).toHaveProperty('used', expect.any(Number));
  });
});
