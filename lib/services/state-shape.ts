/**
 * The shape of a service's record file (`<stateDir>/services/records/<name>.json`),
 * checked when it is read, as the networks' state files are
 * (network/state-shape.ts, with the same checks: validate/shape.ts): a record is all a service's endpoints, ports
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
import { formatIp, parseIp } from '../validate/ip';
import { arrayOf, between, bool, field, isRecord, oneOf, problemAt, type ShapeCheck, type ShapeProblem } from '../validate/shape';
import { SERVICE_NAME, canonicalRecord, type ServiceRecord } from './spec';

const svcPort = between(1, 65535, 'a port 1-65535');
const weight = between(0, 10000, 'a weight 0-10000');
const seconds = between(1, 86400, 'a number of seconds 1-86400');

/** An IPv4 address in canonical form (no leading zeros): most addresses, told without parsing them. */
const CANONICAL_V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** IPv6 addresses found canonical (parsing one is most of a record's check; apply() reads every record at each call). */
const canonicalV6 = new Set<string>();
const MAX_CANONICAL_V6 = 65536;

/** An address as nlkit records it: IPv4 or IPv6, in canonical form (what the table's elements are compared as). */
const address: ShapeCheck = (v) => {
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

const protocol = oneOf('tcp', 'udp', 'sctp');

// Written out field by field (see `field`): apply() and check() read every record.
const portRecord: ShapeCheck = (p) =>
  !isRecord(p)
    ? ' is not an object'
    : (field(p, 'protocol', protocol) ?? field(p, 'port', svcPort) ?? field(p, 'targetPort', svcPort) ?? field(p, 'nodePort', svcPort, true));

const endpointRecord: ShapeCheck = (e) =>
  !isRecord(e)
    ? ' is not an object'
    : (field(e, 'ip', address) ??
      field(e, 'weight', weight) ??
      field(e, 'ready', bool) ??
      field(e, 'serving', bool) ??
      field(e, 'terminating', bool) ??
      field(e, 'port', svcPort, true));

/** As validateServiceName (spec.ts) accepts. */
const serviceName: ShapeCheck = (v) => (typeof v === 'string' && SERVICE_NAME.test(v) ? undefined : ` is not a service name (${JSON.stringify(v)})`);
const vips = arrayOf(address, 'a service has at least one virtual IP');
const addresses = arrayOf(address);
const ports = arrayOf(portRecord, 'a service has at least one port');
const endpoints = arrayOf(endpointRecord);

const serviceRecord: ShapeCheck = (v) =>
  !isRecord(v)
    ? ' is not an object'
    : (field(v, 'name', serviceName) ??
      field(v, 'vips', vips) ??
      field(v, 'externalIps', addresses) ??
      field(v, 'ports', ports) ??
      field(v, 'endpoints', endpoints) ??
      field(v, 'affinitySeconds', seconds, true));

/** What is wrong with the content of service `name`'s record file, or undefined when it is a record of that service. */
export function checkServiceRecord(v: unknown, name: string): ShapeProblem {
  const p = problemAt('record', serviceRecord, v);
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
