/**
 * Alternative interface names (`ip link property add/del ... altname`):
 * RTM_NEWLINKPROP and RTM_DELLINKPROP with IFLA_ALT_IFNAME entries nested in
 * IFLA_PROP_LIST. A link can be looked up by any of its names; one longer
 * than an interface name (16-127 bytes) is sent as IFLA_ALT_IFNAME.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { call, type Operation } from '../netlink/operation';
import { NetlinkWriter } from '../netlink/writer';
import { validateAltName } from '../validate/names';
import * as C from './constants';

/** Checks a list of alternative names: an array of distinct valid names. */
export function checkAltNames(names: unknown, field = 'altNames'): string[] {
  if (!Array.isArray(names)) throw new ValidationError(field, names, 'must be an array of names');
  const seen = new Set<string>();
  names.forEach((n, i) => {
    validateAltName(n, `${field}[${i}]`);
    if (seen.has(n as string)) throw new ValidationError(`${field}[${i}]`, n, 'given twice');
    seen.add(n as string);
  });
  return names as string[];
}

/**
 * One RTM_NEWLINKPROP (add) or RTM_DELLINKPROP (delete) for the names of a
 * link. The kernel applies them in order and stops at the first it refuses.
 */
export function altNamesRequest(command: typeof C.RTM_NEWLINKPROP | typeof C.RTM_DELLINKPROP, index: number, names: readonly string[]): Buffer {
  const w = new NetlinkWriter().begin(command, 0);
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeInt32LE(index, off + 4);
  const list = w.nest(C.IFLA_PROP_LIST);
  for (const n of names) w.string(C.IFLA_ALT_IFNAME, n);
  w.endNest(list);
  return w.end().finish();
}

/**
 * Makes a link's alternative names `wanted`: one RTM_DELLINKPROP for those to
 * drop, one RTM_NEWLINKPROP for those to add (each only when needed).
 */
export function* changeAltNames(link: { index: number; name: string; altNames?: string[] }, wanted: readonly string[]): Operation<void> {
  const current = link.altNames ?? [];
  const remove = current.filter((n) => !wanted.includes(n));
  const add = wanted.filter((n) => !current.includes(n));
  if (remove.length) yield* call(altNamesRequest(C.RTM_DELLINKPROP, link.index, remove), `delete altnames of link ${link.name}`);
  if (add.length) yield* call(altNamesRequest(C.RTM_NEWLINKPROP, link.index, add), `add altnames to link ${link.name}`);
}
