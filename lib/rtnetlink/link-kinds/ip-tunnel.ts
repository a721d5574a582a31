/**
 * IP-in-IP tunnels (IFLA_IPTUN_*): `ipip` (IPv4 in IPv4), `sit` (IPv6 in
 * IPv4) and `ip6tnl` (IPv6 or IPv4 in IPv6). Encoded as `ip link add ...`
 * encodes them: the settings not given are sent at ip's defaults (path MTU
 * discovery on, TTL and TOS 0 = inherit; ip6tnl: mode any, hop limit 64,
 * encapsulation limit 4; no foo-over-UDP encapsulation), except the
 * endpoints; a metadata ("external") device gets only its flag (and protocol 0).
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { Attributes } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';
import { formatIp, parseIp, type IpFamily } from '../../validate/ip';
import type { EncodeContext, LinkKind } from './kind';

const IFLA_IPTUN_LINK = 1;
const IFLA_IPTUN_LOCAL = 2;
const IFLA_IPTUN_REMOTE = 3;
const IFLA_IPTUN_TTL = 4;
const IFLA_IPTUN_TOS = 5;
const IFLA_IPTUN_ENCAP_LIMIT = 6;
const IFLA_IPTUN_FLOWINFO = 7;
const IFLA_IPTUN_FLAGS = 8;
const IFLA_IPTUN_PROTO = 9;
const IFLA_IPTUN_PMTUDISC = 10;
const IFLA_IPTUN_ENCAP_TYPE = 15;
const IFLA_IPTUN_ENCAP_FLAGS = 16;
const IFLA_IPTUN_ENCAP_SPORT = 17;
const IFLA_IPTUN_ENCAP_DPORT = 18;
const IFLA_IPTUN_COLLECT_METADATA = 19;
const IFLA_IPTUN_FWMARK = 20;

/** TUNNEL_ENCAP_FLAG_CSUM6: ip's default for ip6tnl. */
const ENCAP_FLAG_CSUM6 = 2;
/** ip6tnl modes by the names `ip` uses: the inner protocol. */
const IP6TNL_MODES: Record<string, number> = { ip6ip6: 41, ipip6: 4, any: 0 };

/** Settings of every IP-in-IP tunnel. */
export interface IpTunnelSettings {
  /** Remote endpoint; absent: any. */
  remote?: string;
  /** Local endpoint. */
  local?: string;
  /** The underlying device for the outer packets. */
  dev?: string | number;
  /** Firewall mark of the outer packets. */
  fwmark?: number;
  /** Metadata ("external") mode: tunnel parameters come per packet. */
  external?: boolean;
}

/** Settings of the IPv4-outer tunnels (ipip, sit). */
export interface Ip4TunnelSettings extends IpTunnelSettings {
  /** Outer TTL 1-255; 0 (the default) inherits. */
  ttl?: number;
  /** Outer TOS (1: inherit). */
  tos?: number;
  /** Path MTU discovery (default on). */
  pmtudisc?: boolean;
}

/** `kind: 'ipip'` options of {@link linkOps.add}. */
export interface IpipOptions extends Ip4TunnelSettings {
  /** The link kind. */
  kind: 'ipip';
}

/** `kind: 'sit'` options of {@link linkOps.add}. */
export interface SitOptions extends Ip4TunnelSettings {
  /** The link kind. */
  kind: 'sit';
}

/** `kind: 'ip6tnl'` options of {@link linkOps.add}. */
export interface Ip6tnlOptions extends IpTunnelSettings {
  /** The link kind. */
  kind: 'ip6tnl';
  /** Inner protocol: "ip6ip6" (IPv6), "ipip6" (IPv4) or "any" (the default, as for ip). */
  mode?: 'ip6ip6' | 'ipip6' | 'any';
  /** Outer hop limit, 0-255; default 64. */
  hopLimit?: number;
  /** Tunnel encapsulation limit, 0-255; default 4. */
  encapLimit?: number;
  /** Outer flow label, 0-1048575. */
  flowLabel?: number;
}

/** An IP-in-IP tunnel's options as the kernel reports them (`Link.info` of ipip, sit, ip6tnl). */
export interface IpTunnelInfo {
  /** Remote endpoint, when not "any". */
  remote?: string;
  /** Local endpoint, when set. */
  local?: string;
  /** Outer TTL / hop limit (0: inherit). */
  ttl: number;
  /** Outer TOS (ipip, sit). */
  tos?: number;
  /** Path MTU discovery on (ipip, sit). */
  pmtudisc?: boolean;
  /** ip6tnl: the inner protocol, or its number. */
  mode?: 'ip6ip6' | 'ipip6' | 'any' | (string & {});
  /** ip6tnl: encapsulation limit. */
  encapLimit?: number;
  /** ip6tnl: outer flow label. */
  flowLabel?: number;
  /** Index of the underlying device. */
  dev?: number;
  /** Firewall mark of the outer packets. */
  fwmark?: number;
  /** Metadata ("external") mode. */
  external: boolean;
}

const COMMON_KEYS = keysOf<IpTunnelSettings>()(['remote', 'local', 'dev', 'fwmark', 'external']);
const IP4_KEYS = [...COMMON_KEYS, ...keysOf<Omit<Ip4TunnelSettings, keyof IpTunnelSettings>>()(['ttl', 'tos', 'pmtudisc'])];
const IP6_KEYS = [...COMMON_KEYS, ...keysOf<Omit<Ip6tnlOptions, keyof IpTunnelSettings | 'kind'>>()(['mode', 'hopLimit', 'encapLimit', 'flowLabel'])];

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

function writeEndpoints(w: NetlinkWriter, o: IpTunnelSettings, family: IpFamily): void {
  if (o.local !== undefined) w.attr(IFLA_IPTUN_LOCAL, parseIp(o.local, 'local', family).bytes);
  if (o.remote !== undefined) w.attr(IFLA_IPTUN_REMOTE, parseIp(o.remote, 'remote', family).bytes);
}

/** A metadata ("external") tunnel: ip sends only the protocol (0, any) and the flag. True when written. */
function writeExternal(w: NetlinkWriter, o: IpTunnelSettings & Record<string, unknown>, keys: readonly string[]): boolean {
  if (!o.external) return false;
  const given = keys.find((k) => k !== 'external' && o[k] !== undefined);
  if (given !== undefined) throw new ValidationError(given, o[given], 'an external (metadata) tunnel takes its parameters per packet');
  w.u8(IFLA_IPTUN_PROTO, 0);
  w.flag(IFLA_IPTUN_COLLECT_METADATA);
  return true;
}

/** The tail every tunnel sends: device, mark, metadata mode, no encapsulation. */
function writeTail(w: NetlinkWriter, o: IpTunnelSettings, ctx: EncodeContext, encapFlags: number): void {
  w.u32(IFLA_IPTUN_LINK, o.dev !== undefined ? ctx.indexOf(o.dev) : 0);
  w.u32(IFLA_IPTUN_FWMARK, checkInt('fwmark', o.fwmark ?? 0, 0, 0xffffffff));
  w.u16(IFLA_IPTUN_ENCAP_TYPE, 0);
  w.u16(IFLA_IPTUN_ENCAP_FLAGS, encapFlags);
  w.be16(IFLA_IPTUN_ENCAP_SPORT, 0);
  w.be16(IFLA_IPTUN_ENCAP_DPORT, 0);
}

function encodeIp4(sit: boolean) {
  return (w: NetlinkWriter, o: Ip4TunnelSettings, ctx: EncodeContext): void => {
    if (writeExternal(w, o as Ip4TunnelSettings & Record<string, unknown>, IP4_KEYS)) return;
    w.u8(IFLA_IPTUN_PROTO, 0);
    writeEndpoints(w, o, 4);
    w.u8(IFLA_IPTUN_PMTUDISC, (o.pmtudisc ?? true) ? 1 : 0);
    w.u8(IFLA_IPTUN_TOS, checkInt('tos', o.tos ?? 0, 0, 255));
    w.u8(IFLA_IPTUN_TTL, checkInt('ttl', o.ttl ?? 0, 0, 255));
    writeTail(w, o, ctx, 0);
    if (sit) w.u16(IFLA_IPTUN_FLAGS, 0);
  };
}

function encodeIp6(w: NetlinkWriter, o: Ip6tnlOptions, ctx: EncodeContext): void {
  if (writeExternal(w, o as Ip6tnlOptions & Record<string, unknown>, IP6_KEYS)) return;
  const mode = o.mode ?? 'any';
  if (!Object.hasOwn(IP6TNL_MODES, mode)) throw new ValidationError('mode', mode, 'one of ip6ip6, ipip6, any');
  w.u8(IFLA_IPTUN_PROTO, IP6TNL_MODES[mode]);
  writeEndpoints(w, o, 6);
  w.u8(IFLA_IPTUN_TTL, checkInt('hopLimit', o.hopLimit ?? 64, 0, 255));
  w.u8(IFLA_IPTUN_ENCAP_LIMIT, checkInt('encapLimit', o.encapLimit ?? 4, 0, 255));
  w.be32(IFLA_IPTUN_FLOWINFO, checkInt('flowLabel', o.flowLabel ?? 0, 0, 0xfffff));
  w.u32(IFLA_IPTUN_FLAGS, 0);
  writeTail(w, o, ctx, ENCAP_FLAG_CSUM6);
}

function decode(a: Attributes): IpTunnelInfo {
  const info: IpTunnelInfo = { ttl: a.u8(IFLA_IPTUN_TTL) ?? 0, external: a.flag(IFLA_IPTUN_COLLECT_METADATA) };
  const remote = a.get(IFLA_IPTUN_REMOTE);
  if (remote?.some((b) => b !== 0)) info.remote = formatIp(remote);
  const local = a.get(IFLA_IPTUN_LOCAL);
  if (local?.some((b) => b !== 0)) info.local = formatIp(local);
  const six = (remote ?? local)?.length === 16;
  if (six) {
    const proto = a.u8(IFLA_IPTUN_PROTO) ?? 0;
    info.mode = Object.keys(IP6TNL_MODES).find((k) => IP6TNL_MODES[k] === proto) ?? String(proto);
    info.encapLimit = a.u8(IFLA_IPTUN_ENCAP_LIMIT) ?? 0;
    info.flowLabel = (a.be32(IFLA_IPTUN_FLOWINFO) ?? 0) & 0xfffff;
  } else {
    info.tos = a.u8(IFLA_IPTUN_TOS) ?? 0;
    info.pmtudisc = (a.u8(IFLA_IPTUN_PMTUDISC) ?? 1) !== 0;
  }
  const dev = a.u32(IFLA_IPTUN_LINK);
  if (dev) info.dev = dev;
  const fwmark = a.u32(IFLA_IPTUN_FWMARK);
  if (fwmark) info.fwmark = fwmark;
  return info;
}

const references = (o: IpTunnelSettings) => (o.dev !== undefined ? [o.dev] : []);

export const ipip: LinkKind<IpipOptions, IpTunnelInfo> = { kind: 'ipip', optionKeys: ['kind', ...IP4_KEYS], references, encode: encodeIp4(false), decode };
export const sit: LinkKind<SitOptions, IpTunnelInfo> = { kind: 'sit', optionKeys: ['kind', ...IP4_KEYS], references, encode: encodeIp4(true), decode };
export const ip6tnl: LinkKind<Ip6tnlOptions, IpTunnelInfo> = { kind: 'ip6tnl', optionKeys: ['kind', ...IP6_KEYS], references, encode: encodeIp6, decode };
