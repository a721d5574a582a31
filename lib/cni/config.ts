/**
 * The network configuration a runtime passes on stdin: nlkit's keys, the
 * reference bridge plugin's (so existing conflists port over), the `ipam`
 * section and what the runtime adds (runtimeConfig, prevResult, args).
 * Refusals name the field: code 2 for a key nlkit does not support, 7 for a
 * bad value.
 * @module
 */
import { CniCode, CniError } from './errors';
import { isObject } from '../validate/options';
import { checkArgs, checkRuntimeConfig, checkValidAttachments, type CniArgs, type RuntimeConfig, type ValidAttachment } from './runtime-config';

/** One route of `ipam.routes` (the spec's route type). */
export interface CniRoute {
  dst: string;
  gw?: string;
}

/** `ipam.ranges[i][j]`: host-local's range. */
export interface CniRange {
  subnet: string;
  gateway?: string;
  rangeStart?: string;
  rangeEnd?: string;
}

/** The ipam section; everything else in it goes to a delegated plugin as it is. */
export interface IpamConf {
  /** Absent (or "nlkit"): nlkit's IPAM; else the IPAM plugin binary to delegate to (e.g. "host-local"). */
  type?: string;
  subnet?: string;
  gateway?: string;
  ranges?: CniRange[][];
  routes?: CniRoute[];
  [key: string]: unknown;
}

export type { RuntimeConfig } from './runtime-config';

/** The checked network configuration. */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  bridge?: string;
  isGateway?: boolean;
  isDefaultGateway?: boolean;
  ipMasq?: boolean;
  mtu?: number;
  hairpinMode?: boolean;
  /** nlkit's own: no new connections with other nlkit networks (default true). */
  isolate?: boolean;
  /** nlkit's own: destinations never masqueraded. */
  masqueradeExclude?: string[];
  /** nlkit's own: containers may talk to each other directly (default true). */
  icc?: boolean;
  /** nlkit's own: no way out of the network. */
  internal?: boolean;
  /** Where nlkit keeps its state; default a directory named by the host namespace's identity. */
  stateDir?: string;
  ipam: IpamConf;
  dns?: unknown;
  runtimeConfig: RuntimeConfig;
  args?: CniArgs;
  prevResult?: Record<string, unknown>;
  /** GC: the attachments the runtime still knows. */
  validAttachments?: ValidAttachment[];
}

/** Keys nlkit-cni uses. */
const OWN_KEYS = [
  'bridge',
  'isGateway',
  'isDefaultGateway',
  'ipMasq',
  'mtu',
  'hairpinMode',
  'isolate',
  'masqueradeExclude',
  'icc',
  'internal',
  'stateDir',
  'ipam',
];
/** Keys every plugin gets from the spec or the runtime. */
const SPEC_KEYS = [
  'cniVersion',
  'cniVersions',
  'name',
  'type',
  'dns',
  'capabilities',
  'runtimeConfig',
  'args',
  'prevResult',
  'cni.dev/valid-attachments',
  'disableCheck',
  'disableGC',
];
/** Reference bridge keys accepted at the value that means what nlkit does anyway. */
const NEUTRAL_BRIDGE_KEYS: Record<string, unknown> = {
  forceAddress: false,
  promiscMode: false,
  vlan: 0,
  macspoofchk: false,
  enabledad: false,
  disableContainerInterface: false,
};
/** nlkit's IPAM keys (other keys make sense only to a delegated plugin). */
const OWN_IPAM_KEYS = ['type', 'subnet', 'gateway', 'ranges', 'routes'];

function unsupported(field: string, why: string): CniError {
  return new CniError(CniCode.unsupportedField, `unsupported field ${field}: ${why}`, `field: ${field}`);
}

function invalid(field: string, why: string): CniError {
  return new CniError(CniCode.invalidConfig, `invalid ${field}: ${why}`, `field: ${field}`);
}

/** stdin as a JSON object (code 6 if it is not one). */
function decode(stdin: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CniCode.decodeFailure, 'network configuration is not JSON', (e as Error).message);
  }
  if (!isObject(raw) || Array.isArray(raw)) throw new CniError(CniCode.decodeFailure, 'network configuration must be a JSON object');
  return raw as Record<string, unknown>;
}

/**
 * The spec's network name: a letter or digit, then letters, digits, "_",
 * "." and "-" (libcni's pattern). It names state files and nftables
 * objects, so nothing else gets near them.
 */
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * The commands that read the network configuration whole (DEL reads
 * {@link parseDelConfig}'s part of it). What the runtime adds to it
 * differs (the spec's section 3): ADD and CHECK are an attachment's and get
 * its `runtimeConfig`, `args` and `prevResult`; GC gets
 * `cni.dev/valid-attachments`; STATUS nothing.
 */
export type ConfigCommand = 'ADD' | 'CHECK' | 'GC' | 'STATUS';

/**
 * Parses stdin (code 6 if it is not JSON) and checks the network
 * configuration (codes 2 and 7), and what the runtime adds for `command`:
 * an attachment's values for ADD and CHECK, the valid attachments for GC.
 * GC and STATUS neither check nor keep an attachment's values (a runtime
 * may leave them in): a value only ADD reads must not fail them.
 */
export function parseConfig(stdin: string, command: ConfigCommand = 'ADD'): NetConf {
  const c = decode(stdin);
  for (const [key, value] of Object.entries(c)) {
    // the spec reserves cni.dev/ keys to the runtime (libcni's GC adds cni.dev/attachments too)
    if (OWN_KEYS.includes(key) || SPEC_KEYS.includes(key) || key.startsWith('cni.dev/')) continue;
    if (key in NEUTRAL_BRIDGE_KEYS) {
      if (value !== NEUTRAL_BRIDGE_KEYS[key] && value !== undefined) throw unsupported(key, `only ${JSON.stringify(NEUTRAL_BRIDGE_KEYS[key])} is supported`);
      continue;
    }
    throw unsupported(key, 'not a key nlkit-cni or the reference bridge plugin knows');
  }
  if (typeof c.name !== 'string' || c.name === '') throw invalid('name', 'must be a non-empty string');
  if (!NAME_PATTERN.test(c.name)) {
    throw invalid(
      'name',
      `${JSON.stringify(c.name)} must start with a letter or digit, followed by letters, digits, "_", "." or "-" (the spec's network name)`,
    );
  }
  for (const key of ['isGateway', 'isDefaultGateway', 'ipMasq', 'hairpinMode', 'isolate', 'icc', 'internal']) optional(c, key, 'boolean');
  for (const key of ['bridge', 'stateDir']) optional(c, key, 'string');
  optional(c, 'mtu', 'number');
  if (c.isGateway === false) throw unsupported('isGateway', 'nlkit networks always route through the gateway on the bridge (true)');
  if (c.masqueradeExclude !== undefined && !(Array.isArray(c.masqueradeExclude) && c.masqueradeExclude.every((x) => typeof x === 'string'))) {
    throw invalid('masqueradeExclude', 'must be a list of CIDRs');
  }
  const ipam = parseIpam(c.ipam);
  const { runtimeConfig, args, prevResult, 'cni.dev/valid-attachments': validAttachments, ...network } = c;
  const conf = { ...(network as unknown as NetConf), ipam, runtimeConfig: {} };
  if (command === 'ADD' || command === 'CHECK') {
    conf.runtimeConfig = checkRuntimeConfig(runtimeConfig);
    conf.args = checkArgs(args);
    if (prevResult !== undefined) conf.prevResult = prevResult as Record<string, unknown>;
  }
  if (command === 'GC') conf.validAttachments = checkValidAttachments(validAttachments);
  return conf;
}

/**
 * Parses stdin for DEL: only what names the attachment's network and where
 * its state is (`name`, `stateDir`; `cniVersion` is checked by the caller)
 * and whether `ipam.type` delegates, whose DEL then releases the address.
 * Everything else is ADD's (bandwidth, portMappings, ips, mac, the
 * network's shape, unknown keys): a runtime calls DEL after a failed ADD
 * with the same configuration and retries it until it succeeds, so a value
 * ADD refused must not fail DEL too. An `ipam.type` that is not a string
 * delegates nothing (ADD refused it before running any plugin). The result
 * carries nothing unchecked: the ADD-only fields are left out.
 */
export function parseDelConfig(stdin: string): NetConf {
  const c = decode(stdin);
  if (typeof c.name !== 'string' || c.name === '') throw invalid('name', 'must be a non-empty string');
  // where the state is decides what DEL removes: never guessed
  optional(c, 'stateDir', 'string');
  const ipamType = isObject(c.ipam) ? (c.ipam as { type?: unknown }).type : undefined;
  return {
    cniVersion: c.cniVersion as string,
    name: c.name,
    type: typeof c.type === 'string' ? c.type : '',
    ...(c.stateDir !== undefined && { stateDir: c.stateDir as string }),
    ipam: typeof ipamType === 'string' ? { type: ipamType } : {},
    runtimeConfig: {},
  };
}

function optional(c: Record<string, unknown>, key: string, type: 'boolean' | 'string' | 'number'): void {
  if (c[key] !== undefined && typeof c[key] !== type) throw invalid(key, `must be a ${type}`);
}

function parseIpam(v: unknown): IpamConf {
  if (v === undefined) return {};
  if (!isObject(v) || Array.isArray(v)) throw invalid('ipam', 'must be an object');
  const ipam = v as IpamConf;
  if (ipam.type !== undefined && typeof ipam.type !== 'string') throw invalid('ipam.type', 'must be a string');
  if (ipam.routes !== undefined && !(Array.isArray(ipam.routes) && ipam.routes.every((r) => isObject(r) && typeof r.dst === 'string'))) {
    throw invalid('ipam.routes', 'must be a list of { dst, gw? }');
  }
  if (
    ipam.ranges !== undefined &&
    !(Array.isArray(ipam.ranges) && ipam.ranges.every((set) => Array.isArray(set) && set.every((r) => isObject(r) && typeof r.subnet === 'string')))
  ) {
    throw invalid('ipam.ranges', 'must be a list of range sets, each a list of { subnet, gateway?, rangeStart?, rangeEnd? }');
  }
  if (!isDelegated(ipam)) {
    for (const key of Object.keys(ipam))
      if (!OWN_IPAM_KEYS.includes(key)) throw unsupported(`ipam.${key}`, 'nlkit IPAM does not know it (name an IPAM plugin in ipam.type to delegate)');
    for (const set of ipam.ranges ?? []) {
      if (set.length > 1) throw unsupported('ipam.ranges', 'nlkit IPAM takes one range per range set (delegate to host-local for several)');
      if (set[0].rangeStart !== undefined || set[0].rangeEnd !== undefined)
        throw unsupported('ipam.ranges[].rangeStart', 'nlkit IPAM allocates from the whole subnet (delegate to host-local for a part of it)');
    }
  }
  return ipam;
}

/** Whether the ipam section names another IPAM plugin. */
export function isDelegated(ipam: IpamConf): boolean {
  return ipam.type !== undefined && ipam.type !== '' && ipam.type !== 'nlkit';
}

/** The IPv4 and IPv6 subnets (and gateways) of the ipam section: `subnet`, or the first range of each range set. */
export function ipamSubnets(ipam: IpamConf): { subnet: string; gateway?: string; subnet6?: string; gateway6?: string } {
  const ranges: CniRange[] = [];
  if (ipam.subnet !== undefined) ranges.push({ subnet: ipam.subnet, gateway: ipam.gateway });
  for (const set of ipam.ranges ?? []) ranges.push(set[0]);
  const v4 = ranges.find((r) => !r.subnet.includes(':'));
  const v6 = ranges.find((r) => r.subnet.includes(':'));
  if (!v4) throw invalid('ipam.subnet', 'an IPv4 subnet is required (ipam.subnet or ipam.ranges)');
  return { subnet: v4.subnet, gateway: v4.gateway, subnet6: v6?.subnet, gateway6: v6?.gateway };
}
