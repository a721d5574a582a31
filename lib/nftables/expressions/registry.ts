/**
 * The expression registry: every typed expression, and the functions that
 * write a rule's expression list and read it back. A name nlkit does not
 * know decodes to an {@link OpaqueExpression} and re-encodes byte for byte.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { Attributes } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';
import { validateNftName } from '../../validate/names';
import { NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM } from '../constants';
import { bitwiseCodec } from './bitwise';
import { byteorderCodec } from './byteorder';
import { cmpCodec } from './cmp';
import type { ExpressionCodec, NestedExpressions } from './codec';
import { connlimitCodec } from './connlimit';
import { counterCodec } from './counter';
import { ctCodec } from './ct';
import { dupCodec } from './dup';
import { dynsetCodec } from './dynset';
import type { Expression } from './expression';
import { exthdrCodec } from './exthdr';
import { fibCodec } from './fib';
import { flowOffloadCodec } from './flow-offload';
import { fwdCodec } from './fwd';
import { hashCodec } from './hash';
import { immediateCodec } from './immediate';
import { lastCodec } from './last';
import { limitCodec } from './limit';
import { logCodec } from './log';
import { lookupCodec } from './lookup';
import { masqCodec } from './masq';
import { metaCodec } from './meta';
import { natCodec } from './nat';
import { notrackCodec } from './notrack';
import { numgenCodec } from './numgen';
import { objrefCodec } from './objref';
import { osfCodec } from './osf';
import { payloadCodec } from './payload';
import { queueCodec } from './queue';
import { quotaCodec } from './quota';
import { rangeCodec } from './range';
import { redirCodec } from './redir';
import { rejectCodec } from './reject';
import { rtCodec } from './rt';
import { socketCodec } from './socket';
import { synproxyCodec } from './synproxy';
import { tproxyCodec } from './tproxy';
import { writeFromTemplate } from './value-templates';
import { xfrmCodec } from './xfrm';
import { isObject } from '../../validate/options';

export type { Expression } from './expression';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one table for codecs of different types; each codec is typed where it is defined
const CODECS: ReadonlyArray<ExpressionCodec<any>> = [
  bitwiseCodec,
  byteorderCodec,
  cmpCodec,
  connlimitCodec,
  counterCodec,
  ctCodec,
  dupCodec,
  dynsetCodec,
  exthdrCodec,
  fibCodec,
  flowOffloadCodec,
  fwdCodec,
  hashCodec,
  immediateCodec,
  lastCodec,
  limitCodec,
  logCodec,
  lookupCodec,
  masqCodec,
  metaCodec,
  natCodec,
  notrackCodec,
  numgenCodec,
  objrefCodec,
  osfCodec,
  payloadCodec,
  queueCodec,
  quotaCodec,
  rangeCodec,
  redirCodec,
  rejectCodec,
  rtCodec,
  socketCodec,
  synproxyCodec,
  tproxyCodec,
  xfrmCodec,
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one table for codecs of different types; each codec is typed where it is defined
const byType = new Map<string, ExpressionCodec<any>>(CODECS.map((c) => [c.type, c]));
// NUL-terminated names, encoded once: rules repeat them millions of times in big batches.
const encodedNames = new Map<string, Buffer>(CODECS.map((c) => [c.type, Buffer.from(c.name + '\0')]));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one table for codecs of different types; each codec is typed where it is defined
const byName = new Map<string, ExpressionCodec<any>>(CODECS.map((c) => [c.name, c]));

/** Kernel names of the expressions nlkit decodes into typed objects. */
export const KNOWN_EXPRESSIONS: readonly string[] = CODECS.map((c) => c.name);

const nested: NestedExpressions<Expression> = {
  writeBody: (w, e) => writeExpressionBody(w, e),
  readBody: (buf) => readExpressionBody(buf),
};

/** Writes NFTA_EXPR_NAME + NFTA_EXPR_DATA of one expression. */
export function writeExpressionBody(w: NetlinkWriter, e: Expression): void {
  if (!isObject(e)) throw new ValidationError('expression', e, 'must be an expression object');
  if (e.type === 'opaque') {
    w.string(NFTA_EXPR_NAME, validateNftName(e.name, 'expression name'));
    w.attr(NFTA_EXPR_DATA | 0x8000, e.data);
    return;
  }
  const codec = byType.get(e.type);
  if (!codec) throw new ValidationError('expression', (e as { type: unknown }).type, 'unknown expression type');
  w.attr(NFTA_EXPR_NAME, encodedNames.get(e.type) ?? Buffer.from(codec.name + '\0'));
  const n = w.nest(NFTA_EXPR_DATA);
  codec.encode(w, e, nested);
  w.endNest(n);
}

/** Reads a nest holding NFTA_EXPR_NAME + NFTA_EXPR_DATA. */
export function readExpressionBody(buf: Buffer): Expression {
  return readExpressionAttributes(new Attributes(buf));
}

const NO_ATTRIBUTES = new Attributes(Buffer.alloc(0));

/** The same, from the nest already parsed (no Buffer views: this runs for every expression listed). */
function readExpressionAttributes(a: Attributes): Expression {
  const name = a.string(NFTA_EXPR_NAME) ?? '';
  const codec = byName.get(name);
  if (!codec) return { type: 'opaque', name, data: a.copy(NFTA_EXPR_DATA) ?? Buffer.alloc(0) };
  return codec.decode(a.nested(NFTA_EXPR_DATA) ?? NO_ATTRIBUTES, nested) as Expression;
}

/**
 * Expressions the rule builder repeats unchanged in rule after rule (the `meta l4proto tcp` a port
 * match depends on, the load of `tcp dport`): each is one shared object, and its list element is
 * encoded once and then copied. A new process runs the encoders in the interpreter, where encoding
 * costs far more than a copy (bench/notes.md, "The first 1,000-rule commit").
 */
const constantElements = new WeakMap<Expression, Buffer | null>();

/**
 * Marks an expression object as constant: it must never be changed afterwards (the builder shares it
 * between rules and hands out copies in `toExpressions`).
 */
export function constantExpression<E extends Expression>(e: E): E {
  constantElements.set(e, null);
  return e;
}

/** A copy of an expression the builder shares between rules (what `toExpressions` hands out); any other as it is. */
export function unshared(e: Expression): Expression {
  if (!constantElements.has(e)) return e;
  const copy: Record<string, unknown> = { ...e };
  for (const [k, v] of Object.entries(copy)) {
    if (Buffer.isBuffer(v)) copy[k] = Buffer.from(v);
    else if (Array.isArray(v)) copy[k] = [...(v as unknown[])];
  }
  return copy as unknown as Expression;
}

/** Writes an expression list (NFTA_RULE_EXPRESSIONS, NFTA_SET_EXPRESSIONS, ...) under `attrType`. */
export function writeExpressionList(w: NetlinkWriter, attrType: number, exprs: readonly Expression[]): void {
  const list = w.nest(attrType);
  // An indexed loop: for-of allocates per step until V8 optimises this (the first rules of a process).
  // eslint-disable-next-line @typescript-eslint/prefer-for-of -- runs unoptimised in a new process, where for-of allocates per step
  for (let i = 0; i < exprs.length; i++) {
    const e = exprs[i];
    const constant = constantElements.get(e);
    if (constant) {
      w.bytes(constant);
      continue;
    }
    if (constant === undefined && writeFromTemplate(w, e, encodeExpression)) continue;
    const start = w.length;
    encodeExpression(w, e);
    if (constant === null) constantElements.set(e, Buffer.from(w.written(start)));
  }
  w.endNest(list);
}

/** Reads an expression list nest. */
export function readExpressionList(buf: Buffer | undefined): Expression[] {
  if (!buf) return [];
  return new Attributes(buf).allNested(NFTA_LIST_ELEM).map(readExpressionAttributes);
}

/** Encodes one expression as a standalone list element (tests, tooling). */
export function encodeExpression(w: NetlinkWriter, e: Expression): void {
  const el = w.nest(NFTA_LIST_ELEM);
  writeExpressionBody(w, e);
  w.endNest(el);
}
