/**
 * The shape of a service's record file (`<stateDir>/services/records/<name>.json`),
 * checked when it is read, as the networks' state files are
 * (network/state-shape.ts): a record is all a service's endpoints, ports
 * and NodePorts, and what check(), reconcile() and apply() compare the
 * table with. A file of the wrong shape read as if it were right (no
 * `ports` read as none, `endpoints` a string) would have them delete the
 * service's live dispatch elements, or fail halfway with a TypeError. Such
 * a file is a CorruptStateError naming it and what is wrong, never read as
 * no service. Every version of nlkit wrote every field but `nodePort`,
 * an endpoint's `port` and `affinitySeconds` (absent: none); unknown
 * fields are left alone (a newer version may write more). Special
 * addresses (loopback, multicast, ... : special-ips.ts) that an older
 * nlkit recorded are a record's shape, not corruption: check() reports
 * them (drift.ts, `address-special`).
 * @module
 */
import { CorruptStateError } from '../network/errors';
import type { ShapeProblem } from '../network/state-shape';
import { formatIp, parseIp } from '../validate/ip';
import { SERVICE_NAME, canonicalRecord, type ServiceRecord } from './spec';

/** As validateServiceName (spec.ts) accepts. */

/**
 * What is wrong with a value, as what follows its path ("[2].ip is not a string", " is empty"), or undefined.
 * The path is written only when something is wrong: apply() and check() read every record (10,000s of them),
 * and building each element's path was most of what checking one cost after JSON.parse.
 */
type Rel = (v: unknown) => string | undefined;

const between =
  (lo: number, hi: number, what: string): Rel =>
  (v) =>
    Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi ? undefined : ` is not ${what}`;

const svcPort = between(1, 65535, 'a port 1-65535');
const weight = between(0, 10000, 'a weight 0-10000');
const seconds = between(1, 86400, 'a number of seconds 1-86400');

/** An IPv4 address in canonical form (no leading zeros): most addresses, told without parsing them. */
const CANONICAL_V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** IPv6 addresses found canonical (parsing one is most of a record's check; apply() reads every record at each call). */
const canonicalV6 = new Set<string>();
const MAX_CANONICAL_V6 = 65536;

/** An address as nlkit records it: IPv4 or IPv6, in canonical form (what the table's elements are compared as). */
const address: Rel = (v) => {
  if (typeof v !== 'string') return ' is not a string';
  if (CANONICAL_V4.test(v) || canonicalV6.has(v)) return undefined;
  let canonical: string;
  try {
    canonical = formatIp(parseIp(v).bytes);
  } catch {
    return ` is not an IP address (${JSON.stringify(v)})`;
  }
  if (canonical !== v) return ` is not in canonical form (${JSON.stringify(v)}, not ${JSON.stringify(canonical)})`;
  if (canonicalV6.size >= MAX_CANONICAL_V6) canonicalV6.clear();
  canonicalV6.add(v);
  return undefined;
};

/** A plain object (not an array, not null). */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Field `k` of `o`, checked: its problem with the field's name in front. */
function field(o: Record<string, unknown>, k: string, check: Rel, optional = false): string | undefined {
  if (!(k in o)) return optional ? undefined : `.${k} is missing`;
  const p = check(o[k]);
  return p === undefined ? undefined : `.${k}${p}`;
}

const bool: Rel = (v) => (typeof v === 'boolean' ? undefined : ' is not a boolean');
const protocol: Rel = (v) => (v === 'tcp' || v === 'udp' || v === 'sctp' ? undefined : ' is not one of "tcp", "udp", "sctp"');

const portRecord: Rel = (p) =>
  !isObject(p)
    ? ' is not an object'
    : (field(p, 'protocol', protocol) ?? field(p, 'port', svcPort) ?? field(p, 'targetPort', svcPort) ?? field(p, 'nodePort', svcPort, true));

const endpointRecord: Rel = (e) =>
  !isObject(e)
    ? ' is not an object'
    : (field(e, 'ip', address) ??
      field(e, 'weight', weight) ??
      field(e, 'ready', bool) ??
      field(e, 'serving', bool) ??
      field(e, 'terminating', bool) ??
      field(e, 'port', svcPort, true));

/** An array of values passing `check`; `empty` says why an empty one is wrong (when it is). */
const list =
  (check: Rel, empty?: string): Rel =>
  (v) => {
    if (!Array.isArray(v)) return ' is not an array';
    if (v.length === 0 && empty) return ` is empty (${empty})`;
    for (let i = 0; i < v.length; i++) {
      const p = check(v[i]);
      if (p !== undefined) return `[${i}]${p}`;
    }
    return undefined;
  };

const name: Rel = (v) => (typeof v === 'string' && SERVICE_NAME.test(v) ? undefined : ` is not a service name (${JSON.stringify(v)})`);
const vips = list(address, 'a service has at least one virtual IP');
const addresses = list(address);
const ports = list(portRecord, 'a service has at least one port');
const endpoints = list(endpointRecord);

/** A record's shape, written out (the combinators of network/state-shape.ts build every element's path). */
function serviceRecord(v: unknown): ShapeProblem {
  if (!isObject(v)) return 'record is not an object';
  const p =
    field(v, 'name', name) ??
    field(v, 'vips', vips) ??
    field(v, 'externalIps', addresses) ??
    field(v, 'ports', ports) ??
    field(v, 'endpoints', endpoints) ??
    field(v, 'affinitySeconds', seconds, true);
  return p === undefined ? undefined : `record${p}`;
}

/** What is wrong with the content of service `name`'s record file, or undefined when it is a record of that service. */
export function checkServiceRecord(v: unknown, name: string): ShapeProblem {
  const p = serviceRecord(v);
  if (p) return p;
  const own = (v as Record<string, unknown>).name;
  return own === name ? undefined : `record is filed under another name than its own (${JSON.stringify(own)})`;
}

/**
 * Service `name`'s record from its file's text, checked: anything that is not a
 * record of that service is a CorruptStateError naming `file`, never read as
 * no service (reconcile() would delete the service's dispatch elements).
 */
export function parseServiceRecord(file: string, name: string, text: string): ServiceRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CorruptStateError(file, `is not JSON (${(e as Error).message})`);
  }
  const problem = checkServiceRecord(v, name);
  if (problem) throw new CorruptStateError(file, problem);
  return canonicalRecord(v as ServiceRecord);
}
