// Commands are encoded into one growing buffer as they are added: a command
// whose encoding fails half-way must leave nothing of itself behind, and the
// batch must hold exactly the commands that were accepted, in order.
import { describe, expect, it } from 'vitest';
import { ValidationError, rule } from '../../lib';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { parseMessages } from '../../lib/netlink/parser';
import type { Expression } from '../../lib/nftables/expressions/registry';
import * as C from '../../lib/nftables/constants';
import { decodeRule, type Rule } from '../../lib/nftables/rule';
import { Transaction } from '../../lib/nftables/transaction';

const T = { family: 'inet', table: 't', chain: 'c' } as const;
const good = (port: number) => ({ ...T, rule: rule().tcp({ dport: port }).accept() });
// Valid names, so the message is begun; the second expression fails while the first is already written.
const bad = { ...T, expressions: [...rule().tcp({ dport: 1 }).toExpressions('inet'), { type: 'payload', base: 'nope' } as unknown as Expression] };

/** The rules of a transaction's batch, decoded. */
function decoded(tx: Transaction): Rule[] {
  return parseMessages(tx.encode())
    .filter((m) => (m.type & 0xff) === C.NFT_MSG_NEWRULE)
    .map(decodeRule);
}

function commands(): Transaction {
  const tx = new Transaction();
  tx.addTable({ family: 'inet', name: 't' });
  tx.addChain({ family: 'inet', table: 't', name: 'c' });
  return tx;
}

describe('transaction encoding into one buffer', () => {
  it('a rule that fails half-way leaves the batch as if it had never been added', () => {
    const clean = commands();
    clean.addRule(good(80));
    clean.addRule(good(443));

    const tx = commands();
    tx.addRule(good(80));
    expect(() => tx.addRule(bad)).toThrow(ValidationError);
    tx.addRule(good(443));

    expect(tx.size).toBe(clean.size);
    // Same bytes but for the failed rule's NFTA_RULE_ID, which was taken (ids only need to be unique).
    expect(tx.encode().length).toBe(clean.encode().length);
    expect(decoded(tx)).toEqual(decoded(clean));
    // BATCH_BEGIN, table, chain, two rules, BATCH_END
    expect(parseMessages(tx.encode())).toHaveLength(6);
  });

  it('encodes 2,000 rules back to back, in order', () => {
    const tx = commands();
    for (let i = 0; i < 2000; i++) tx.addRule(good(1 + i));
    const rules = decoded(tx);
    expect(rules).toHaveLength(2000);
    rules.forEach((r, i) =>
      expect(r.expressions).toEqual(
        rule()
          .tcp({ dport: 1 + i })
          .accept()
          .toExpressions('inet'),
      ),
    );
  });

  it('NetlinkWriter.rewind drops a message begun and not ended', () => {
    const w = new NetlinkWriter();
    w.begin(1, 0).end();
    const mark = w.length;
    w.begin(2, 0).u32(1, 7);
    w.rewind(mark);
    w.begin(3, 0).end();
    expect(parseMessages(w.finish()).map((m) => m.type)).toEqual([1, 3]);
    expect(w.messageOffsets).toEqual([0, mark]);
    expect(() => w.rewind(w.length + 1)).toThrow(RangeError);
  });

  it('writes the batch in place: echo flags set and cleared from one commit to the next, later adds on a copy, the batch in flight untouched', () => {
    const make = (n: number): Transaction => {
      const tx = commands();
      for (let i = 0; i < n; i++) tx.addRule(good(100 + i));
      return tx;
    };
    const tx = make(50);
    // Echo flags chosen one way and then the other: each batch is the one a new transaction gives.
    expect(tx.encode({ echo: 'auto' }).equals(make(50).encode({ echo: 'auto' }))).toBe(true);
    expect(tx.encode({ echo: 'none' }).equals(make(50).encode({ echo: 'none' }))).toBe(true);
    expect(tx.encode({ echo: 'objects' }).equals(make(50).encode({ echo: 'objects' }))).toBe(true);
    expect(tx.encode({ expectGeneration: 7 }).equals(make(50).encode({ expectGeneration: 7 }))).toBe(true);

    // A commit hands out the transaction's own buffer; the executor keeps it as in flight and numbers its messages.
    let inFlight: Buffer | undefined;
    const holding = new Transaction((op) => {
      const step = op.next();
      if (!step.done && step.value.kind === 'batch') inFlight = step.value.message;
      return new Promise(() => undefined);
    });
    holding.addTable({ family: 'inet', name: 't' });
    holding.addChain({ family: 'inet', table: 't', name: 'c' });
    for (let i = 0; i < 50; i++) holding.addRule(good(100 + i));
    void holding.commit({ echo: 'none' });
    expect(inFlight?.equals(make(50).encode({ echo: 'none' }))).toBe(true);
    const sent = inFlight ?? Buffer.alloc(0);
    sent.writeUInt32LE(12345, 8); // as the connection stamps sequence numbers
    const copy = Buffer.from(sent);
    // Commands added after the commit go to a copy: the batch in flight keeps its bytes.
    for (let i = 50; i < 60; i++) holding.addRule(good(100 + i));
    expect(sent.equals(copy)).toBe(true);
    // And the transaction's batch is the one of 60 rules, with no stamped numbers left in it.
    expect(holding.encode({ echo: 'none' }).equals(make(60).encode({ echo: 'none' }))).toBe(true);
  });
});
