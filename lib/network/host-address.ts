/**
 * A publication's host address must be one the host has — else nothing
 * would ever reach it — unless the caller says it is a VIP: an address
 * other machines route to this host without the host having it.
 * @module
 */
import type { Handle } from '../handle';
import { NetlinkError, ValidationError } from '../netlink/errors';

/**
 * Refuses (ValidationError on `hostIp`) an address the host namespace does
 * not deliver locally. Asks the kernel's own lookup (`ip route get`), so
 * every local address counts: those of the interfaces, the whole 127/8 of
 * loopback, and AnyIP ranges (`ip route add local 192.0.2.0/24 dev lo`).
 */
export async function checkHostAddress(host: Handle, hostIp: string): Promise<void> {
  let type: string | undefined;
  try {
    type = (await host.routes.lookup(hostIp)).type;
  } catch (e) {
    if (!(e instanceof NetlinkError)) throw e; // ENETUNREACH: no route at all, so not local either
  }
  if (type !== 'local') {
    throw new ValidationError('hostIp', hostIp, 'is not an address of the host; for an address others route to this host, publish with vip: true');
  }
}
