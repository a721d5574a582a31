/**
 * A subnet seen as a pool of host addresses: which addresses are usable
 * (not the network, broadcast or gateway address), and the next free one
 * after a given address, wrapping around like CNI host-local does.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatIp, parseCidr, parseIp, type IpFamily } from '../validate/ip';

function toBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function toBytes(v: bigint, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export class AddressPool {
  readonly family: IpFamily;
  readonly prefixLength: number;
  /** "10.88.0.0/24" (host bits cleared). */
  readonly subnet: string;
  readonly gateway: string;
  private readonly base: bigint;
  private readonly size: bigint;
  private readonly width: number;

  constructor(subnet: string, gateway?: string) {
    const c = parseCidr(subnet, 'subnet');
    const bits = c.family === 4 ? 32 : 128;
    if (bits - c.prefixLength < 2) throw new ValidationError('subnet', subnet, 'too small for hosts (need at least a /30 or /126)');
    this.family = c.family;
    this.prefixLength = c.prefixLength;
    this.width = bits / 8;
    this.size = 1n << BigInt(bits - c.prefixLength);
    this.base = (toBig(c.bytes) / this.size) * this.size;
    this.subnet = `${formatIp(toBytes(this.base, this.width))}/${c.prefixLength}`;
    this.gateway = gateway ?? formatIp(toBytes(this.base + 1n, this.width));
    if (!this.contains(this.gateway)) throw new ValidationError('gateway', gateway, `not inside ${this.subnet}`);
  }

  /** Whether `ip` lies in the subnet. */
  contains(ip: string): boolean {
    const p = parseIp(ip, 'address');
    if (p.family !== this.family) return false;
    const v = toBig(p.bytes);
    return v >= this.base && v < this.base + this.size;
  }

  /** Whether `ip` can be given to a host: inside, not network/broadcast/gateway. */
  usable(ip: string): boolean {
    if (!this.contains(ip) || ip === this.gateway) return false;
    const v = toBig(parseIp(ip).bytes);
    if (v === this.base) return false;
    if (this.family === 4 && v === this.base + this.size - 1n) return false;
    return true;
  }

  /** Canonical text of an address in this pool (validates the family). */
  canonical(ip: string): string {
    return formatIp(parseIp(ip, 'address', this.family).bytes);
  }

  /**
   * The first usable address after `after` (or from the start) for which
   * `taken` is false; undefined when the pool is exhausted.
   */
  nextFree(taken: (ip: string) => boolean, after?: string): string | undefined {
    const first = this.base + 1n;
    const last = this.base + this.size - (this.family === 4 ? 2n : 1n);
    let start = after && this.contains(after) ? toBig(parseIp(after).bytes) + 1n : first;
    if (start > last || start < first) start = first;
    // Bound the scan: an IPv6 /64 is never scanned end to end.
    const span = last - first + 1n;
    const limit = span < 1_000_000n ? span : 1_000_000n;
    let v = start;
    for (let i = 0n; i < limit; i++) {
      const ip = formatIp(toBytes(v, this.width));
      if (ip !== this.gateway && !taken(ip)) return ip;
      v = v >= last ? first : v + 1n;
    }
    return undefined;
  }

  /** "10.88.0.2/24" for an address of this pool. */
  withPrefix(ip: string): string {
    return `${ip}/${this.prefixLength}`;
  }

  /** Whether two subnets overlap. */
  overlaps(other: AddressPool): boolean {
    if (other.family !== this.family) return false;
    return this.base < other.base + other.size && other.base < this.base + this.size;
  }
}

/** Pools by subnet and gateway: an attach needs its network's pools several times (the lease, the address, the result). */
const pools = new Map<string, AddressPool>();
const MAX_CACHED_POOLS = 256;

/**
 * The pool of `subnet` (and `gateway`), made once per process: a pool is
 * immutable and parsing it is most of an attach's address work. Throws as
 * the constructor does (nothing is cached then).
 */
export function poolOf(subnet: string, gateway?: string): AddressPool {
  const key = gateway === undefined ? subnet : `${subnet} ${gateway}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new AddressPool(subnet, gateway);
    if (pools.size >= MAX_CACHED_POOLS) pools.clear(); // networks come and go in a long-lived process
    pools.set(key, pool);
  }
  return pool;
}
