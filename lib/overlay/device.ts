/**
 * The VXLAN device of an overlay (vxlan mode): one per host, learning off
 * (the control plane writes every entry), the VTEP address on it as a /32,
 * and an MTU that leaves room for the outer headers.
 * @module
 */
import type { Handle } from '../handle';
import { ValidationError } from '../netlink/errors';
import type { Link } from '../rtnetlink/link-types';
import { overlayMtu } from './mtu';
import { vtepMac, type ParsedOverlaySpec } from './spec';

/** How the device should be, from the spec and the underlay link. */
export interface DeviceTarget {
  mac: string;
  mtu: number;
}

/** The device's wanted MAC and MTU (the MTU from the underlay link's). */
export async function deviceTarget(h: Handle, spec: ParsedOverlaySpec): Promise<DeviceTarget> {
  const underlay = await h.links.get(spec.underlayLink);
  return { mac: vtepMac(spec.vtep), mtu: overlayMtu(underlay.mtu, spec.underlayFamily) };
}

/** The ownership mark (interface alias) on a device the overlay made: only a device carrying it is ever remade or deleted, so a colliding name never costs someone else's link. */
export function deviceMark(spec: ParsedOverlaySpec): string {
  return `nlkit-overlay:${spec.clusterCidr}`;
}

/** The device is a VXLAN device this overlay made. */
export function isOwnedDevice(link: Link, spec: ParsedOverlaySpec): boolean {
  return link.kind === 'vxlan' && link.alias === deviceMark(spec);
}

/** Why an existing device under the overlay's name is not the overlay's to touch. */
export function foreignDeviceReason(link: Link, spec: ParsedOverlaySpec): string {
  const what = link.kind === 'vxlan' ? 'a vxlan device' : `a ${link.kind ?? 'plain'} device`;
  return `is ${what} nlkit's overlay did not make (its alias is ${JSON.stringify(link.alias ?? '')}, not ${JSON.stringify(deviceMark(spec))}): choose another device name or remove it`;
}

/** The overlay's device, undefined when there is none; someone else's device under its name is refused with a ValidationError naming "device". */
export async function ownedDevice(h: Handle, spec: ParsedOverlaySpec): Promise<Link | undefined> {
  const link = await h.links.find(spec.device);
  if (link && !isOwnedDevice(link, spec)) throw new ValidationError('device', spec.device, foreignDeviceReason(link, spec));
  return link;
}

/** What is wrong with an existing device ("" when nothing): a differing one is made again, since the kernel changes neither VNI, local address nor port in place. */
export function deviceDifference(link: Link, spec: ParsedOverlaySpec, target: DeviceTarget): string {
  if (link.kind !== 'vxlan') return `is a ${link.kind ?? 'device'} of another kind`;
  const info = link.info;
  if (info.vni !== spec.vni) return `has VNI ${String(info.vni)}, not ${String(spec.vni)}`;
  if (info.local !== spec.underlayAddress) return `sends from ${info.local ?? 'no address'}, not ${spec.underlayAddress}`;
  if (info.dstPort !== spec.port) return `uses port ${String(info.dstPort)}, not ${String(spec.port)}`;
  if (info.learning) return 'learns MACs';
  if (link.mac !== target.mac) return `has MAC ${link.mac ?? 'none'}, not ${target.mac}`;
  if (link.mtu !== target.mtu) return `has MTU ${String(link.mtu)}, not ${String(target.mtu)}`;
  if (!link.up) return 'is down';
  return '';
}

/** The device's own settings are right, or it is (re)made; resolves to true when it was (re)made, so that every peer's entries must be written again. */
export async function ensureDevice(h: Handle, spec: ParsedOverlaySpec): Promise<boolean> {
  const existing = await ownedDevice(h, spec);
  const target = await deviceTarget(h, spec);
  const wrong = existing ? deviceDifference(existing, spec, target) : 'missing';
  let made = false;
  if (wrong === 'is down' || wrong.startsWith('has MTU')) {
    await h.links.set(spec.device, { mtu: target.mtu, up: true });
  } else if (wrong !== '') {
    if (existing) await h.links.delete(existing.index, { missingOk: true });
    await h.links.add({
      name: spec.device,
      kind: 'vxlan',
      vni: spec.vni,
      local: spec.underlayAddress,
      dstPort: spec.port,
      dev: spec.underlayLink,
      learning: false,
      mac: target.mac,
      mtu: target.mtu,
      up: true,
      alias: deviceMark(spec),
    });
    made = true;
  }
  await h.addresses.replace(spec.device, `${spec.vtep}/32`);
  return made;
}
