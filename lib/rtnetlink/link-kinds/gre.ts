/**
 * GRE tunnels over IPv4 (IFLA_GRE_*): `gre` carries IP packets, `gretap`
 * Ethernet frames. Encoded as `ip link add ... type gre` encodes it: the
 * settings not given are sent at ip's defaults (keys 0, path MTU discovery
 * on, TTL and TOS 0 = inherit, no encapsulation), except the endpoints; a
 * metadata ("external") device gets only its flag.
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { Attributes } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';
import { formatIp, parseIp } from '../../validate/ip';
import type { EncodeContext, LinkKind } from './kind';

const IFLA_GRE_LINK = 1;
const IFLA_GRE_IFLAGS = 2;
const IFLA_GRE_OFLAGS = 3;
const IFLA_GRE_IKEY = 4;
const IFLA_GRE_OKEY = 5;
const IFLA_GRE_LOCAL = 6;
const IFLA_GRE_REMOTE = 7;
const IFLA_GRE_TTL = 8;
const IFLA_GRE_TOS = 9;
const IFLA_GRE_PMTUDISC = 10;
const IFLA_GRE_ENCAP_TYPE = 14;
const IFLA_GRE_ENCAP_FLAGS = 15;
const IFLA_GRE_ENCAP_SPORT = 16;
const IFLA_GRE_ENCAP_DPORT = 17;
const IFLA_GRE_COLLECT_METADATA = 18;
const IFLA_GRE_FWMARK = 20;

/** GRE header flags (big-endian on the wire). */
const GRE_CSUM = 0x8000;
const GRE_KEY = 0x2000;

/** GRE settings shared by `gre` and `gretap`. */
export interface GreSettings {
  /** Remote endpoint (IPv4); absent: any (a multipoint tunnel). */
  remote?: string;
  /** Local endpoint (IPv4). */
  local?: string;
  /** Outer TTL 1-255; 0 (the default) inherits the inner packet's. */
  ttl?: number;
  /** Outer TOS (default 0); 1 inherits the inner packet's. */
  tos?: number;
  /** One key for both directions (`key`); or set `ikey`/`okey` apart. */
  key?: number;
  /** Key expected on received packets. */
  ikey?: number;
  /** Key put on sent packets. */
  okey?: number;
  /** GRE checksums, both directions (`csum`). */
  checksum?: boolean;
  /** Path MTU discovery (default on; off needs ttl 0). */
  pmtudisc?: boolean;
  /** The underlying device for the outer packets. */
  dev?: string | number;
  /** Firewall mark of the outer packets. */
  fwmark?: number;
  /** Metadata ("external") mode: tunnel parameters come per packet. */
  external?: boolean;
}

/** `kind: 'gre'` options of {@link linkOps.add}. */
export interface GreOptions extends GreSettings {
  /** The link kind. */
  kind: 'gre';
}

/** `kind: 'gretap'` options of {@link linkOps.add}. */
export interface GretapOptions extends GreSettings {
  /** The link kind. */
  kind: 'gretap';
}

/** A GRE or GRETAP device's options as the kernel reports them (`Link.info`). */
export interface GreInfo {
  /** Remote endpoint, when not "any". */
  remote?: string;
  /** Local endpoint, when set. */
  local?: string;
  /** Outer TTL (0: inherit). */
  ttl: number;
  /** Outer TOS. */
  tos: number;
  /** Key expected on received packets. */
  ikey?: number;
  /** Key put on sent packets. */
  okey?: number;
  /** Checksums on received packets are required. */
  inputChecksum: boolean;
  /** Checksums are put on sent packets. */
  outputChecksum: boolean;
  /** Path MTU discovery on. */
  pmtudisc: boolean;
  /** Index of the underlying device. */
  dev?: number;
  /** Firewall mark of the outer packets. */
  fwmark?: number;
  /** Metadata ("external") mode. */
  external: boolean;
}

const SETTINGS_KEYS = keysOf<GreSettings>()(['remote', 'local', 'ttl', 'tos', 'key', 'ikey', 'okey', 'checksum', 'pmtudisc', 'dev', 'fwmark', 'external']);

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

/** Settings a metadata ("external") device does not take: ip sends only the flag then. */
const NOT_EXTERNAL = ['remote', 'local', 'ttl', 'tos', 'key', 'ikey', 'okey', 'checksum', 'pmtudisc', 'dev', 'fwmark'] as const;

function encode(w: NetlinkWriter, o: GreSettings, ctx: EncodeContext): void {
  if (o.external) {
    const given = NOT_EXTERNAL.find((k) => o[k] !== undefined);
    if (given !== undefined) throw new ValidationError(given, o[given], 'an external (metadata) tunnel takes its parameters per packet');
    w.flag(IFLA_GRE_COLLECT_METADATA);
    return;
  }
  if (o.key !== undefined && (o.ikey !== undefined || o.okey !== undefined)) throw new ValidationError('key', o.key, 'give key, or ikey/okey, not both');
  const ikey = o.key ?? o.ikey;
  const okey = o.key ?? o.okey;
  const csum = o.checksum ? GRE_CSUM : 0;
  w.be32(IFLA_GRE_IKEY, checkInt('ikey', ikey ?? 0, 0, 0xffffffff));
  w.be32(IFLA_GRE_OKEY, checkInt('okey', okey ?? 0, 0, 0xffffffff));
  w.be16(IFLA_GRE_IFLAGS, csum | (ikey !== undefined ? GRE_KEY : 0));
  w.be16(IFLA_GRE_OFLAGS, csum | (okey !== undefined ? GRE_KEY : 0));
  if (o.local !== undefined) w.attr(IFLA_GRE_LOCAL, parseIp(o.local, 'local', 4).bytes);
  if (o.remote !== undefined) w.attr(IFLA_GRE_REMOTE, parseIp(o.remote, 'remote', 4).bytes);
  w.u8(IFLA_GRE_PMTUDISC, (o.pmtudisc ?? true) ? 1 : 0);
  w.u8(IFLA_GRE_TOS, checkInt('tos', o.tos ?? 0, 0, 255));
  w.u8(IFLA_GRE_TTL, checkInt('ttl', o.ttl ?? 0, 0, 255));
  if (o.dev !== undefined) w.u32(IFLA_GRE_LINK, ctx.indexOf(o.dev));
  w.u32(IFLA_GRE_FWMARK, checkInt('fwmark', o.fwmark ?? 0, 0, 0xffffffff));
  // No foo-over-UDP encapsulation (ip sends these zeros too).
  w.u16(IFLA_GRE_ENCAP_TYPE, 0);
  w.u16(IFLA_GRE_ENCAP_FLAGS, 0);
  w.be16(IFLA_GRE_ENCAP_SPORT, 0);
  w.be16(IFLA_GRE_ENCAP_DPORT, 0);
}

function decode(a: Attributes): GreInfo {
  const iflags = a.be16(IFLA_GRE_IFLAGS) ?? 0;
  const oflags = a.be16(IFLA_GRE_OFLAGS) ?? 0;
  const info: GreInfo = {
    ttl: a.u8(IFLA_GRE_TTL) ?? 0,
    tos: a.u8(IFLA_GRE_TOS) ?? 0,
    inputChecksum: (iflags & GRE_CSUM) !== 0,
    outputChecksum: (oflags & GRE_CSUM) !== 0,
    pmtudisc: (a.u8(IFLA_GRE_PMTUDISC) ?? 1) !== 0,
    external: a.flag(IFLA_GRE_COLLECT_METADATA),
  };
  const remote = a.get(IFLA_GRE_REMOTE);
  if (remote?.some((b) => b !== 0)) info.remote = formatIp(remote);
  const local = a.get(IFLA_GRE_LOCAL);
  if (local?.some((b) => b !== 0)) info.local = formatIp(local);
  if (iflags & GRE_KEY) info.ikey = a.be32(IFLA_GRE_IKEY) ?? 0;
  if (oflags & GRE_KEY) info.okey = a.be32(IFLA_GRE_OKEY) ?? 0;
  const dev = a.u32(IFLA_GRE_LINK);
  if (dev) info.dev = dev;
  const fwmark = a.u32(IFLA_GRE_FWMARK);
  if (fwmark) info.fwmark = fwmark;
  return info;
}

const references = (o: GreSettings) => (o.dev !== undefined ? [o.dev] : []);

export const gre: LinkKind<GreOptions, GreInfo> = { kind: 'gre', optionKeys: ['kind', ...SETTINGS_KEYS], references, encode, decode };
export const gretap: LinkKind<GretapOptions, GreInfo> = { kind: 'gretap', optionKeys: ['kind', ...SETTINGS_KEYS], references, encode, decode };
