/**
 * Lowering of NAT statements: snat/dnat to an address (range) and port
 * (range), masquerade and redirect, and dnat through a map keyed by packet
 * fields or a number generator (weighted load balancing). Addresses and
 * ports go into registers through `immediate`; the nat expression names the
 * registers.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { isObject, keysOf, rejectUnknownKeys } from '../../validate/options';
import { parseIp } from '../../validate/ip';
import { hostU32 } from '../data';
import { alignedLength, dataTypeByName, type DataTypeName, type Scalar } from '../datatypes';
import type { SetElement } from '../elements';
import type { MasqExpression } from '../expressions/masq';
import { NAT_FLAGS, type NatFlag } from '../expressions/nat-flags';
import type { NatExpression } from '../expressions/nat';
import type { RedirExpression } from '../expressions/redir';
import { constantExpression, type Expression } from '../expressions/registry';
import { register32 } from '../registers';
import type { SetDataType } from '../set';
import { BYTEORDER_HOST, BYTEORDER_INVALID, UDATA_SET_DATABYTEORDER, UDATA_SET_DATA_INTERVAL, UDATA_SET_KEYBYTEORDER, buildUdata } from '../userdata';
import type { BuildContext } from './context';
import { fieldByName } from './fields';
import { hasInterval, keyTypeOf, loadFields, namedSet } from './match';
import type { NatMapEntry, NatMapOptions, NatOptions, WeightedBackend } from './options';

/** The port-mapping flags every NAT statement takes. */
export interface PortMappingFlags {
  random?: boolean;
  fullyRandom?: boolean;
  persistent?: boolean;
}

/** masquerade/redirect: an optional port (range) and the port-mapping flags. */
export type PortNatOptions = PortMappingFlags & { port?: number | string };

/** The option keys of snat/dnat and of masquerade/redirect (anything else is refused). */
export const NAT_KEYS = keysOf<NatOptions>()(['to', 'port', 'family', 'random', 'fullyRandom', 'persistent']);
export const PORT_NAT_KEYS = keysOf<PortNatOptions>()(['port', 'random', 'fullyRandom', 'persistent']);
const NAT_MAP_KEYS = keysOf<NatMapOptions>()(['numgen', 'fields', 'entries', 'family']);
const NUMGEN_KEYS = keysOf<NonNullable<NatMapOptions['numgen']>>()(['mode', 'mod', 'offset']);
const NAT_MAP_ENTRY_KEYS = keysOf<NatMapEntry>()(['key', 'to', 'port']);
const WEIGHTED_KEYS = keysOf<WeightedBackend>()(['to', 'port', 'weight']);

/**
 * nft's own userdata for a numgen map: its key is a host-order integer, its
 * data has no byte-order hint and is no interval, so `nft list` prints the
 * keys as numbers.
 */
const NUMGEN_MAP_USERDATA = buildUdata([
  { type: UDATA_SET_KEYBYTEORDER, value: hostU32(BYTEORDER_HOST) },
  { type: UDATA_SET_DATABYTEORDER, value: hostU32(BYTEORDER_INVALID) },
  { type: UDATA_SET_DATA_INTERVAL, value: hostU32(0) },
]);

const INET_SERVICE = dataTypeByName('inet_service');

function ipFamilyOf(addr: string, field: string): 'ip' | 'ip6' {
  const first = addr.split('-')[0].trim();
  return parseIp(first, field).family === 6 ? 'ip6' : 'ip';
}

/** A port or "lo-hi" range as two big-endian values (the same Buffer for a single port). */
function portRange(p: number | string, field: string): [Buffer, Buffer] {
  const t = INET_SERVICE;
  if (typeof p === 'string' && p.indexOf('-', 1) > 0) {
    const [lo, hi] = p.split('-').map((x) => x.trim());
    return [t.parse(lo, 2, field), t.parse(hi, 2, field)];
  }
  const b = t.parse(p, 2, field);
  return [b, b];
}

function natFlags(o: PortMappingFlags, port: boolean, addr = false): NatFlag[] {
  const f: NatFlag[] = [];
  if (addr) f.push('map-ips');
  if (port) f.push('proto-specified');
  if (o.random) f.push('random');
  if (o.persistent) f.push('persistent');
  if (o.fullyRandom) f.push('fully-random');
  return f;
}

/** masquerade and redirect: the same shape, an optional port (range) in registers 1 and 2. */
export function portNat(ctx: BuildContext, type: 'masq' | 'redir', o: PortNatOptions): void {
  rejectUnknownKeys(o, PORT_NAT_KEYS, type === 'masq' ? 'masquerade' : 'redirect');
  const e: MasqExpression | RedirExpression = { type };
  if (o.port !== undefined) {
    ctx.requireTransport(`${type === 'masq' ? 'masquerade' : 'redirect'} port`);
    const [lo, hi] = portRange(o.port, 'port');
    ctx.push({ type: 'immediate', dreg: 1, data: lo });
    if (!lo.equals(hi)) ctx.push({ type: 'immediate', dreg: 2, data: hi });
    e.regProtoMin = 1;
    e.regProtoMax = lo.equals(hi) ? 1 : 2;
  }
  const flags = natFlags(o, o.port !== undefined);
  if (flags.length) e.flags = flags;
  ctx.push(e);
}

/** snat/dnat to an address (range) and optionally a port (range). */
export function nat(ctx: BuildContext, kind: 'snat' | 'dnat', o: NatOptions): void {
  if (!isObject(o) || (o.to === undefined && o.port === undefined)) throw new ValidationError(kind, o, 'needs `to` (an address) and/or `port`');
  rejectUnknownKeys(o, NAT_KEYS, kind);
  if (o.to === undefined) throw new ValidationError(`${kind} to`, o.to, 'an address is required (use redirect for a port only)');
  const toField = kind === 'dnat' ? 'dnat to' : 'snat to';
  const family = o.family ?? (ctx.family === 'ip6' ? 'ip6' : ctx.family === 'ip' ? 'ip' : ipFamilyOf(o.to, toField));
  const v = family === 'ip6' ? 6 : 4;
  let reg = 1;
  const e: NatExpression = { type: 'nat', nat: kind, family };
  const dash = o.to.indexOf('-', 1);
  const lo = parseIp(dash > 0 ? o.to.slice(0, dash).trim() : o.to, toField, v).bytes;
  const hi = dash > 0 ? parseIp(o.to.slice(dash + 1).trim(), toField, v).bytes : lo;
  ctx.push({ type: 'immediate', dreg: reg, data: lo });
  e.regAddrMin = reg++;
  // One address or port is the common case: no byte comparison for it.
  const addrRange = hi !== lo && !hi.equals(lo);
  if (addrRange) ctx.push({ type: 'immediate', dreg: reg, data: hi });
  e.regAddrMax = addrRange ? reg++ : e.regAddrMin;
  if (o.port !== undefined) {
    ctx.requireTransport(kind === 'dnat' ? 'dnat port' : 'snat port');
    // Indexes, not destructuring: that runs the iterator protocol until V8 optimises this.
    const ports = portRange(o.port, kind === 'dnat' ? 'dnat port' : 'snat port');
    const plo = ports[0];
    const phi = ports[1];
    ctx.push({ type: 'immediate', dreg: reg, data: plo });
    e.regProtoMin = reg++;
    const portSpan = phi !== plo && !phi.equals(plo);
    if (portSpan) ctx.push({ type: 'immediate', dreg: reg, data: phi });
    e.regProtoMax = portSpan ? reg++ : e.regProtoMin;
  }
  e.flags = natFlags(o, o.port !== undefined, true);
  ctx.push(sharedNat(e));
}

/** One nat expression object per layout (kind, family, registers, flags), encoded once: rules differ in the registers' values only. */
const natLayouts = new Map<number, NatExpression>();

function sharedNat(e: NatExpression): NatExpression {
  if (e.family !== 'ip' && e.family !== 'ip6') return e;
  const key = natLayoutKey(
    natLayoutKey(natLayoutKey(natLayoutKey((e.nat === 'dnat' ? 2 : 0) | (e.family === 'ip6' ? 1 : 0), e.regAddrMin), e.regAddrMax), e.regProtoMin),
    e.regProtoMax,
  );
  if (key < 0) return e;
  const full = key * 256 + NAT_FLAGS.number(e.flags);
  const shared = natLayouts.get(full);
  if (shared) return shared;
  natLayouts.set(full, constantExpression(e));
  return e;
}

/** Appends a register (1-15, or none) to a layout key; -1 for anything else. */
function natLayoutKey(key: number, reg: number | undefined): number {
  if (key < 0) return -1;
  if (reg === undefined) return key * 16;
  return Number.isInteger(reg) && reg > 0 && reg < 16 ? key * 16 + reg : -1;
}

/** dnat through a map: the key (a number generator or packet fields) selects the address (and port). */
export function natMap(ctx: BuildContext, o: NatMapOptions): void {
  rejectUnknownKeys(o, NAT_MAP_KEYS, 'dnatMap');
  rejectUnknownKeys(o.numgen, NUMGEN_KEYS, 'dnatMap numgen');
  if (Array.isArray(o.entries)) for (let i = 0; i < o.entries.length; i++) rejectUnknownKeys(o.entries[i], NAT_MAP_ENTRY_KEYS, `dnatMap entries[${i}]`);
  if ((o.numgen === undefined) === (o.fields === undefined)) throw new ValidationError('dnatMap', o, 'give exactly one of numgen or fields');
  let keyType: SetDataType;
  let keyLength: number | undefined;
  let interval = false;
  let userdata: Buffer | undefined;
  let hostKeys = false;
  const keyFields = o.fields !== undefined ? (Array.isArray(o.fields) ? o.fields : [o.fields]).map(fieldByName) : [];
  if (o.numgen) {
    const { mode, mod, offset } = o.numgen;
    if (!Number.isInteger(mod) || mod <= 0) throw new ValidationError('numgen mod', mod, 'must be a positive integer');
    ctx.push({ type: 'numgen', dreg: 1, mode, modulus: mod, offset: offset ?? 0 });
    interval = typeof o.entries !== 'string' && o.entries.some((e) => typeof e.key === 'string' && e.key.includes('-'));
    // numgen yields a host-order number. Interval maps compare big-endian keys,
    // so nft converts it first; plain maps keep host-order keys.
    if (interval) ctx.push({ type: 'byteorder', sreg: 1, dreg: 1, op: 'hton', len: 4, size: 4 });
    hostKeys = !interval;
    keyType = 'integer';
    keyLength = 4;
    userdata = NUMGEN_MAP_USERDATA;
  } else {
    loadFields(ctx, keyFields);
    keyType = keyTypeOf(keyFields);
    interval = typeof o.entries !== 'string' && o.entries.some((e) => hasInterval(keyFields, e.key));
  }
  const entries = o.entries;
  let family: 'ip' | 'ip6' = o.family ?? (ctx.family === 'ip6' ? 'ip6' : 'ip');
  let withPort = false;
  let lookup: { set: string; setId?: number };
  if (typeof entries === 'string') {
    lookup = { set: namedSet(entries) };
    withPort = true;
  } else {
    if (!entries.length) throw new ValidationError('entries', entries, 'needs at least one entry');
    if (o.family === undefined) family = ipFamilyOf(entries[0].to, 'to');
    withPort = entries.some((e) => e.port !== undefined);
    if (withPort && entries.some((e) => e.port === undefined)) throw new ValidationError('entries', entries, 'give a port for every entry or for none');
    const addrType: DataTypeName = family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
    const keyOf = (k: Scalar | Scalar[]) => (hostKeys && typeof k !== 'object' ? hostU32(Number(k)) : k);
    const elements: SetElement[] = entries.map((e) => ({ key: keyOf(e.key), value: withPort && e.port !== undefined ? [e.to, e.port] : e.to }));
    lookup = ctx.anonymous({ keyType, keyLength, dataType: withPort ? [addrType, 'inet_service'] : addrType, interval, userdata }, elements);
  }
  // A named map is taken to hold address . port (see NatMapOptions). A key with
  // `meta l4proto` picks a port per protocol: nft accepts that without a match.
  if (withPort && !keyFields.some((f) => f.name === 'meta l4proto')) ctx.requireTransport('dnatMap entries');
  ctx.push({ type: 'lookup', ...lookup, sreg: 1, dreg: 1 });
  const e: Expression = { type: 'nat', nat: 'dnat', family, regAddrMin: 1, regAddrMax: 1 };
  if (withPort) {
    const portReg = register32(alignedLength(family === 'ip6' ? 16 : 4) / 4);
    e.regProtoMin = portReg;
    e.regProtoMax = portReg;
  }
  e.flags = natFlags({}, withPort, true);
  ctx.push(e);
}

/** Weights as numgen key ranges: 90 and 10 become "0-89" and "90-99" of `mod 100`. */
export function weightedEntries(backends: WeightedBackend[]): { entries: NatMapEntry[]; total: number } {
  if (!Array.isArray(backends) || backends.length === 0) throw new ValidationError('backends', backends, 'needs at least one backend');
  let total = 0;
  const entries: NatMapEntry[] = backends.map((b, i) => {
    rejectUnknownKeys(b, WEIGHTED_KEYS, `backends[${i}]`);
    if (!Number.isInteger(b.weight) || b.weight <= 0) throw new ValidationError('weight', b.weight, 'must be a positive integer');
    const e: NatMapEntry = { key: b.weight === 1 ? total : `${total}-${total + b.weight - 1}`, to: b.to };
    if (b.port !== undefined) e.port = b.port;
    total += b.weight;
    return e;
  });
  // numgen's modulus is a u32: a larger sum would wrap and skew the split.
  if (total > 0xffffffff) throw new ValidationError('weight', total, 'the weights must sum to less than 2^32');
  return { entries, total };
}
