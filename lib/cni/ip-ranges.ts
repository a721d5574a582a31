/**
 * The `ipRanges` capability: the address ranges the runtime gives the
 * container (Kubernetes' pod CIDR of the node), a list of range sets as in
 * `ipam.ranges`. A delegated IPAM plugin (host-local) reads it from the
 * configuration itself. nlkit's own IPAM allocates from the network's
 * subnets only: ipRanges naming exactly them is served, anything else is
 * refused (code 2) before ADD does anything. Ignored, it gave a container an
 * address outside the range its runtime asked for.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatCidr, networkOf, parseCidr } from '../validate/ip';
import { ipamSubnets, type CniRange, type IpamConf } from './config';
import { CniCode, CniError } from './errors';

const FIELD = 'runtimeConfig.ipRanges';

function canonical(subnet: string, field: string): string {
  try {
    const c = networkOf(parseCidr(subnet, field));
    return formatCidr(c.bytes, c.prefixLength);
  } catch (e) {
    if (e instanceof ValidationError) throw new CniError(CniCode.invalidConfig, `invalid ${field}: ${e.message}`, `field: ${field}`);
    throw e;
  }
}

function unsupported(field: string, why: string): CniError {
  return new CniError(CniCode.unsupportedField, `unsupported field ${field}: ${why}`, `field: ${field}`);
}

/**
 * Refuses (code 2) `ipRanges` that nlkit's IPAM cannot serve: a range set
 * of several ranges, a part of a subnet (rangeStart, rangeEnd), another
 * subnet or gateway than the network's, or a family of the network left out
 * (the runtime would expect no address of it). Code 7 for a subnet that is
 * no CIDR.
 */
export function checkIpRangesServed(ipRanges: CniRange[][] | undefined, ipam: IpamConf): void {
  if (ipRanges === undefined) return;
  const own = ipamSubnets(ipam);
  const nets = [{ subnet: canonical(own.subnet, 'ipam.subnet'), gateway: own.gateway }];
  if (own.subnet6 !== undefined) nets.push({ subnet: canonical(own.subnet6, 'ipam.subnet'), gateway: own.gateway6 });
  const served = new Set<string>();
  for (const [i, set] of ipRanges.entries()) {
    const at = `${FIELD}[${String(i)}]`;
    if (set.length !== 1) throw unsupported(at, 'nlkit IPAM takes one range per range set (delegate to host-local for several)');
    const r = set[0];
    if (r.rangeStart !== undefined || r.rangeEnd !== undefined)
      throw unsupported(`${at}[0].rangeStart`, 'nlkit IPAM allocates from the whole subnet (delegate to host-local for a part of it)');
    const subnet = canonical(r.subnet, `${at}[0].subnet`);
    const net = nets.find((n) => n.subnet === subnet);
    if (!net)
      throw unsupported(
        `${at}[0].subnet`,
        `${r.subnet} is not the network's (${nets.map((n) => n.subnet).join(', ')}); delegate to host-local to allocate from the runtime's ranges`,
      );
    if (r.gateway !== undefined && r.gateway !== net.gateway)
      throw unsupported(
        `${at}[0].gateway`,
        `${r.gateway} is not the network's gateway${net.gateway !== undefined ? ` (${net.gateway})` : ' (ipam.gateway names none)'}`,
      );
    served.add(subnet);
  }
  const left = nets.filter((n) => !served.has(n.subnet));
  if (left.length > 0)
    throw unsupported(FIELD, `it leaves out the network's ${left.map((n) => n.subnet).join(', ')}, from which nlkit IPAM gives an address too`);
}
