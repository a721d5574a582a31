// The first rules of a new process are encoded with shortcuts (bench/notes.md, "The first 1,000-rule
// commit"): expressions the builder shares between rules are encoded once and copied, cmp and
// immediate elements come from a per-layout template. The bytes must be exactly those of the
// ordinary encoder, whatever the values, and what a caller gets from toExpressions must be its own.
import { describe, expect, it } from 'vitest';
import { rule } from '../../lib';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { parseMessages } from '../../lib/netlink/parser';
import * as C from '../../lib/nftables/constants';
import { encodeExpression, writeExpressionList, type Expression } from '../../lib/nftables/expressions/registry';
import { decodeRule } from '../../lib/nftables/rule';
import { Transaction } from '../../lib/nftables/transaction';

/** A list written by writeExpressionList (shortcuts included). */
function listed(exprs: Expression[]): Buffer {
  const w = new NetlinkWriter();
  writeExpressionList(w, C.NFTA_RULE_EXPRESSIONS, exprs);
  return Buffer.from(w.written());
}

/** The same list, every element through the ordinary encoder. */
function ordinary(exprs: Expression[]): Buffer {
  const w = new NetlinkWriter();
  const n = w.nest(C.NFTA_RULE_EXPRESSIONS);
  for (const e of exprs) encodeExpression(w, e);
  w.endNest(n);
  return Buffer.from(w.written());
}

describe('shared and templated expression encodings', () => {
  it('cmp and immediate elements from templates are byte for byte the ordinary encoding, for every value and length', () => {
    const cases: Expression[] = [];
    for (const len of [1, 2, 3, 4, 5, 16, 64]) {
      for (const fill of [0x00, 0x5a, 0xff]) {
        const data = Buffer.alloc(len, fill);
        data[0] = len;
        cases.push({ type: 'cmp', sreg: 1, op: 'eq', data }, { type: 'cmp', sreg: 9, op: 'gte', data }, { type: 'immediate', dreg: 2, data });
      }
    }
    // Twice: the first use makes each template, the second copies it.
    for (let round = 0; round < 2; round++) for (const e of cases) expect(listed([e])).toEqual(ordinary([e]));
    expect(listed(cases)).toEqual(ordinary(cases));
  });

  it('leaves verdicts, numeric operators and unknown attributes to the ordinary encoder', () => {
    const cases: Expression[] = [
      { type: 'immediate', dreg: 0, verdict: { code: 'accept' } },
      { type: 'cmp', sreg: 1, op: 3, data: Buffer.from([1, 2]) },
      { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([7]), unknownAttributes: [{ type: 9, data: Buffer.from([1, 2, 3, 4]) }] },
    ];
    for (const e of cases) expect(listed([e])).toEqual(ordinary([e]));
  });

  it('rules built one after another decode to their own values (ports, addresses) with shared parts in place', () => {
    const tx = new Transaction();
    const T = { family: 'ip', table: 't', chain: 'c' } as const;
    for (let i = 0; i < 50; i++)
      tx.addRule({
        ...T,
        rule: rule()
          .tcp({ dport: 1000 + i })
          .dnat({ to: `10.0.${i}.1`, port: 80 + i }),
      });
    const rules = parseMessages(tx.encode())
      .filter((m) => (m.type & 0xff) === C.NFT_MSG_NEWRULE)
      .map(decodeRule);
    expect(rules).toHaveLength(50);
    rules.forEach((r, i) => {
      const expected = rule()
        .tcp({ dport: 1000 + i })
        .dnat({ to: `10.0.${i}.1`, port: 80 + i })
        .toExpressions('ip');
      expect(r.expressions).toEqual(expected);
      expect(listed(r.expressions)).toEqual(ordinary(expected));
    });
  });

  it('rules alternating between tables and chains keep their own (the last table and chain are encoded once)', () => {
    const tx = new Transaction();
    const places = [
      { family: 'ip', table: 'a', chain: 'x' },
      { family: 'ip', table: 'a', chain: 'y' },
      { family: 'ip', table: 'b', chain: 'x' },
      { family: 'ip6', table: 'a', chain: 'x' },
    ] as const;
    for (let i = 0; i < 12; i++)
      tx.addRule({
        ...places[i % 4],
        rule: rule()
          .tcp({ dport: i + 1 })
          .accept(),
      });
    const rules = parseMessages(tx.encode())
      .filter((m) => (m.type & 0xff) === C.NFT_MSG_NEWRULE)
      .map(decodeRule);
    expect(rules.map((r) => [r.family, r.table, r.chain])).toEqual(
      Array.from({ length: 12 }, (_, i) => [places[i % 4].family, places[i % 4].table, places[i % 4].chain]),
    );
  });

  it('toExpressions hands out copies: changing them changes no later rule', () => {
    const first = rule().tcp({ dport: 22 }).dnat({ to: '10.0.0.1', port: 22 }).toExpressions('ip');
    const before = rule().tcp({ dport: 22 }).dnat({ to: '10.0.0.1', port: 22 }).toExpressions('ip');
    for (const e of first) {
      const fields = e as unknown as Record<string, unknown>;
      for (const v of Object.values(fields)) {
        if (Buffer.isBuffer(v)) v.fill(0xee);
        if (Array.isArray(v)) v.push('changed');
      }
      fields.dreg = 13;
    }
    const after = rule().tcp({ dport: 22 }).dnat({ to: '10.0.0.1', port: 22 }).toExpressions('ip');
    expect(after).toEqual(before);
    expect(listed(after)).toEqual(ordinary(before));
  });
});
