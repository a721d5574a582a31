/**
 * Name ↔ number tables for enum-like fields (nftables meta keys, cmp
 * operators, NAT flags, IP protocols, ...). Names are what the tools print;
 * numbers the kernel might send that nlkit has no name for stay numbers, so
 * nothing is lost in a round trip. Unknown names are ValidationErrors.
 * @module
 */
import { ValidationError } from '../netlink/errors';

export class NameTable<N extends string> {
  private readonly byName = new Map<string, number>();
  private readonly byNumber = new Map<number, N>();

  constructor(
    readonly what: string,
    entries: ReadonlyArray<readonly [N, number]>,
  ) {
    for (const [n, v] of entries) {
      this.byName.set(n, v);
      if (!this.byNumber.has(v)) this.byNumber.set(v, n);
    }
  }

  /** The number of a name (or a number passed through); ValidationError otherwise. */
  number(v: N | number, field = this.what): number {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    const n = this.byName.get(v as string);
    if (n === undefined) throw new ValidationError(field, v, `must be one of ${[...this.byName.keys()].join(', ')} or a number`);
    return n;
  }

  /** The name of a number, or the number itself when it has none. */
  name(n: number): N | number {
    return this.byNumber.get(n) ?? n;
  }

  has(v: unknown): v is N {
    return typeof v === 'string' && this.byName.has(v);
  }
}

/** Bit flags as a list of names; bits without a name come back as "0x..." strings. */
export class FlagTable<N extends string> {
  private readonly byName: Map<string, number>;

  constructor(
    readonly what: string,
    private readonly bits: ReadonlyArray<readonly [N, number]>,
  ) {
    this.byName = new Map(bits);
  }

  number(flags: ReadonlyArray<N | string> | undefined, field = this.what): number {
    let out = 0;
    if (flags === undefined) return 0;
    for (const f of flags) {
      const bit = this.byName.get(f);
      if (bit !== undefined) out |= bit;
      else if (typeof f === 'string' && /^0x[0-9a-f]+$/i.test(f)) out |= parseInt(f, 16);
      else throw new ValidationError(field, f, `must be one of ${this.bits.map(([n]) => n).join(', ')}`);
    }
    return out >>> 0;
  }

  names(n: number): Array<N | string> {
    const out: Array<N | string> = [];
    let rest = n >>> 0;
    for (const [name, bit] of this.bits) {
      if ((rest & bit) === bit && bit !== 0) {
        out.push(name);
        rest = (rest & ~bit) >>> 0;
      }
    }
    if (rest) out.push(`0x${rest.toString(16)}`);
    return out;
  }
}
