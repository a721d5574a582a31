/**
 * What the runtime adds to a configuration, checked before anything is
 * used: the capabilities' values (`runtimeConfig`), `args.cni` and GC's
 * `cni.dev/valid-attachments`. A value of the wrong shape is code 7, never
 * read as "not asked for": a bandwidth limit given as a string must not
 * start an unshaped container, and a malformed list of valid attachments
 * must not make GC remove every attachment of the network.
 * @module
 */
import { CniCode, CniError } from './errors';
import { isObject } from '../validate/options';
import { parseIp } from '../validate/ip';

/** The capabilities' values (`runtimeConfig`). */
export interface RuntimeConfig {
  portMappings?: Array<{ hostPort: number; containerPort: number; protocol?: string; hostIP?: string }>;
  ips?: string[];
  mac?: string;
  bandwidth?: { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number };
  /** Range sets as in `ipam.ranges` (ip-ranges.ts). */
  ipRanges?: Array<Array<{ subnet: string; gateway?: string; rangeStart?: string; rangeEnd?: string }>>;
  /** The conventions' dns capability (dns.ts merges it into the result's DNS). */
  dns?: RuntimeDns;
}

/** The dns capability as the conventions define it (containerd and CRI-O send it so): lists of strings, null meaning none. */
export interface RuntimeDns {
  servers?: string[] | null;
  searches?: string[] | null;
  options?: string[] | null;
}

/** `args`: of it, nlkit-cni reads `cni.ips` and `cni.mac`. */
export interface CniArgs {
  cni?: { ips?: string[]; mac?: string };
}

/** One entry of GC's `cni.dev/valid-attachments`. */
export interface ValidAttachment {
  containerID: string;
  ifname: string;
}

function invalid(field: string, why: string): CniError {
  return new CniError(CniCode.invalidConfig, `invalid ${field}: ${why}`, `field: ${field}`);
}

function stringList(v: unknown, field: string): void {
  if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw invalid(field, 'must be a list of strings');
}

function optionalString(v: unknown, field: string): void {
  if (v !== undefined && typeof v !== 'string') throw invalid(field, 'must be a string');
}

const BANDWIDTH_KEYS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'];

/** The bandwidth capability: rates and bursts are non-negative integers (bits/s, bits), as the reference plugin reads them. */
function checkBandwidth(v: unknown): void {
  if (v === undefined) return;
  if (!isObject(v) || Array.isArray(v)) throw invalid('runtimeConfig.bandwidth', 'must be an object');
  for (const [key, value] of Object.entries(v)) {
    const field = `runtimeConfig.bandwidth.${key}`;
    // a misspelt key, or one nlkit cannot honour (unshapedSubnets), would otherwise be ignored without a word
    if (!BANDWIDTH_KEYS.includes(key)) {
      throw new CniError(CniCode.unsupportedField, `unsupported field ${field}: nlkit-cni knows ${BANDWIDTH_KEYS.join(', ')}`, `field: ${field}`);
    }
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) throw invalid(field, 'must be a non-negative integer');
  }
}

/** The ipRanges capability's shape: range sets of { subnet, rangeStart?, rangeEnd?, gateway? } (ip-ranges.ts checks what nlkit serves). */
function checkIpRangesShape(v: unknown): void {
  if (v === undefined) return;
  const range = (r: unknown) => {
    if (!isObject(r) || Array.isArray(r)) return false;
    const o = r as Record<string, unknown>;
    return typeof o.subnet === 'string' && ['rangeStart', 'rangeEnd', 'gateway'].every((k) => o[k] === undefined || typeof o[k] === 'string');
  };
  if (!(Array.isArray(v) && v.every((set) => Array.isArray(set) && set.length > 0 && set.every(range)))) {
    throw invalid('runtimeConfig.ipRanges', 'must be a list of range sets, each a non-empty list of { subnet, rangeStart?, rangeEnd?, gateway? }');
  }
}

const DNS_KEYS = ['servers', 'searches', 'options'];

/**
 * The dns capability: `servers` IP addresses, `searches` and `options`
 * words (each becomes a resolv.conf token, so no white space). A key of the
 * result's DNS (`nameservers`, `search`, `domain`) or a misspelling is code
 * 2: ignored, the container would start with DNS the runtime did not ask for.
 */
function checkDns(v: unknown): void {
  if (v === undefined) return;
  if (!isObject(v) || Array.isArray(v)) throw invalid('runtimeConfig.dns', 'must be an object { servers?, searches?, options? }');
  for (const [key, value] of Object.entries(v)) {
    const field = `runtimeConfig.dns.${key}`;
    if (!DNS_KEYS.includes(key)) {
      throw new CniError(CniCode.unsupportedField, `unsupported field ${field}: the dns capability has ${DNS_KEYS.join(', ')}`, `field: ${field}`);
    }
    if (value === null || value === undefined) continue; // Go's nil list
    if (!Array.isArray(value)) throw invalid(field, 'must be a list of strings');
    for (const [i, x] of value.entries()) {
      const at = `${field}[${String(i)}]`;
      if (key === 'servers') {
        try {
          parseIp(x, at);
        } catch {
          throw invalid(at, `${JSON.stringify(x)} is not an IPv4 or IPv6 address`);
        }
      } else if (typeof x !== 'string' || !/^\S+$/.test(x)) throw invalid(at, `${JSON.stringify(x)} must be a non-empty string without white space`);
    }
  }
}

/** `runtimeConfig`, checked for the capabilities nlkit-cni implements (others are the runtime's and other plugins' business). */
export function checkRuntimeConfig(v: unknown): RuntimeConfig {
  if (v === undefined) return {};
  if (!isObject(v) || Array.isArray(v)) throw invalid('runtimeConfig', 'must be an object');
  const rc = v as Record<string, unknown>;
  if (rc.portMappings !== undefined && !(Array.isArray(rc.portMappings) && rc.portMappings.every((m) => isObject(m) && !Array.isArray(m)))) {
    throw invalid('runtimeConfig.portMappings', 'must be a list of { hostPort, containerPort, protocol?, hostIP? }');
  }
  stringList(rc.ips, 'runtimeConfig.ips');
  optionalString(rc.mac, 'runtimeConfig.mac');
  checkBandwidth(rc.bandwidth);
  checkIpRangesShape(rc.ipRanges);
  checkDns(rc.dns);
  return rc;
}

/** `args.cni.ips` and `args.cni.mac` (the conventions' other way to ask for addresses). */
export function checkArgs(v: unknown): CniArgs | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Array.isArray(v)) throw invalid('args', 'must be an object');
  const cni = (v as { cni?: unknown }).cni;
  if (cni !== undefined) {
    if (!isObject(cni) || Array.isArray(cni)) throw invalid('args.cni', 'must be an object');
    stringList((cni as { ips?: unknown }).ips, 'args.cni.ips');
    optionalString((cni as { mac?: unknown }).mac, 'args.cni.mac');
  }
  return v;
}

/** GC's `cni.dev/valid-attachments`: every entry names a container and an interface. */
export function checkValidAttachments(v: unknown): ValidAttachment[] | undefined {
  if (v === undefined) return undefined;
  const field = 'cni.dev/valid-attachments';
  if (!Array.isArray(v)) throw invalid(field, 'must be a list of { containerID, ifname }');
  for (const [i, a] of v.entries()) {
    const e = a as { containerID?: unknown; ifname?: unknown } | null;
    const ok = isObject(e) && typeof e.containerID === 'string' && e.containerID !== '' && typeof e.ifname === 'string' && e.ifname !== '';
    if (!ok) throw invalid(`${field}[${String(i)}]`, `${JSON.stringify(a)} is not { containerID, ifname } (both non-empty strings)`);
  }
  return v as ValidAttachment[];
}
