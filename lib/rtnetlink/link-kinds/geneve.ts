/**
 * GENEVE tunnels (IFLA_GENEVE_*): the overlay of OVN and several CNIs.
 * Encoded as `ip link add ... type geneve` encodes it (the label, TTL and
 * TOS always; 0 means "the kernel's default / inherit").
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { Attributes } from '../../netlink/parser';
import { formatIp, parseIp } from '../../validate/ip';
import type { LinkKind } from './kind';

const IFLA_GENEVE_ID = 1;
const IFLA_GENEVE_REMOTE = 2;
const IFLA_GENEVE_TTL = 3;
const IFLA_GENEVE_TOS = 4;
const IFLA_GENEVE_PORT = 5;
const IFLA_GENEVE_COLLECT_METADATA = 6;
const IFLA_GENEVE_REMOTE6 = 7;
const IFLA_GENEVE_UDP_CSUM = 8;
const IFLA_GENEVE_LABEL = 11;
const IFLA_GENEVE_TTL_INHERIT = 12;
const IFLA_GENEVE_DF = 13;

/** The IANA GENEVE port (the kernel's default too). */
export const GENEVE_DEFAULT_PORT = 6081;

/** `kind: 'geneve'` options of {@link linkOps.add}. */
export interface GeneveOptions {
  /** The link kind. */
  kind: 'geneve';
  /** Virtual network identifier, 0-16777215; required unless `external`. */
  vni?: number;
  /** The remote endpoint (IPv4 or IPv6); required unless `external`. */
  remote?: string;
  /** Outer TTL 0-255 (0: the route's), or "inherit" from the inner packet. */
  ttl?: number | 'inherit';
  /** Outer TOS (1: inherit). */
  tos?: number;
  /** UDP destination port; default 6081. */
  dstPort?: number;
  /** IPv6 outer flow label, 0-1048575. */
  flowLabel?: number;
  /** UDP checksums on IPv4 outer packets. */
  udpChecksum?: boolean;
  /** Outer don't-fragment bit: "unset", "set", or "inherit" from the inner packet. */
  df?: 'unset' | 'set' | 'inherit';
  /** Metadata ("external") mode: tunnel parameters come per packet (no vni, no remote). */
  external?: boolean;
}

/** A GENEVE device's options as the kernel reports them (`Link.info` of a geneve). */
export interface GeneveInfo {
  /** Virtual network identifier. */
  vni: number;
  /** The remote endpoint. */
  remote?: string;
  /** Outer TTL (absent with ttlInherit). */
  ttl?: number;
  /** The outer TTL is inherited from the inner packet. */
  ttlInherit: boolean;
  /** Outer TOS. */
  tos: number;
  /** UDP destination port. */
  dstPort: number;
  /** IPv6 outer flow label. */
  flowLabel: number;
  /** UDP checksums on IPv4 outer packets. */
  udpChecksum?: boolean;
  /** Outer don't-fragment bit. */
  df?: 'unset' | 'set' | 'inherit' | (string & {});
  /** Metadata ("external") mode. */
  external: boolean;
}

const DF: Record<string, number> = { unset: 0, set: 1, inherit: 2 };

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

export const geneve: LinkKind<GeneveOptions, GeneveInfo> = {
  kind: 'geneve',
  optionKeys: keysOf<GeneveOptions>()(['kind', 'vni', 'remote', 'ttl', 'tos', 'dstPort', 'flowLabel', 'udpChecksum', 'df', 'external']),
  encode(w, o) {
    if (!o.external && (o.vni === undefined || o.remote === undefined)) {
      throw new ValidationError(o.vni === undefined ? 'vni' : 'remote', undefined, 'a geneve device needs vni and remote (or external: true)');
    }
    if (o.external && o.remote !== undefined) throw new ValidationError('remote', o.remote, 'an external (metadata) device has no remote');
    w.u32(IFLA_GENEVE_ID, checkInt('vni', o.vni ?? 0, 0, 0xffffff));
    if (o.remote !== undefined) {
      const ip = parseIp(o.remote, 'remote');
      w.attr(ip.family === 4 ? IFLA_GENEVE_REMOTE : IFLA_GENEVE_REMOTE6, ip.bytes);
    }
    w.be32(IFLA_GENEVE_LABEL, checkInt('flowLabel', o.flowLabel ?? 0, 0, 0xfffff));
    // Like ip: the TTL always (0 with "inherit"), and the inherit flag when asked.
    if (o.ttl === 'inherit') w.u8(IFLA_GENEVE_TTL_INHERIT, 1);
    w.u8(IFLA_GENEVE_TTL, o.ttl === 'inherit' ? 0 : checkInt('ttl', o.ttl ?? 0, 0, 255));
    w.u8(IFLA_GENEVE_TOS, checkInt('tos', o.tos ?? 0, 0, 255));
    if (o.dstPort !== undefined) w.be16(IFLA_GENEVE_PORT, checkInt('dstPort', o.dstPort, 1, 65535));
    if (o.df !== undefined) {
      if (!Object.hasOwn(DF, o.df)) throw new ValidationError('df', o.df, 'one of unset, set, inherit');
      w.u8(IFLA_GENEVE_DF, DF[o.df]);
    }
    if (o.udpChecksum !== undefined) w.u8(IFLA_GENEVE_UDP_CSUM, o.udpChecksum ? 1 : 0);
    if (o.external) w.flag(IFLA_GENEVE_COLLECT_METADATA);
  },
  decode(a: Attributes): GeneveInfo {
    const inherit = (a.u8(IFLA_GENEVE_TTL_INHERIT) ?? 0) !== 0;
    const info: GeneveInfo = {
      vni: a.u32(IFLA_GENEVE_ID) ?? 0,
      ttlInherit: inherit,
      tos: a.u8(IFLA_GENEVE_TOS) ?? 0,
      dstPort: a.be16(IFLA_GENEVE_PORT) ?? GENEVE_DEFAULT_PORT,
      flowLabel: a.be32(IFLA_GENEVE_LABEL) ?? 0,
      external: a.flag(IFLA_GENEVE_COLLECT_METADATA),
    };
    const remote = a.get(IFLA_GENEVE_REMOTE) ?? a.get(IFLA_GENEVE_REMOTE6);
    if (remote?.some((b) => b !== 0)) info.remote = formatIp(remote);
    if (!inherit) info.ttl = a.u8(IFLA_GENEVE_TTL) ?? 0;
    const csum = a.u8(IFLA_GENEVE_UDP_CSUM);
    if (csum !== undefined) info.udpChecksum = csum !== 0;
    const df = a.u8(IFLA_GENEVE_DF);
    if (df !== undefined) info.df = Object.keys(DF).find((k) => DF[k] === df) ?? String(df);
    return info;
  },
};
