/**
 * dynset: adds, updates or deletes an element of a set from the packet path
 * (`add @seen { ip saddr timeout 1m }`, meters), optionally attaching
 * expressions (counter, limit) to the element.
 * @module
 */
import { Attributes } from '../../netlink/parser';
import { validateNftName } from '../../validate/names';
import { NFTA_LIST_ELEM } from '../constants';
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec } from './codec';
import type { DynsetExpression, DynsetOp, Expression } from './expression';

export type { DynsetExpression, DynsetOp } from './expression';

const NFTA_DYNSET_SET_NAME = 1;
const NFTA_DYNSET_SET_ID = 2;
const NFTA_DYNSET_OP = 3;
const NFTA_DYNSET_SREG_KEY = 4;
const NFTA_DYNSET_SREG_DATA = 5;
const NFTA_DYNSET_TIMEOUT = 6;
const NFTA_DYNSET_EXPR = 7;
const NFTA_DYNSET_FLAGS = 9;
const NFTA_DYNSET_EXPRESSIONS = 10;
const NFT_DYNSET_F_INV = 1;
const NFT_DYNSET_F_EXPR = 2;
const KNOWN = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

export const DYNSET_OPS = new NameTable<DynsetOp>('dynset operation', [
  ['add', 0],
  ['update', 1],
  ['delete', 2],
]);

export const dynsetCodec: ExpressionCodec<DynsetExpression, Expression> = {
  name: 'dynset',
  type: 'dynset',
  encode(w, e, nested) {
    w.string(NFTA_DYNSET_SET_NAME, validateNftName(e.set, 'dynset set'));
    if (e.setId !== undefined) w.be32(NFTA_DYNSET_SET_ID, e.setId);
    w.be32(NFTA_DYNSET_OP, DYNSET_OPS.number(e.op));
    w.be32(NFTA_DYNSET_SREG_KEY, e.sregKey);
    if (e.sregData !== undefined) w.be32(NFTA_DYNSET_SREG_DATA, e.sregData);
    if (e.timeout !== undefined) w.be64(NFTA_DYNSET_TIMEOUT, BigInt(e.timeout));
    const exprs = e.expressions ?? [];
    let flags = e.invert ? NFT_DYNSET_F_INV : 0;
    if (exprs.length > 1) flags |= NFT_DYNSET_F_EXPR;
    if (flags) w.be32(NFTA_DYNSET_FLAGS, flags);
    // One expression travels in NFTA_DYNSET_EXPR, several in a list (as the kernel dumps them).
    if (exprs.length === 1) {
      const n = w.nest(NFTA_DYNSET_EXPR);
      nested.writeBody(w, exprs[0]);
      w.endNest(n);
    } else if (exprs.length > 1) {
      const list = w.nest(NFTA_DYNSET_EXPRESSIONS);
      for (const x of exprs) {
        const el = w.nest(NFTA_LIST_ELEM);
        nested.writeBody(w, x);
        w.endNest(el);
      }
      w.endNest(list);
    }
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a, nested) {
    const e: DynsetExpression = {
      type: 'dynset',
      set: a.string(NFTA_DYNSET_SET_NAME) ?? '',
      op: DYNSET_OPS.name(be32Or0(a, NFTA_DYNSET_OP)),
      sregKey: be32Or0(a, NFTA_DYNSET_SREG_KEY),
    };
    setIf(e, 'setId', a.be32(NFTA_DYNSET_SET_ID));
    setIf(e, 'sregData', a.be32(NFTA_DYNSET_SREG_DATA));
    const timeout = a.be64(NFTA_DYNSET_TIMEOUT);
    if (timeout !== undefined && timeout !== 0n) e.timeout = Number(timeout);
    const flags = a.be32(NFTA_DYNSET_FLAGS) ?? 0;
    if (flags & NFT_DYNSET_F_INV) e.invert = true;
    const one = a.get(NFTA_DYNSET_EXPR);
    const list = a.get(NFTA_DYNSET_EXPRESSIONS);
    if (one) e.expressions = [nested.readBody(one)];
    else if (list) e.expressions = new Attributes(list).all(NFTA_LIST_ELEM).map((b) => nested.readBody(b));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
