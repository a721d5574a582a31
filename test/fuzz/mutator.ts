// Mutations of netlink messages for the fuzz target: bit flips, byte sets,
// truncation, corrupted nlmsg_len / nla_len fields, attributes spliced in from
// other messages, duplicated, removed or retyped — driven by a seeded PRNG so
// every input can be made again from (seed, iteration).

/** A small fast PRNG (sfc32) seeded from (seed, stream); each iteration gets its own stream. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = seed >>> 0;
    this.b = stream >>> 0;
    this.c = 0x9e3779b9;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }

  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
}

/** Where one attribute sits in a message, with the headers of the nests around it. */
interface AttributeSite {
  /** Offset of its 4-byte header. */
  at: number;
  /** Its nla_len. */
  length: number;
  /** Header offsets of the enclosing attributes, outermost first. */
  parents: number[];
}

/** Bytes of the fixed header before the attributes, by protocol and message type. */
export function attributesStart(protocol: 'route' | 'netfilter', type: number, flags: number, payload: Buffer): number {
  if (type === 2) {
    // nlmsgerr: error code, the request's header, its payload unless capped (0x100), then the extack TLVs.
    if (flags & 0x100 || payload.length < 8) return 4 + 16;
    return 4 + ((payload.readUInt32LE(4) + 3) & ~3);
  }
  if (type === 3) return 4;
  if (protocol === 'netfilter') return 4;
  switch (type & ~3) {
    case 16:
      return 16; // ifinfomsg
    case 20:
      return 8; // ifaddrmsg
    case 24:
    case 28:
    case 32:
      return 12; // rtmsg, ndmsg, fib_rule_hdr
    case 36:
    case 40:
      return 20; // tcmsg (qdiscs, classes)
    default:
      return 4;
  }
}

/** True when [start, end) is exactly a sequence of well-formed attributes. */
function looksNested(b: Buffer, start: number, end: number): boolean {
  if (end - start < 4) return false;
  let off = start;
  while (off + 4 <= end) {
    const len = b.readUInt16LE(off);
    if (len < 4 || off + len > end) return false;
    off += (len + 3) & ~3;
  }
  return off >= end;
}

/** Every attribute of a message (given whole, header included), nests walked recursively. */
export function attributeSites(msg: Buffer, start: number): AttributeSite[] {
  const out: AttributeSite[] = [];
  const walk = (from: number, to: number, parents: number[], depth: number) => {
    let off = from;
    while (off + 4 <= to) {
      const len = msg.readUInt16LE(off);
      if (len < 4 || off + len > to) return;
      out.push({ at: off, length: len, parents });
      const nestedFlag = (msg.readUInt16LE(off + 2) & 0x8000) !== 0;
      if (depth < 8 && (nestedFlag || looksNested(msg, off + 4, off + len))) walk(off + 4, off + len, [...parents, off], depth + 1);
      off += (len + 3) & ~3;
    }
  };
  if (msg.length >= 16) walk(16 + start, Math.min(msg.length, msg.readUInt32LE(0)), [], 0);
  return out;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x7f, 0x80, 0xfe, 0xff];

/** Values for 1, 2, 4 and 8-byte attributes: limits, sign bits, one past them. */
const INTERESTING_VALUES: Record<number, bigint[]> = {
  1: [0n, 1n, 0x7fn, 0x80n, 0xffn],
  2: [0n, 1n, 0x7fffn, 0x8000n, 0xffffn],
  4: [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0xfffffffen],
  8: [0n, 1n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0x20000000000000n],
};

/** Strings that trip lookups in plain objects, parsers and formatting. */
const INTERESTING_STRINGS = [
  '',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'prototype',
  'valueOf',
  'bridge',
  'veth',
  'vxlan',
  'macvlan',
  'tun',
  'counter',
  'payload',
  'lookup',
  'immediate',
  'x'.repeat(300),
  '\u00ff\u00fe',
  '%s%n',
  '*',
];

/** True when an attribute's payload looks like a NUL-terminated name. */
function isString(b: Buffer, at: number, len: number): boolean {
  if (len < 6 || b[at + len - 1] !== 0) return false;
  for (let i = at + 4; i < at + len - 1; i++) if (b[i] < 0x20 || b[i] > 0x7e) return false;
  return true;
}

/** Replaces [at, at + removed) with `insert` and adds the size change to the nlmsg_len and every enclosing nla_len. */
function resize(msg: Buffer, at: number, removed: number, insert: Buffer, parents: number[]): Buffer | undefined {
  const delta = insert.length - removed;
  for (const p of parents) if (msg.readUInt16LE(p) + delta > 0xffff || msg.readUInt16LE(p) + delta < 4) return undefined;
  const out = Buffer.concat([msg.subarray(0, at), insert, msg.subarray(at + removed)]);
  out.writeUInt32LE((out.readUInt32LE(0) + delta) >>> 0, 0);
  for (const p of parents) out.writeUInt16LE(out.readUInt16LE(p) + delta, p);
  return out;
}

/** An attribute's bytes padded to 4, as it would sit in a message. */
function padded(msg: Buffer, site: AttributeSite): Buffer {
  const out = Buffer.alloc((site.length + 3) & ~3);
  msg.copy(out, 0, site.at, Math.min(msg.length, site.at + site.length));
  return out;
}

export type MutationName = 'flip' | 'bytes' | 'truncate' | 'nlmsg_len' | 'nla_len' | 'splice' | 'duplicate' | 'remove' | 'retype' | 'type' | 'value' | 'string';

/** One mutated copy of `msg`. `donor` is another message of the same protocol (for splicing); `types` the message types seen. */
export function mutate(
  rnd: Random,
  msg: Buffer,
  start: number,
  donor: { msg: Buffer; start: number },
  types: readonly number[],
): { bytes: Buffer; applied: MutationName[] } {
  let b: Buffer = Buffer.from(msg);
  const applied: MutationName[] = [];
  const rounds = 1 + rnd.below(3);
  for (let r = 0; r < rounds; r++) {
    const sites = attributeSites(b, start);
    const kind = rnd.below(12);
    if (kind === 0 && b.length) {
      for (let n = 1 + rnd.below(4); n > 0; n--) b[rnd.below(b.length)] ^= 1 << rnd.below(8);
      applied.push('flip');
    } else if (kind === 1 && b.length) {
      for (let n = 1 + rnd.below(4); n > 0; n--) b[rnd.below(b.length)] = rnd.chance(0.7) ? rnd.pick(INTERESTING_BYTES) : rnd.below(256);
      applied.push('bytes');
    } else if (kind === 2 && b.length > 16) {
      b = Buffer.from(b.subarray(0, 16 + rnd.below(b.length - 16)));
      if (rnd.chance(0.7)) b.writeUInt32LE(b.length, 0); // keep the message parseable, only shorter
      applied.push('truncate');
    } else if (kind === 3 && b.length >= 16) {
      const len = b.length;
      b.writeUInt32LE(rnd.pick([0, 15, 16, 17, 20, len - 4, len - 1, len + 1, len + 4, 0xffffffff, rnd.below(len + 1)]) >>> 0, 0);
      applied.push('nlmsg_len');
    } else if (kind === 4 && sites.length) {
      const s = rnd.pick(sites);
      b.writeUInt16LE(rnd.pick([0, 1, 3, 4, 5, 7, 8, s.length - 1, s.length + 1, s.length + 4, 0xffff, rnd.below(0x10000)]) & 0xffff, s.at);
      applied.push('nla_len');
    } else if (kind === 5) {
      // An attribute of another message, inserted at an attribute boundary (possibly inside a nest).
      const donorSites = attributeSites(donor.msg, donor.start);
      if (!donorSites.length) continue;
      const piece = padded(donor.msg, rnd.pick(donorSites));
      const anchor = sites.length && rnd.chance(0.8) ? rnd.pick(sites) : undefined;
      const at = anchor ? anchor.at : Math.min(b.length, 16 + start);
      const out = resize(b, at, 0, piece, anchor ? anchor.parents : []);
      if (out) {
        b = out;
        applied.push('splice');
      }
    } else if (kind === 6 && sites.length) {
      const s = rnd.pick(sites);
      const out = resize(b, s.at, 0, padded(b, s), s.parents);
      if (out) {
        b = out;
        applied.push('duplicate');
      }
    } else if (kind === 7 && sites.length) {
      const s = rnd.pick(sites);
      const out = resize(b, s.at, Math.min((s.length + 3) & ~3, b.length - s.at), Buffer.alloc(0), s.parents);
      if (out) {
        b = out;
        applied.push('remove');
      }
    } else if (kind === 8 && sites.length) {
      const s = rnd.pick(sites);
      const t = b.readUInt16LE(s.at + 2);
      b.writeUInt16LE(rnd.chance(0.3) ? t ^ (rnd.chance(0.5) ? 0x8000 : 0x4000) : (t & 0xc000) | rnd.below(48), s.at + 2);
      applied.push('retype');
    } else if (kind === 9 && b.length >= 16) {
      b.writeUInt16LE(rnd.chance(0.8) ? rnd.pick(types) : rnd.below(0x10000), 4);
      applied.push('type');
    } else if (kind === 10) {
      // A scalar attribute set to a limit, in either byte order.
      const scalars = sites.filter((s) => INTERESTING_VALUES[s.length - 4] && s.at + s.length <= b.length);
      if (!scalars.length) continue;
      const s = rnd.pick(scalars);
      const size = s.length - 4;
      const v = rnd.pick(INTERESTING_VALUES[size]);
      for (let i = 0; i < size; i++) {
        const byte = Number((v >> BigInt(8 * i)) & 0xffn);
        b[s.at + 4 + (rnd.chance(0.5) ? i : size - 1 - i)] = byte;
      }
      applied.push('value');
    } else if (kind === 11) {
      // A name attribute (link kind, expression name, set name, ...) replaced by a dictionary string.
      const strings = sites.filter((s) => s.at + s.length <= b.length && isString(b, s.at, s.length));
      if (!strings.length) continue;
      const s = rnd.pick(strings);
      const text = Buffer.from(rnd.pick(INTERESTING_STRINGS) + (rnd.chance(0.9) ? '\0' : ''), 'latin1');
      const attr = Buffer.alloc((4 + text.length + 3) & ~3);
      attr.writeUInt16LE(4 + text.length, 0);
      attr.writeUInt16LE(b.readUInt16LE(s.at + 2), 2);
      text.copy(attr, 4);
      const out = resize(b, s.at, (s.length + 3) & ~3, attr, s.parents);
      if (out) {
        b = out;
        applied.push('string');
      }
    }
  }
  return { bytes: b, applied };
}
