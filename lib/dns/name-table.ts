/**
 * The names of one network, indexed for answering: forward names (with and
 * without the domain) to records, and reverse names (in-addr.arpa, ip6.arpa)
 * to the names they point back to.
 * @module
 */
import { parseIp } from '../validate/ip';
import type { NameRecord } from './name-source';

/** "10.0.0.2" → "2.0.0.10.in-addr.arpa"; "fd00::2" → nibbles + ".ip6.arpa". */
export function reverseName(address: string): string {
  const { family, bytes } = parseIp(address);
  if (family === 4) return `${[...bytes].reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (const b of bytes) nibbles.push((b >> 4).toString(16), (b & 15).toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

export class NameTable {
  private readonly byName = new Map<string, NameRecord[]>();
  private readonly byReverse = new Map<string, string>();
  /**
   * Names under the domain that hold no record but exist (the domain itself,
   * "backend.<domain>" when "db.backend" is a name): NODATA, not NXDOMAIN,
   * which tells a resolver that nothing below exists either (RFC 8020).
   */
  private readonly interior = new Set<string>();
  /** Reverse names above an address's ("0.97.10.in-addr.arpa" above "2.0.97.10.in-addr.arpa"): they exist, without records. */
  private readonly reverseInterior = new Set<string>();

  /** @param domain lower-case, without dots around it; '' for none */
  constructor(
    records: readonly NameRecord[],
    readonly domain: string,
  ) {
    if (domain !== '') this.interior.add(domain);
    for (const r of records) {
      for (const raw of r.names) {
        const name = raw.toLowerCase();
        this.add(name, r);
        if (domain !== '') this.add(`${name}.${domain}`, r);
      }
      const first = r.names[0] as string | undefined;
      if (first === undefined) continue;
      const fqdn = domain === '' ? first.toLowerCase() : `${first.toLowerCase()}.${domain}`;
      for (const a of [r.ipv4, r.ipv6]) if (a !== undefined && !this.byReverse.has(reverseName(a))) this.addReverse(reverseName(a), fqdn);
    }
  }

  /** The records of a (lower-case) name. */
  lookup(name: string): readonly NameRecord[] | undefined {
    return this.byName.get(name);
  }

  /** The name a reverse name (lower-case) points to. */
  reverse(name: string): string | undefined {
    return this.byReverse.get(name);
  }

  /** The (lower-case) reverse name is an address's here, or above one ("0.97.10.in-addr.arpa"). */
  reverseExists(name: string): boolean {
    return this.byReverse.has(name) || this.reverseInterior.has(name);
  }

  /** The name is under the domain (so an unknown one is NXDOMAIN, not forwarded). */
  owns(name: string): boolean {
    return this.domain !== '' && (name === this.domain || name.endsWith(`.${this.domain}`));
  }

  /** The (lower-case) name exists under the domain without records of its own (answer NODATA). */
  isInterior(name: string): boolean {
    return this.interior.has(name);
  }

  private addReverse(name: string, target: string): void {
    this.byReverse.set(name, target);
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) this.reverseInterior.add(name.slice(i + 1));
  }

  private add(name: string, r: NameRecord): void {
    if (this.owns(name))
      for (let i = name.indexOf('.'); i !== -1 && this.owns(name.slice(i + 1)); i = name.indexOf('.', i + 1)) this.interior.add(name.slice(i + 1));
    const list = this.byName.get(name);
    if (list) list.push(r);
    else this.byName.set(name, [r]);
  }
}
