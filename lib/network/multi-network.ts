/**
 * A sandbox on several networks, as Docker and netavark do it: one interface
 * per network (eth0, eth1, ... in attach order), the connected subnet route
 * of each (it comes with the address), and one default route — the first
 * network's, or the one chosen with `defaultRoute: true`.
 * @module
 */
import type { Handle } from '../handle';
import { NetlinkError, ValidationError } from '../netlink/errors';
import type { StateEdits, AttachmentRecord, HostState, NetworkRecord } from './state';

/** How an attach chooses whether its network carries the sandbox's default route. */
export type DefaultRouteChoice = boolean | undefined;

/** The attachments of one sandbox on every network, found by its namespace file. */
export function sameSandbox(st: HostState, sandboxPath: string): AttachmentRecord[] {
  const out: AttachmentRecord[] = [];
  // One pass over the records, no copies: an attach pays microseconds even with thousands attached.
  for (const network in st.attachments) {
    const atts = st.attachments[network];
    for (const id in atts) if (atts[id].sandboxPath === sandboxPath) out.push(atts[id]);
  }
  return out;
}

/** `defaultRoute` of attach options: true, false or absent. */
export function checkDefaultRoute(v: unknown): DefaultRouteChoice {
  if (v !== undefined && typeof v !== 'boolean') throw new ValidationError('defaultRoute', v, 'must be true or false');
  return v;
}

/**
 * The interface name of a new attachment: the one asked for, else the first
 * "ethN" no other network of the same sandbox uses (Docker's eth0, eth1, ...).
 */
export function chooseIfname(st: HostState, sandboxPath: string, asked: string | undefined): string {
  if (asked !== undefined) return asked;
  const taken = new Set(sameSandbox(st, sandboxPath).map((a) => a.ifname));
  let n = 0;
  while (taken.has(`eth${n}`)) n++;
  return `eth${n}`;
}

/**
 * The default route request(s) of an attachment, queued on the sandbox's
 * socket after its address. `true` replaces the sandbox's default route
 * (this network is chosen); absent adds one only if the sandbox has none
 * (the kernel says EEXIST otherwise: no extra request for the common first
 * network); `false` adds none. Resolves to whether the attachment carries
 * the default route; `att.defaultRoute` is set to that.
 */
export async function addDefaultRoutes(
  box: Pick<Handle, 'routes'>,
  rec: NetworkRecord,
  att: AttachmentRecord,
  link: string | number,
  choice: DefaultRouteChoice,
): Promise<void> {
  if (choice === false) {
    att.defaultRoute = false;
    return;
  }
  const write = (route: Parameters<Handle['routes']['add']>[0]) => (choice ? box.routes.replace(route) : box.routes.add(route));
  // Absent: the kernel's EEXIST says another network (or the sandbox's owner) has one.
  const taken = (e: unknown) => choice === undefined && e instanceof NetlinkError && e.code === 'EEXIST';
  att.defaultRoute = await write({ dst: 'default', gateway: rec.gateway, link }).then(
    () => true,
    (e: unknown) => (taken(e) ? false : Promise.reject(e as Error)),
  );
  // IPv6 follows IPv4's choice; a v4-only carrier leaves an IPv6 default where it is.
  if (att.defaultRoute && att.ipv6 && rec.gateway6) {
    await write({ dst: 'default', family: 6, gateway: rec.gateway6, link }).catch((e: unknown) => {
      if (!taken(e)) throw e;
    });
  }
}

/**
 * When an attach took the default route over (`defaultRoute: true`), the
 * sandbox's other attachments no longer carry it: their records say so, so
 * that check() and reconcile() do not put it back.
 */
export function handOverDefaultRoute(st: HostState, edits: StateEdits, att: AttachmentRecord): void {
  if (!att.defaultRoute) return;
  for (const other of sameSandbox(st, att.sandboxPath)) {
    if (other.network === att.network || other.defaultRoute === false) continue;
    edits.putAttachment({ ...other, defaultRoute: false });
  }
}

/**
 * Detached attachments whose namespace nlkit created: those still used by
 * another network hand the ownership to one of its attachments (the
 * namespace goes with the sandbox's last network); returns the rest, whose
 * namespace is to be deleted.
 */
export function handOverSandboxes(st: HostState, edits: StateEdits, gone: AttachmentRecord[]): AttachmentRecord[] {
  const goneKeys = new Set(gone.map((a) => `${a.network}\0${a.id}`));
  const unused: AttachmentRecord[] = [];
  for (const a of gone) {
    if (!a.ownsSandbox) continue;
    const heir = sameSandbox(st, a.sandboxPath).find((o) => !goneKeys.has(`${o.network}\0${o.id}`));
    if (heir) edits.putAttachment({ ...heir, ownsSandbox: true });
    else unused.push(a);
  }
  return unused;
}
