/**
 * Interfaces nlkit made that no state claims any more: the bridges and host
 * veths of a lost or set-aside state directory, found by their ownership
 * mark (names.ts) so check() can report them and reconcile() remove them.
 * Only marks of this state directory count: another runtime's, and anything
 * made with `ip`, are never touched.
 * @module
 */
import type { Link } from '../rtnetlink/link-types';
import { parseMark } from './names';
import type { Drift } from './reconcile';
import type { HostState } from './state';

/** Leftovers among the host's links (as listed by check()); each drift's `link` is the interface's name. */
export function findLeftovers(tag: string, st: HostState, links: Link[]): Drift[] {
  const bridges = new Set(Object.values(st.networks).map((n) => `${n.name}\0${n.bridge}`));
  const groups = new Set(Object.values(st.networks).map((n) => n.group));
  const veths = new Set<string>();
  for (const atts of Object.values(st.attachments)) for (const a of Object.values(atts)) veths.add(a.hostIfname);
  const out: Drift[] = [];
  for (const l of links) {
    const mark = parseMark(l.alias);
    if (mark?.tag !== tag) continue;
    if (mark.id === undefined) {
      if (l.kind === 'bridge' && !bridges.has(`${mark.network}\0${l.name}`)) {
        out.push({
          network: mark.network,
          kind: 'leftover-bridge',
          link: l.name,
          detail: `${l.name} is marked as network ${mark.network}'s bridge, which is not recorded`,
        });
      }
    } else if (l.kind === 'veth' && !veths.has(l.name) && !groups.has(l.group)) {
      // A veth in a recorded network's group is reported as a stray-veth already.
      out.push({
        network: mark.network,
        id: mark.id,
        kind: 'leftover-veth',
        link: l.name,
        detail: `${l.name} is marked as ${mark.id}'s veth on ${mark.network}, which is not attached`,
      });
    }
  }
  return out;
}
