/**
 * A service's elements in the shared maps (its ports' slots and hairpin
 * addresses, layout.ts `PortMembers`): what changes between two layouts of
 * the service, and the elements one by one (drift compares them with the
 * listed maps).
 *
 * The diff compares slots by position, map by map: a port keeps its slot
 * maps (same key before the slot number) across most changes, so a change
 * of endpoints or weights costs a comparison per slot and an element per
 * changed slot, no key string per member (a set() allocated ~50 KiB of
 * them, and the scavenges that followed made its p99). Elements come out
 * in the order the member-by-member diff gave them: the changed and new
 * ones in the order of `after`, then those only `before` has, in its order.
 * @module
 */
import type { SetElement } from '../nftables';
import type { MemberLayout, PortMembers, SlotMap } from './layout';
import { KeyElement, SlotElement } from './layout-objects';

/** A member that goes or comes: the set it is in, its element, its port. */
export type MemberSink = (set: string, element: SetElement, port: string) => void;

/** The key of slot `slot` in a slot map, as one literal of its exact length (a spread allocates room to grow). */
function slotKey(k: ReadonlyArray<string | number>, slot: number): Array<string | number> {
  return k.length === 3 ? [k[0], k[1], k[2], slot] : k.length === 2 ? [k[0], k[1], slot] : [...k, slot];
}

/**
 * The slot keys made so far for a slot map (never modified), handed on to the
 * same map of the port's next layout: a repeated change of endpoints makes
 * no key arrays (64 a change, ~3 KiB of young-generation garbage).
 */
const slotKeys = new WeakMap<SlotMap, Array<Array<string | number>>>();

/** The key list of `m`, the one of `was` (the same map in the layout before) if it has one. */
function keysOf(m: SlotMap, was: SlotMap | undefined): Array<Array<string | number>> {
  let keys = slotKeys.get(m);
  if (!keys) {
    keys = (was && slotKeys.get(was)) ?? [];
    slotKeys.set(m, keys);
  }
  return keys;
}

/** The element of slot `slot` of a slot map. Deleting it reads the key only, so one object serves both messages. */
function slotElement(m: SlotMap, keys: Array<Array<string | number>>, slot: number, value: Array<string | number>): SetElement {
  while (keys.length <= slot) keys.push(slotKey(m.key, keys.length));
  return new SlotElement(keys[slot], value); // not a literal: layout-objects.ts
}

export function sameFields(a: ReadonlyArray<string | number>, b: ReadonlyArray<string | number>): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The port of `before` with the slot map `m` (same map, same key), or undefined. */
function slotMapIn(before: readonly PortMembers[], m: SlotMap): { port: PortMembers; map: SlotMap } | undefined {
  for (const port of before) for (const map of port.slotMaps) if (map.set === m.set && sameFields(map.key, m.key)) return { port, map };
  return undefined;
}

const hairpinKey = (m: MemberLayout): string => `${m.set}\0${m.key.join('\0')}`;

/** Above this many members of `before`, hairpin members are matched by key string in a Map rather than by scanning. */
const SCAN_HAIRPIN = 64;

/**
 * The hairpin members of `before` and which of them `after` keeps. A service
 * has few (one per endpoint address and virtual IP): they are compared field
 * by field, no key string per member (~4 KiB a change, young-generation
 * garbage); a Map of key strings only beyond SCAN_HAIRPIN members.
 */
class OldHairpin {
  readonly members: MemberLayout[] = [];
  readonly kept: boolean[] = [];
  private byKey: Map<string, number> | undefined;
  constructor(before: readonly PortMembers[]) {
    for (const p of before) {
      for (const m of p.hairpin) {
        this.members.push(m);
        this.kept.push(false);
      }
    }
    if (this.members.length > SCAN_HAIRPIN) {
      this.byKey = new Map();
      // The first of equal members is matched first, as by the scan.
      for (let i = this.members.length - 1; i >= 0; i--) this.byKey.set(hairpinKey(this.members[i]), i);
    }
  }
  /** Whether `before` has `m` (not yet matched); marks it kept. */
  keep(m: MemberLayout): boolean {
    let i = -1;
    if (this.byKey) {
      const k = hairpinKey(m);
      i = this.byKey.get(k) ?? -1;
      if (i >= 0) this.byKey.delete(k);
    } else {
      for (let j = 0; j < this.members.length && i < 0; j++) {
        const o = this.members[j];
        if (!this.kept[j] && o.set === m.set && sameFields(o.key, m.key)) i = j;
      }
    }
    if (i >= 0) this.kept[i] = true;
    return i >= 0;
  }
}

/**
 * Calls `gone` for each element of `before` that goes or changes and `come`
 * for each element of `after` that is new or changed (a changed slot: gone
 * with its old value, then come with its new one).
 */
export function diffPortMembers(before: readonly PortMembers[], after: readonly PortMembers[], gone: MemberSink, come: MemberSink): void {
  const oldHairpin = new OldHairpin(before);
  /** Slots of a slot map of `before` that `after` has too (its first n). */
  const kept = new Map<SlotMap, number>();
  for (const p of after) {
    for (const m of p.hairpin) if (!oldHairpin.keep(m)) come(m.set, new KeyElement(m.key), p.port);
    const was = p.slotMaps.map((m) => slotMapIn(before, m));
    const keys = p.slotMaps.map((m, i) => keysOf(m, was[i]?.map));
    for (const w of was) if (w) kept.set(w.map, Math.min(w.port.slots.length, p.slots.length));
    for (let slot = 0; slot < p.slots.length; slot++) {
      const value = p.slots[slot];
      for (let i = 0; i < p.slotMaps.length; i++) {
        const w = was[i];
        const m = p.slotMaps[i];
        if (w && slot < w.port.slots.length) {
          if (sameFields(w.port.slots[slot], value)) continue;
          // Deleted and added again (the kernel cannot change an element's data in place): the same key, one element.
          const e = slotElement(m, keys[i], slot, value);
          gone(m.set, e, w.port.port);
          come(m.set, e, p.port);
        } else come(m.set, slotElement(m, keys[i], slot, value), p.port);
      }
    }
  }
  let h = 0;
  for (const p of before) {
    for (const m of p.hairpin) if (!oldHairpin.kept[h++]) gone(m.set, new KeyElement(m.key), p.port);
    for (let slot = 0; slot < p.slots.length; slot++) {
      for (const m of p.slotMaps) if (slot >= (kept.get(m) ?? 0)) gone(m.set, slotElement(m, keysOf(m, undefined), slot, p.slots[slot]), p.port);
    }
  }
}

/** The elements of a service's ports one by one, in the order of the member-by-member layout: per port its hairpin members, then slot by slot. */
export function listMembers(ports: readonly PortMembers[]): MemberLayout[] {
  const out: MemberLayout[] = [];
  for (const p of ports) {
    out.push(...p.hairpin);
    p.slots.forEach((value, slot) => {
      for (const m of p.slotMaps) out.push({ set: m.set, port: p.port, key: slotKey(m.key, slot), value });
    });
  }
  return out;
}
