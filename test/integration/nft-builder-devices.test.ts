// dup and fwd naming an interface, as nft takes it (`fwd to "pb"`): nft
// resolves the name to an index when it builds the rule, nlkit when the
// transaction is committed, in the handle's namespace. The request nlkit
// sends (the batch handed to the connection, captured before it is sent)
// carries the same expression bytes as nft's (`nft --debug=mnl`), for
// interfaces other than lo (index 1 would also be what a zeroed placeholder
// read as a mistake could not be told from). A missing interface fails the
// commit with a NotFoundError naming it, and nothing is sent.
import { beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError, rule, type Handle } from '../../lib';
import type { RuleBuilder } from '../../lib/nftables/builder/builder';
import { NFTA_RULE_EXPRESSIONS } from '../../lib/nftables/constants';
import type { NftFamily } from '../../lib/nftables/message';
import { Transaction } from '../../lib/nftables/transaction';
import { Attributes, parseMessages } from '../../lib/netlink/parser';
import { nft, nftLoad, nftRuleLines } from '../helpers/nft';
import { attributeTree, nftRuleExpressionBytes } from '../helpers/nft-request';
import { useNetns } from '../helpers/netns';

const RULESET = `
table ip d { chain c { type filter hook prerouting priority filter; }; }
table ip6 d6 { chain c { type filter hook prerouting priority filter; }; }
table netdev nd { chain i { type filter hook ingress device "pa" priority filter; }; }
`;

/** [family, table, chain, nft rule text, builder] */
const CASES: Array<[NftFamily, string, string, string, () => RuleBuilder]> = [
  ['netdev', 'nd', 'i', 'fwd to "pb"', () => rule().fwd('pb')],
  ['netdev', 'nd', 'i', 'dup to "pb"', () => rule().dup({ device: 'pb' })],
  ['ip', 'd', 'c', 'dup to 10.0.0.1 device "pb"', () => rule().dup({ to: '10.0.0.1', device: 'pb' })],
  ['ip6', 'd6', 'c', 'dup to fd00::1 device "pa"', () => rule().dup({ to: 'fd00::1', device: 'pa' })],
];

const NEWRULE = (10 << 8) | 6; // NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWRULE

/** The rule expressions nlkit would send for `builder`, names resolved through `h`: the batch is captured instead of sent. */
async function nlkitRequest(h: Handle, family: NftFamily, table: string, chain: string, builder: RuleBuilder): Promise<Buffer | undefined> {
  let batch: Buffer | undefined;
  const tx = new Transaction(
    (op) => {
      const call = op.next().value;
      if (call && 'message' in call) batch = call.message;
      return Promise.resolve({ results: [] } as never);
    },
    undefined,
    async (name) => (await h.links.get(name)).index,
  );
  tx.addRule({ family, table, chain, rule: builder });
  await tx.commit();
  const msg = parseMessages(batch!).find((m) => m.type === NEWRULE);
  return new Attributes(msg!.payload, 4).get(NFTA_RULE_EXPRESSIONS);
}

describe('dup and fwd by interface name', () => {
  const box = useNetns('dv');
  beforeAll(async () => {
    await box.h('dv').links.add({ name: 'pa', kind: 'veth', peer: { name: 'pb' } });
    nftLoad(box.ns('dv'), RULESET);
  });

  it.each(CASES.map((c) => [c[3], c] as const))('%s: the same bytes as nft', async (text, [family, table, chain, , make]) => {
    const ns = box.ns('dv');
    const h = box.h('dv');
    expect((await h.links.get('pb')).index).toBeGreaterThan(1);
    const fromNft = nftRuleExpressionBytes(ns, family, table, chain, ...text.split(' '));
    expect(fromNft, text).toBeDefined();
    const ours = await nlkitRequest(h, family, table, chain, make());
    expect(attributeTree(ours!), text).toEqual(attributeTree(fromNft!));
  });

  it('committed through the handle, nft lists the rules with the names', async () => {
    const ns = box.ns('dv');
    // Without the rules nft added while its requests were captured.
    nft(ns, 'flush', 'ruleset');
    nftLoad(ns, RULESET);
    const tx = box.h('dv').nft.transaction();
    for (const [family, table, chain, , make] of CASES) tx.addRule({ family, table, chain, rule: make() });
    await tx.commit();
    expect(nftRuleLines(ns, 'netdev', 'nd')).toEqual(['fwd to "pb"', 'dup to "pb"']);
    expect(nftRuleLines(ns, 'ip', 'd')).toEqual(['dup to 10.0.0.1 device "pb"']);
    expect(nftRuleLines(ns, 'ip6', 'd6')).toEqual(['dup to fd00::1 device "pa"']);
  });

  it('a missing interface is a NotFoundError naming it and the command; nothing is sent', async () => {
    const ns = box.ns('dv');
    const before = nftRuleLines(ns, 'netdev', 'nd');
    const tx = box.h('dv').nft.transaction();
    tx.addTable({ family: 'inet', name: 'never' });
    tx.addRule({ family: 'netdev', table: 'nd', chain: 'i', rule: rule().counter().fwd('nosuch0') });
    const err: unknown = await tx.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(String(err)).toMatch(/command #1 \(add rule netdev nd i\): fwd device "nosuch0"/);
    expect((err as NotFoundError).code).toBe('ENODEV');
    expect(nftRuleLines(ns, 'netdev', 'nd')).toEqual(before);
    expect(await box.h('dv').nft.tables.find({ family: 'inet', name: 'never' })).toBeUndefined();
  });

  it('names are checked when the builder is called; a named interface cannot be turned into expressions without a commit', () => {
    expect(() => rule().fwd('a/b')).toThrow(ValidationError);
    expect(() => rule().fwd('x'.repeat(16))).toThrow(/fwd device/);
    expect(() => rule().dup({ to: '10.0.0.1', device: '' })).toThrow(/dup device/);
    expect(() => rule().fwd('pb').toExpressions('netdev')).toThrow(/fwd device.*resolved at commit/);
    const tx = box.h('dv').nft.transaction();
    tx.addRule({ family: 'netdev', table: 'nd', chain: 'i', rule: rule().fwd('pb') });
    expect(() => tx.encode()).toThrow(ValidationError);
  });
});
