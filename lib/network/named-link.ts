/**
 * Host links the networks layer knows by the name it gave them (a network's
 * bridge, an attachment's host veth). The kernel's lookup by name also
 * matches an altname (`ip link property add dev X altname NAME`): a delete,
 * set or read by name would reach another link that only carries the name,
 * once ours is gone. These read the link, check its own name, and act by index.
 * @module
 */
import type { Handle } from '../handle';
import type { Link } from '../rtnetlink/link-types';
import { NetlinkError, NotFoundError } from '../netlink/errors';

/** The link called `name` in `h`'s namespace, or undefined (also when another link carries the name as an altname). */
export async function namedLink(h: Handle, name: string): Promise<Link | undefined> {
  const link = await h.links.find(name);
  return link?.name === name ? link : undefined;
}

/** A `.catch()` for deletes of links (and what lies on them) that may be gone already: the rest is rethrown. */
export function ignoreMissing(e: unknown): void {
  if (e instanceof NotFoundError || (e instanceof NetlinkError && e.code === 'ENODEV')) return;
  throw e;
}

/**
 * Deletes the link called `name`, if there is one and `still` (given) holds
 * for it as read now (a link found earlier may have been replaced since); a
 * link that carries the name as an altname is left alone.
 */
export async function deleteNamedLink(h: Handle, name: string, still?: (link: Link) => boolean): Promise<void> {
  const link = await namedLink(h, name);
  if (link && (!still || still(link))) await h.links.delete(link.index).catch(ignoreMissing); // gone meanwhile
}
