/**
 * What encapsulation costs: the MTU left for containers on an overlay.
 * @module
 */
import { ValidationError } from '../netlink/errors';

/** Outer headers of a VXLAN packet: Ethernet 14 + IP 20 (IPv6: 40) + UDP 8 + VXLAN 8. */
const VXLAN_OVERHEAD = { 4: 50, 6: 70 } as const;

/**
 * The MTU of an overlay's VXLAN device and of the containers behind it: the
 * underlay's MTU less the outer headers (50 bytes over IPv4, 70 over IPv6);
 * host-gw mode adds nothing.
 * @example
 * overlayMtu(1500, 4); // 1450
 * overlayMtu(1500, 6); // 1430
 * overlayMtu(1500, 4, 'host-gw'); // 1500
 */
export function overlayMtu(underlayMtu: number, underlayFamily: 4 | 6, mode: 'vxlan' | 'host-gw' = 'vxlan'): number {
  if (!Number.isInteger(underlayMtu) || underlayMtu < 68 || underlayMtu > 65535)
    throw new ValidationError('underlayMtu', underlayMtu, 'must be an integer 68-65535');
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (underlayFamily !== 4 && underlayFamily !== 6) throw new ValidationError('underlayFamily', underlayFamily, 'must be 4 or 6');
  return mode === 'host-gw' ? underlayMtu : underlayMtu - VXLAN_OVERHEAD[underlayFamily];
}
