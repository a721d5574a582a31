/**
 * Set layouts by the set's listing. Adding or deleting elements reads the set
 * (its types) at every commit; deriving its layout anew each time sent
 * decoded sets (objects of varying hidden classes: optional fields added as
 * found) through the layout and element-encoding code, whose optimised code
 * was thrown away and recompiled now and then, long after warm-up (the p99
 * of a services change). The same listing now gives the same layout object.
 * So does the same definition object given to `addSet` (definitionShape).
 * @module
 */
import type { NetlinkMessage } from '../netlink/parser';
import { shapeOf, type NftSet, type SetShape } from './set';

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

/** The fields of a set definition its layout is derived from, as they were then (arrays copied), and the layout. */
interface DerivedFrom {
  keyType: NftSet['keyType'];
  keyLength: number | undefined;
  dataType: NftSet['dataType'];
  dataLength: number | undefined;
  dataInterval: boolean | undefined;
  objectType: NftSet['objectType'];
  flags: NftSet['flags'];
  shape: SetShape;
}

/**
 * Layouts of set definitions by definition object. A caller declaring the
 * same constant definitions in every transaction (the services' shared maps,
 * each change) derived the same layout each time, and three times a change
 * (the set, then the elements deleted and added): ~5 KiB of young garbage.
 * An entry holds copies of the fields its layout came from and is used only
 * while the object still has them, so a definition changed in place (even
 * an array inside it) is derived again, never given a stale layout.
 */
const byDefinition = new WeakMap<object, DerivedFrom>();

const copied = <T>(v: T): T => (Array.isArray(v) ? (v.slice() as T) : v);

/** Whether `a` (a definition's field now) equals `b` (as recorded): primitives, or arrays of primitives. */
function sameField(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `shapeOf(s)`, derived once per definition object while its fields stay the same. The layout is shared: never modify it. */
export function definitionShape(s: NftSet): SetShape {
  const d = byDefinition.get(s);
  if (
    d !== undefined &&
    sameField(s.keyType, d.keyType) &&
    s.keyLength === d.keyLength &&
    sameField(s.dataType, d.dataType) &&
    s.dataLength === d.dataLength &&
    s.dataInterval === d.dataInterval &&
    s.objectType === d.objectType &&
    sameField(s.flags, d.flags)
  )
    return d.shape;
  const shape = shapeOf(s);
  byDefinition.set(s, {
    keyType: copied(s.keyType),
    keyLength: s.keyLength,
    dataType: copied(s.dataType),
    dataLength: s.dataLength,
    dataInterval: s.dataInterval,
    objectType: s.objectType,
    flags: copied(s.flags),
    shape,
  });
  return shape;
}
