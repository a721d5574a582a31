/**
 * Arrays made the same way whether or not the code making them is optimised.
 * `Array.prototype.map` gives a packed array in the interpreter and a holey
 * one from TurboFan's inlined version, so records and layouts made by
 * `.map()` came in two elements kinds depending on when they were made; the
 * optimised code reading them (layout, diff, validation) met the other kind
 * long after warm-up and was thrown away and compiled again (a services
 * change's p99). Arrays built by push are packed either way.
 * @module
 */

const NO_ITEMS: readonly never[] = [];

/**
 * A new empty array without an allocation site (V8 pretenures an array
 * literal's site once most of its arrays survive a scavenge, as in a bulk
 * `apply()`, and every later array of that literal is then made in the old
 * generation: layout-objects.ts). Packed, as arrays built by push.
 */
export function newList<T>(): T[] {
  return NO_ITEMS.slice();
}

/** `list.map(fn)`, always a packed array (and without an allocation site: newList). */
export function mapPacked<T, U>(list: readonly T[], fn: (x: T, i: number) => U): U[] {
  const out = newList<U>();
  for (let i = 0; i < list.length; i++) out.push(fn(list[i], i));
  return out;
}
