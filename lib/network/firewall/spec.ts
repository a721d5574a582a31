/**
 * The firewall options of a network spec (`routed`, `masqueradeExclude`,
 * `icc`), validated and recorded. Defaults are not written into the record,
 * so networks recorded before these options existed compare equal.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { cidrContains, formatCidr, formatIp, networkOf, parseCidr, type Cidr } from '../../validate/ip';
import type { NetworkRecord } from '../state';

/** The spec keys validated here. */
export const FIREWALL_SPEC_KEYS = ['masqueradeExclude', 'routed', 'icc'] as const;

/** What the record keeps of the firewall options (only what differs from the defaults). */
export interface FirewallSpecRecord {
  routed?: true;
  masqueradeExclude?: string[];
  icc?: false;
}

function flag(spec: Record<string, unknown>, key: string): boolean | undefined {
  const v = spec[key];
  if (v !== undefined && typeof v !== 'boolean') throw new ValidationError(key, v, 'must be true or false');
  return v;
}

/** Validates `routed`, `masqueradeExclude` and `icc` of a network spec. */
export function validateFirewallSpec(spec: object): FirewallSpecRecord {
  const s = spec as Record<string, unknown>;
  const out: FirewallSpecRecord = {};
  if (flag(s, 'routed') === true) out.routed = true;
  if (flag(s, 'icc') === false) out.icc = false;
  const exclude = s.masqueradeExclude;
  if (exclude === undefined) return out;
  if (!Array.isArray(exclude)) throw new ValidationError('masqueradeExclude', exclude, 'must be an array of CIDRs like ["10.244.0.0/16"]');
  const cidrs = exclude.map((c: unknown) => networkOf(parseCidr(c, 'masqueradeExclude', { defaultFull: true })));
  cidrs.forEach((a, i) =>
    cidrs.forEach((b, j) => {
      if (i !== j && cidrContains(a, b)) {
        throw new ValidationError('masqueradeExclude', exclude[j], `overlaps ${formatCidr(a.bytes, a.prefixLength)} (give each range once)`);
      }
    }),
  );
  // A single address is written without its full-length prefix, as nft lists it.
  const text = (c: Cidr) => (c.prefixLength === c.bytes.length * 8 ? formatIp(c.bytes) : formatCidr(c.bytes, c.prefixLength));
  if (cidrs.length) out.masqueradeExclude = cidrs.map(text);
  return out;
}

/** Whether two records have the same firewall options. */
export function sameFirewallSpec(
  a: Pick<NetworkRecord, 'routed' | 'icc' | 'masqueradeExclude'>,
  b: Pick<NetworkRecord, 'routed' | 'icc' | 'masqueradeExclude'>,
): boolean {
  return (
    !!a.routed === !!b.routed && (a.icc ?? true) === (b.icc ?? true) && JSON.stringify(a.masqueradeExclude ?? []) === JSON.stringify(b.masqueradeExclude ?? [])
  );
}
