/**
 * Virtual IPs the host has: a VIP that is an address of one of the host's
 * interfaces (a network's gateway, 10.77.0.1) would take every connection to
 * its port, the host's own listeners' included (a gateway's DNS on :53). Only
 * new VIPs are looked up, in one address dump per change. External IPs may
 * be the host's (that is what they are for).
 * @module
 */
import type { Handle } from '../handle';
import { ValidationError } from '../netlink/errors';
import type { ServiceRecord } from './spec';

/** A change of a service: its record before (if any) and after. */
interface VipChange {
  before?: ServiceRecord;
  after?: ServiceRecord;
}

/** Throws a ValidationError (field `vips`) when a VIP a change adds is an address of the host. */
export async function refuseHostVips(host: Handle, changes: readonly VipChange[]): Promise<void> {
  const added: Array<[ip: string, service: string]> = [];
  for (const c of changes) {
    if (!c.after) continue;
    const had = new Set(c.before?.vips ?? []);
    for (const ip of c.after.vips) if (!had.has(ip)) added.push([ip, c.after.name]);
  }
  if (added.length === 0) return;
  const own = new Map<string, string>();
  for (const a of await host.addresses.list()) own.set(a.address, a.label ?? `link ${a.link}`); // canonical text, as recorded
  for (const [ip, service] of added) {
    const link = own.get(ip);
    if (link === undefined) continue;
    throw new ValidationError(
      'vips',
      ip,
      `is an address of the host (on ${link}): a VIP there would take the host's own connections to its ports (service "${service}"); use an address no interface has, or give it as an external IP`,
    );
  }
}
