/**
 * Lowering of header matches that are not a plain field compare: TCP flags
 * (a bit set), DSCP (bits inside a byte), and TCP options (found by kind in
 * the option list, `exthdr`). The expressions are the ones nft generates.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { bitFieldByName } from '../describe-fields';
import { DSCP, TCP_FLAGS, TCP_OPTIONS, symbolValue } from '../header-symbols';
import type { BuildContext } from './context';
import { l4Dep, nfprotoDep } from './fields';
import type { TcpFlagName, TcpFlagsMatch, TcpOptionMatch, TcpOptionName } from './options';

const TCP = 6;
/** `tcp flags` is the 14th byte of the TCP header. */
const TCP_FLAGS_OFFSET = 13;

function flagBits(names: TcpFlagName | TcpFlagName[], field: string): number {
  const list = Array.isArray(names) ? names : [names];
  if (!list.length) throw new ValidationError(field, names, 'needs at least one flag');
  let bits = 0;
  for (const n of list) {
    if (!Object.hasOwn(TCP_FLAGS, n)) throw new ValidationError(field, n, `must be one of ${Object.keys(TCP_FLAGS).join(', ')}`);
    bits |= TCP_FLAGS[n];
  }
  return bits;
}

/**
 * `tcp flags syn` (any of the flags set) or `tcp flags & (syn|ack) == syn`
 * (the flags under the mask are exactly these).
 */
export function matchTcpFlags(ctx: BuildContext, m: TcpFlagsMatch): void {
  let mask: number;
  let value: number;
  let op: 'eq' | 'neq';
  if (typeof m === 'string' || Array.isArray(m)) {
    mask = flagBits(m, 'tcp flags');
    value = 0;
    op = 'neq';
  } else {
    mask = flagBits(m.mask, 'tcp flags mask');
    value = m.equals.length ? flagBits(m.equals, 'tcp flags equals') : 0;
    if (value & ~mask) throw new ValidationError('tcp flags equals', m.equals, 'names flags outside the mask: the rule could never match');
    op = 'eq';
  }
  ctx.need([l4Dep(TCP)]);
  ctx.push(
    { type: 'payload', base: 'transport', offset: TCP_FLAGS_OFFSET, len: 1, dreg: 1 },
    // nft leaves out the operator (mask-xor, the kernel's default) when it tests for any flag.
    { type: 'bitwise', sreg: 1, dreg: 1, len: 1, ...(op === 'eq' ? { op: 'mask-xor' as const } : {}), mask: Buffer.from([mask]), xor: Buffer.from([0]) },
    { type: 'cmp', sreg: 1, op, data: Buffer.from([value]) },
  );
}

/** `ip dscp ef`, `ip6 dscp cs1`: the 6-bit code point, by name or number. */
export function matchDscp(ctx: BuildContext, name: 'ip dscp' | 'ip6 dscp', v: string | number): void {
  const b = bitFieldByName(name);
  if (!b) throw new ValidationError('field', name, 'unknown bit field');
  const code = symbolValue(DSCP, v, name, 63);
  const mask = Buffer.from(b.mask, 'hex');
  const data = Buffer.alloc(b.len);
  data.writeUIntBE(code << b.shift, 0, b.len);
  ctx.need(nfprotoDep(ctx.family, b.family));
  ctx.push(
    { type: 'payload', base: 'network', offset: b.offset, len: b.len, dreg: 1 },
    { type: 'bitwise', sreg: 1, dreg: 1, len: b.len, op: 'mask-xor', mask, xor: Buffer.alloc(b.len) },
    { type: 'cmp', sreg: 1, op: 'eq', data },
  );
}

function tcpOption(name: TcpOptionName): { kind: number; fields: Array<[number, number, string]> } {
  for (const [kind, [n, fields]] of Object.entries(TCP_OPTIONS)) if (n === name) return { kind: Number(kind), fields };
  throw new ValidationError(
    'tcp option',
    name,
    `must be one of ${Object.values(TCP_OPTIONS)
      .map(([n]) => n)
      .join(', ')}`,
  );
}

/** `tcp option maxseg size 1460`, `tcp option sack-perm exists` / `missing`. */
export function matchTcpOption(ctx: BuildContext, name: TcpOptionName, m: TcpOptionMatch): void {
  const opt = tcpOption(name);
  if ('exists' in m) {
    if (typeof m.exists !== 'boolean') throw new ValidationError('tcp option exists', m.exists, 'must be true or false');
    ctx.push(
      { type: 'exthdr', op: 'tcp', headerType: opt.kind, offset: 0, len: 1, dreg: 1, flags: ['present'] },
      { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([m.exists ? 1 : 0]) },
    );
    return;
  }
  const entries = Object.entries(m);
  if (entries.length !== 1) throw new ValidationError(`tcp option ${name}`, m, 'give exactly one field to compare, or { exists }');
  const [fieldName, value] = entries[0];
  const field = opt.fields.find(([, , n]) => n === fieldName);
  if (!field) throw new ValidationError(`tcp option ${name}`, fieldName, `fields: ${opt.fields.map(([, , n]) => n).join(', ') || 'none (use { exists })'}`);
  const [offset, len] = field;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** (8 * len)) {
    throw new ValidationError(`tcp option ${name} ${fieldName}`, value, `must be an integer 0-${2 ** (8 * len) - 1}`);
  }
  const data = Buffer.alloc(len);
  data.writeUIntBE(value, 0, len);
  // flags: [] sends flags 0, as nft does.
  ctx.push({ type: 'exthdr', op: 'tcp', headerType: opt.kind, offset, len, dreg: 1, flags: [] }, { type: 'cmp', sreg: 1, op: 'eq', data });
}
