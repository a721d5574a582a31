/**
 * What transactions take beyond add and replace: references given to delete,
 * destroy, flush and rename calls, and raw expression objects (a rule's,
 * a set's, an element's, a dynset's) are checked for keys their kind or
 * expression type does not have and for wrong types, with a ValidationError
 * naming the key before anything is queued; a listed object still serves as
 * its own reference, and expressions as a listing returns them write back.
 * Also: the builder's interface-index matches (`iif`, `oif`) take link
 * indexes only (1 to 2^31 - 1).
 */
import { describe, expect, it } from 'vitest';
import { rule } from '../../lib';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { Attributes, parseMessages } from '../../lib/netlink/parser';
import * as C from '../../lib/nftables/constants';
import type { Chain, NftSet, Rule } from '../../lib/nftables';
import { readExpressionList, writeExpressionList, type Expression } from '../../lib/nftables/expressions/registry';
import { Transaction } from '../../lib/nftables/transaction';
import { EXPRESSION_SAMPLES } from '../helpers/nft-expression-samples';
import { refused } from '../helpers/refused';

/** Expressions as a listing returns them: through the wire and decoded. */
function listed(exprs: Expression[]): Expression[] {
  const w = new NetlinkWriter();
  w.begin(0x10, 0);
  writeExpressionList(w, C.NFTA_RULE_EXPRESSIONS, exprs);
  w.end();
  return readExpressionList(new Attributes(parseMessages(w.finish())[0].payload).get(C.NFTA_RULE_EXPRESSIONS));
}

const T = { family: 'inet', table: 't' } as const;
const hex = (tx: Transaction) => tx.encode({ echo: 'none' }).toString('hex');

describe('nftables transaction: references to delete, flush and rename', () => {
  it('refuses a misspelt key in every kind of reference, naming it, and queues nothing', () => {
    const tx = new Transaction();
    refused(() => tx.deleteTable({ family: 'inet', name: 't', hanlde: 3 } as never), 'table', '"hanlde"', 'unknown option');
    refused(() => tx.deleteTable({ family: 'inet', name: 't', table: 't' } as never, { missingOk: true }), 'table', '"table"');
    refused(() => tx.flushTable({ family: 'inet', nmae: 't' } as never), 'table', '"nmae"');
    refused(() => tx.deleteChain({ ...T, name: 'c', chian: 'c' } as never), 'chain', '"chian"');
    refused(() => tx.renameChain({ ...T, nam: 'c' } as never, 'd'), 'chain', '"nam"');
    // `chain` for `name`: the message used to carry no chain, and flushed every chain of the table.
    refused(() => tx.flushChain({ ...T, chain: 'c' } as never), 'chain', '"chain"');
    // A misspelt handle: the message used to carry no handle, and deleted every rule of the chain.
    refused(() => tx.deleteRule({ ...T, chain: 'c', hanlde: 7 } as never), 'rule', '"hanlde"');
    refused(() => tx.deleteSet({ ...T, name: 's', sett: 's' } as never), 'set', '"sett"');
    refused(() => tx.flushSet({ ...T, nane: 's' } as never), 'set', '"nane"');
    refused(() => tx.deleteElements({ ...T, name: 's', tabel: 't' } as never, [{ key: '10.0.0.1' }]), 'set', '"tabel"');
    refused(() => tx.addElements({ ...T, name: 's', famliy: 'ip' } as never, [{ key: '10.0.0.1' }]), 'set', '"famliy"');
    refused(() => tx.deleteElements({ ...T, name: 's' }, [{ key: '10.0.0.1', timeuot: 5 } as never]), 'element', '"timeuot"');
    refused(() => tx.deleteObject({ ...T, name: 'q', type: 'quota', byte: 5 } as never), 'quota object', '"byte"');
    refused(() => tx.deleteObject({ ...T, name: 'n', type: 'counter', typ: 'counter' } as never, { missingOk: true }), 'counter object', '"typ"');
    refused(() => tx.deleteFlowtable({ ...T, name: 'f', devics: ['lo'] } as never), 'flowtable', '"devics"');
    expect(tx.size).toBe(0);
    expect(tx.describe()).toEqual([]);
  });

  it('refuses references of the wrong type or missing what the message needs', () => {
    const tx = new Transaction();
    refused(() => tx.deleteTable(null as never), 'table', 'must be an object');
    refused(() => tx.deleteChain('c' as never), 'chain', 'must be an object');
    refused(() => tx.deleteSet([T] as never), 'set', 'must be an object');
    refused(() => tx.deleteObject(undefined as never), 'object', 'must be an object');
    refused(() => tx.deleteTable({ family: 'inte', name: 't' } as never), 'family', 'inte');
    refused(() => tx.deleteChain({ ...T, handle: '7' } as never), 'chain handle');
    refused(() => tx.deleteFlowtable({ ...T, handle: -1 }), 'flowtable handle');
    refused(() => tx.renameChain({ ...T, name: 'c', handle: 1.5 }, 'd'), 'chain handle');
    refused(() => tx.deleteRule({ ...T, chain: 'c' } as never), 'rule handle');
    refused(() => tx.deleteRule({ ...T, handle: 7 } as never), 'chain name');
    refused(() => tx.flushChain({ ...T, handle: 3 } as never), 'chain name');
    refused(() => tx.flushTable({ family: 'inet' } as never), 'table name');
    refused(() => tx.flushSet({ ...T, name: 5 } as never), 'set name');
    refused(() => tx.deleteSet({ ...T, handle: 0 }), 'set handle', 'kernel handle');
    refused(() => tx.deleteSet({ ...T, name: 's', handle: '9' } as never), 'set handle');
    refused(() => tx.deleteSet({ ...T } as never), 'set name');
    refused(() => tx.deleteObject({ ...T, type: 'counter', handle: 2 ** 53 }), 'object handle', 'kernel handle');
    refused(() => tx.deleteObject({ ...T, type: 'counter', handle: -1 }, { missingOk: true }), 'object handle');
    refused(() => tx.deleteObject({ ...T, type: 'counter' } as never), 'object name');
    refused(() => tx.deleteObject({ ...T, handle: 3 } as never), 'object type');
    expect(tx.size).toBe(0);
  });

  it('deletes a set or an object by handle: the handle is written (NFTA_SET_HANDLE, NFTA_OBJ_HANDLE), not the name', () => {
    const attrs = (tx: Transaction) => {
      const msgs = parseMessages(tx.encode({ echo: 'none' }));
      const m = msgs[1];
      return { type: m.type & 0xff, attrs: new Attributes(m.payload.subarray(4)) };
    };
    const set = new Transaction();
    set.deleteSet({ ...T, handle: 9 }, { missingOk: true });
    const s = attrs(set);
    expect(s.type).toBe(C.NFT_MSG_DESTROYSET);
    expect(s.attrs.be64(C.NFTA_SET_HANDLE)).toBe(9n);
    expect(s.attrs.string(C.NFTA_SET_NAME)).toBeUndefined();
    expect(set.describe()).toEqual(['destroy set inet t #9']);
    const obj = new Transaction();
    obj.deleteObject({ ...T, type: 'counter', name: 'hits', handle: 3 });
    const o = attrs(obj);
    expect(o.type).toBe(C.NFT_MSG_DELOBJ);
    expect(o.attrs.be64(C.NFTA_OBJ_HANDLE)).toBe(3n);
    expect(o.attrs.string(C.NFTA_OBJ_NAME)).toBeUndefined();
    expect(o.attrs.be32(C.NFTA_OBJ_TYPE)).toBe(1);
    expect(obj.describe()).toEqual(['delete counter inet t hits']);
  });

  it('takes a listed object as its own reference, and writes only the reference', () => {
    const chain: Chain = { ...T, name: 'c', type: 'filter', hook: 'input', priority: 0, policy: 'accept', handle: 4, use: 1, comment: 'x' };
    const set: NftSet & { elements: never[] } = { ...T, name: 's', keyType: 'ipv4_addr', handle: 9, elements: [] };
    const r: Rule = { ...T, chain: 'c', handle: 7, expressions: [{ type: 'counter', packets: 1n, bytes: 2n }], comment: 'y' };
    const full = new Transaction();
    full.deleteTable({ family: 'inet', name: 't', flags: ['owner'], use: 3, handle: 2 } as never);
    full.deleteChain(chain);
    full.flushChain(chain);
    full.deleteRule(r);
    full.deleteSet(set);
    full.flushSet(set);
    full.deleteObject({ ...T, name: 'q', type: 'quota', bytes: 10n, consumed: 0n, handle: 5, use: 0 } as never);
    full.deleteFlowtable({ ...T, name: 'f', hook: 'ingress', priority: 0, devices: ['lo'], handle: 6 } as never);
    const bare = new Transaction();
    bare.deleteTable({ family: 'inet', handle: 2 });
    bare.deleteChain({ ...T, name: 'c', handle: 4 });
    bare.flushChain({ ...T, name: 'c' });
    bare.deleteRule({ ...T, chain: 'c', handle: 7 });
    bare.deleteSet({ ...T, handle: 9 });
    bare.flushSet({ ...T, name: 's' });
    bare.deleteObject({ ...T, type: 'quota', handle: 5 });
    bare.deleteFlowtable({ ...T, name: 'f', handle: 6 });
    expect(hex(full)).toBe(hex(bare));
  });
});

describe('nftables transaction: raw expressions', () => {
  it('refuses a misspelt field of an expression, naming it and its type, and queues nothing', () => {
    const tx = new Transaction();
    const nat = { type: 'nat', nat: 'snat', family: 'ip', regAdrMin: 1 };
    refused(() => tx.addRule({ ...T, chain: 'c', expressions: [{ type: 'counter' }, nat] as never }), 'rule expressions[1] (nat expression)', '"regAdrMin"');
    const payload = { type: 'payload', base: 'network', ofset: 12, len: 4, dreg: 1 };
    refused(() => tx.insertRule({ ...T, chain: 'c', expressions: [payload] as never }), 'payload expression', '"ofset"');
    refused(() => tx.replaceRule({ ...T, chain: 'c', handle: 3, expressions: [{ type: 'counter', packet: 1n }] as never }), 'counter expression', '"packet"');
    const dynset = { type: 'dynset', set: 's', op: 'update', sregKey: 1, expressions: [{ type: 'limit', rate: 1n, unit: 'second', brust: 5 }] };
    refused(() => tx.addRule({ ...T, chain: 'c', expressions: [dynset] as never }), 'rule expressions[0].expressions[0] (limit expression)', '"brust"');
    refused(() => tx.addRule({ ...T, chain: 'c', expressions: [{ type: 'natt' }] as never }), 'rule expressions[0] type', 'unknown expression type');
    refused(() => tx.addRule({ ...T, chain: 'c', expressions: [null] as never }), 'rule expressions[0]', 'must be an expression object');
    refused(() => tx.addRule({ ...T, chain: 'c', expressions: { type: 'counter' } as never }), 'rule expressions', 'must be an array');
    const quota = { type: 'quota', bytes: 10n, invers: true };
    refused(() => tx.addSet({ ...T, name: 's', keyType: 'ipv4_addr', expressions: [quota] as never }), 'set expressions[0] (quota expression)', '"invers"');
    const anon = { ...T, name: '__set0', keyType: 'inet_service', flags: ['anonymous', 'constant'], elements: [{ key: 22 }], expressions: [quota] } as never;
    refused(
      () => tx.addRule({ ...T, chain: 'c', expressions: [{ type: 'lookup', set: '__set0', sreg: 1 }], anonymousSets: [anon] }),
      'anonymous set expressions',
      '"invers"',
    );
    const el = { key: '10.0.0.1', expressions: [{ type: 'counter', byts: 1n }] } as never;
    refused(() => tx.addElements({ ...T, name: 's' }, [el]), 'element expressions[0] (counter expression)', '"byts"');
    refused(() => tx.addSet({ ...T, name: 's', keyType: 'ipv4_addr' }, [el]), 'element expressions', '"byts"');
    refused(
      () => tx.addRule({ ...T, chain: 'c', expressions: [{ type: 'opaque', name: 'x', data: Buffer.alloc(0), bytes: 1 }] as never }),
      'opaque expression',
      '"bytes"',
    );
    expect(tx.size).toBe(0);
  });

  it('writes back every expression type as a listing returns it, unknown attributes included', () => {
    for (const [name, samples] of Object.entries(EXPRESSION_SAMPLES)) {
      const back = listed(samples);
      const tx = new Transaction();
      tx.addRule({ ...T, chain: 'c', expressions: back });
      tx.addSet({ ...T, name: 's', keyType: 'ipv4_addr', expressions: back.filter((e) => e.type === 'counter' || e.type === 'limit') });
      expect(tx.size, name).toBe(2);
    }
    const unknown = listed([{ type: 'counter', packets: 1n, bytes: 2n, unknownAttributes: [{ type: 9, data: Buffer.from('00000001', 'hex') }] }]);
    expect(unknown[0]).toHaveProperty('unknownAttributes');
    new Transaction().addRule({ ...T, chain: 'c', expressions: unknown });
  });

  it("takes the builder's expressions (toExpressions) back as raw expressions", () => {
    const r = rule()
      .ip({ saddr: '10.0.0.0/8' })
      .tcp({ dport: '1000-2000' })
      .ct({ state: ['established', 'related'] })
      .counter()
      .limit({ rate: 10, per: 'second' })
      .log({ prefix: 'x ' })
      .snat({ to: '192.0.2.1', port: '1000-2000' });
    const tx = new Transaction();
    tx.addRule({ ...T, chain: 'c', expressions: r.toExpressions('inet') });
    expect(tx.size).toBe(1);
  });
});

describe('nftables rule builder: interface index matches', () => {
  it('refuses an index that is no link index (1 to 2^31 - 1), naming the field', () => {
    for (const bad of [0, -1, 2 ** 31, 0xffffffff, 1.5, '0', 2n ** 31n]) {
      refused(
        () =>
          rule()
            .iif(bad as never)
            .accept()
            .toExpressions('inet'),
        'meta iif',
        'interface index',
      );
      refused(
        () =>
          rule()
            .oif(bad as never)
            .accept()
            .toExpressions('inet'),
        'meta oif',
        'interface index',
      );
    }
    refused(() => rule().iif('0-5').accept().toExpressions('inet'), 'meta iif', 'interface index');
    refused(() => rule().oif([1, 0]).accept().toExpressions('inet'), 'meta oif', 'interface index');
    refused(() => rule().iif([1, '2-4294967295']).accept().toExpressions('inet'), 'meta iif', 'interface index');
    const tx = new Transaction();
    refused(() => tx.addRule({ ...T, chain: 'c', rule: rule().iif(0).accept() }), 'meta iif');
    expect(tx.size).toBe(0);
  });

  it('takes link indexes from 1 to 2^31 - 1, as values, ranges and sets', () => {
    for (const good of [1, 2 ** 31 - 1, '7', 5n]) {
      expect(rule().iif(good).accept().toExpressions('inet').length).toBeGreaterThan(0);
      expect(rule().oif(good).accept().toExpressions('inet').length).toBeGreaterThan(0);
    }
    expect(rule().iif('1-5').accept().toExpressions('inet').length).toBeGreaterThan(0);
    const tx = new Transaction();
    tx.addRule({ ...T, chain: 'c', rule: rule().oif([1, 2, '10-20']).accept() });
    expect(tx.size).toBe(1);
  });
});
