/**
 * Set layouts by the set's listing. Adding or deleting elements reads the set
 * (its types) at every commit; deriving its layout anew each time sent
 * decoded sets (objects of varying hidden classes: optional fields added as
 * found) through the layout and element-encoding code, whose optimised code
 * was thrown away and recompiled now and then, long after warm-up (the p99
 * of a services change). The same listing now gives the same layout object.
 * @module
 */
import type { NetlinkMessage } from '../netlink/parser';
import type { SetShape } from './set';

/** Bound on the cached layouts (a process touches few set definitions; a churn of them just starts over). */
const MAX_SHAPES = 512;
const shapes = new Map<string, SetShape>();

/** The layout `derive` makes of a set's NEWSET message, derived once per distinct listing. */
export function cachedSetShape(m: NetlinkMessage, derive: (m: NetlinkMessage) => SetShape): SetShape {
  // Bytes 2-3 of the nfgenmsg header are the ruleset's generation: not part of the set's definition.
  const key = `${m.type}:${m.payload.toString('latin1', 0, 2)}${m.payload.toString('latin1', 4)}`;
  let shape = shapes.get(key);
  if (!shape) {
    shape = derive(m);
    if (shapes.size >= MAX_SHAPES) shapes.clear();
    shapes.set(key, shape);
  }
  return shape;
}
