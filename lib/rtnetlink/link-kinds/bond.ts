/**
 * Bonding (IFLA_BOND_*): several links as one, for redundancy or
 * aggregation (LACP). Ports join with `links.set(port, { master: 'bond0' })`.
 * The common options; others read back raw in `infoRaw`.
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { Attributes } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';
import { formatIp, parseIp } from '../../validate/ip';
import type { LinkKind } from './kind';

const IFLA_BOND_MODE = 1;
const IFLA_BOND_MIIMON = 3;
const IFLA_BOND_UPDELAY = 4;
const IFLA_BOND_DOWNDELAY = 5;
const IFLA_BOND_ARP_INTERVAL = 7;
const IFLA_BOND_ARP_IP_TARGET = 8;
const IFLA_BOND_XMIT_HASH_POLICY = 14;
const IFLA_BOND_MIN_LINKS = 18;
const IFLA_BOND_AD_LACP_RATE = 21;
const IFLA_BOND_AD_SELECT = 22;

/** BOND_MODE_* by the names `ip` uses. */
const MODES: Record<string, number> = {
  'balance-rr': 0,
  'active-backup': 1,
  'balance-xor': 2,
  broadcast: 3,
  '802.3ad': 4,
  'balance-tlb': 5,
  'balance-alb': 6,
};
/** BOND_XMIT_POLICY_* by name. */
const HASH_POLICIES: Record<string, number> = { layer2: 0, 'layer3+4': 1, 'layer2+3': 2, 'encap2+3': 3, 'encap3+4': 4, 'vlan+srcmac': 5 };
const LACP_RATES: Record<string, number> = { slow: 0, fast: 1 };
const AD_SELECTS: Record<string, number> = { stable: 0, bandwidth: 1, count: 2 };
/** The kernel's limit on ARP targets (BOND_MAX_ARP_TARGETS). */
const MAX_ARP_TARGETS = 16;

/** The bonding mode (`ip link ... type bond mode ...`). */
export type BondMode = 'balance-rr' | 'active-backup' | 'balance-xor' | 'broadcast' | '802.3ad' | 'balance-tlb' | 'balance-alb';
/** How ports are picked per packet in balance-xor and 802.3ad modes. */
export type BondHashPolicy = 'layer2' | 'layer3+4' | 'layer2+3' | 'encap2+3' | 'encap3+4' | 'vlan+srcmac';

/** Bond settings: for creating a bond, for changing one, and as read back. */
export interface BondSettings {
  /** Default "balance-rr" (the kernel's default); changes only while the bond is down and has no ports. */
  mode?: BondMode;
  /** Link monitoring interval in ms (0: off). */
  miimon?: number;
  /** ms to wait before enabling a port whose link came up. */
  updelay?: number;
  /** ms to wait before disabling a port whose link went down. */
  downdelay?: number;
  /** ARP monitoring interval in ms (0: off). */
  arpInterval?: number;
  /** IPv4 addresses ARP monitoring probes (up to 16). */
  arpIpTargets?: string[];
  /** Transmit hash policy. */
  xmitHashPolicy?: BondHashPolicy;
  /** Minimum number of active ports for the bond to be up (carrier). */
  minLinks?: number;
  /** 802.3ad: how often the partner should send LACPDUs ("slow": 30 s, "fast": 1 s). */
  lacpRate?: 'slow' | 'fast';
  /** 802.3ad: which aggregator is chosen. */
  adSelect?: 'stable' | 'bandwidth' | 'count';
}

/** `kind: 'bond'` options of {@link linkOps.add}. */
export interface BondOptions extends BondSettings {
  /** The link kind. */
  kind: 'bond';
}

/** A bond's settings as the kernel reports them (`Link.info` of a bond); names nlkit does not know read back as numbers in strings. */
export interface BondInfo {
  /** The mode. */
  mode: BondMode | (string & {});
  /** Link monitoring interval in ms. */
  miimon?: number;
  /** Up delay in ms. */
  updelay?: number;
  /** Down delay in ms. */
  downdelay?: number;
  /** ARP monitoring interval in ms. */
  arpInterval?: number;
  /** ARP monitoring targets. */
  arpIpTargets?: string[];
  /** Transmit hash policy. */
  xmitHashPolicy?: BondHashPolicy | (string & {});
  /** Minimum number of active ports. */
  minLinks?: number;
  /** 802.3ad LACP rate. */
  lacpRate?: 'slow' | 'fast' | (string & {});
  /** 802.3ad aggregator selection. */
  adSelect?: 'stable' | 'bandwidth' | 'count' | (string & {});
}

const SETTINGS_KEYS = keysOf<BondSettings>()([
  'mode',
  'miimon',
  'updelay',
  'downdelay',
  'arpInterval',
  'arpIpTargets',
  'xmitHashPolicy',
  'minLinks',
  'lacpRate',
  'adSelect',
]);

function named(table: Record<string, number>, field: string, v: string): number {
  const n = Object.hasOwn(table, v) ? table[v] : undefined;
  if (n === undefined) throw new ValidationError(field, v, `one of ${Object.keys(table).join(', ')}`);
  return n;
}

function nameOf(table: Record<string, number>, n: number): string {
  return Object.keys(table).find((k) => table[k] === n) ?? String(n);
}

function u32(w: NetlinkWriter, type: number, field: string, v: unknown): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) throw new ValidationError(field, v, 'must be an integer 0-4294967295');
  w.u32(type, v as number);
}

/** Writes bond settings; shared by add and set. */
function writeSettings(w: NetlinkWriter, o: BondSettings): void {
  if (o.mode !== undefined) w.u8(IFLA_BOND_MODE, named(MODES, 'mode', o.mode));
  u32(w, IFLA_BOND_MIIMON, 'miimon', o.miimon);
  u32(w, IFLA_BOND_UPDELAY, 'updelay', o.updelay);
  u32(w, IFLA_BOND_DOWNDELAY, 'downdelay', o.downdelay);
  u32(w, IFLA_BOND_ARP_INTERVAL, 'arpInterval', o.arpInterval);
  if (o.arpIpTargets !== undefined) {
    if (!Array.isArray(o.arpIpTargets) || o.arpIpTargets.length > MAX_ARP_TARGETS) {
      throw new ValidationError('arpIpTargets', o.arpIpTargets, `an array of up to ${MAX_ARP_TARGETS} IPv4 addresses`);
    }
    const nest = w.nest(IFLA_BOND_ARP_IP_TARGET, true);
    o.arpIpTargets.forEach((t, i) => w.attr(i, parseIp(t, `arpIpTargets[${i}]`, 4).bytes));
    w.endNest(nest);
  }
  if (o.xmitHashPolicy !== undefined) w.u8(IFLA_BOND_XMIT_HASH_POLICY, named(HASH_POLICIES, 'xmitHashPolicy', o.xmitHashPolicy));
  u32(w, IFLA_BOND_MIN_LINKS, 'minLinks', o.minLinks);
  if (o.lacpRate !== undefined) w.u8(IFLA_BOND_AD_LACP_RATE, named(LACP_RATES, 'lacpRate', o.lacpRate));
  if (o.adSelect !== undefined) w.u8(IFLA_BOND_AD_SELECT, named(AD_SELECTS, 'adSelect', o.adSelect));
}

export const bond: LinkKind<BondOptions, BondInfo> = {
  kind: 'bond',
  optionKeys: ['kind', ...SETTINGS_KEYS],
  encode: writeSettings,
  // The kernel changes each on a live bond (the mode only while down and without ports; it says so).
  changeKeys: SETTINGS_KEYS,
  encodeChange: writeSettings,
  decode(a: Attributes): BondInfo {
    const info: BondInfo = { mode: nameOf(MODES, a.u8(IFLA_BOND_MODE) ?? 0) };
    const set = <K extends keyof BondInfo>(k: K, v: BondInfo[K] | undefined) => {
      if (v !== undefined) info[k] = v;
    };
    set('miimon', a.u32(IFLA_BOND_MIIMON));
    set('updelay', a.u32(IFLA_BOND_UPDELAY));
    set('downdelay', a.u32(IFLA_BOND_DOWNDELAY));
    set('arpInterval', a.u32(IFLA_BOND_ARP_INTERVAL));
    const targets = a.nested(IFLA_BOND_ARP_IP_TARGET);
    if (targets) info.arpIpTargets = targets.list.filter((t) => t.data.length === 4).map((t) => formatIp(t.data));
    const hash = a.u8(IFLA_BOND_XMIT_HASH_POLICY);
    if (hash !== undefined) info.xmitHashPolicy = nameOf(HASH_POLICIES, hash);
    set('minLinks', a.u32(IFLA_BOND_MIN_LINKS));
    const rate = a.u8(IFLA_BOND_AD_LACP_RATE);
    if (rate !== undefined) info.lacpRate = nameOf(LACP_RATES, rate);
    const select = a.u8(IFLA_BOND_AD_SELECT);
    if (select !== undefined) info.adSelect = nameOf(AD_SELECTS, select);
    return info;
  },
};
