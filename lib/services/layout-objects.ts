/**
 * The objects a service's layout and its diff are made of, made by
 * constructors rather than object literals.
 *
 * Why: V8 pretenures an object literal's allocation site (its objects are
 * then allocated in the old generation) once most of its objects were seen
 * surviving a scavenge. `apply()` of 1,000s of services keeps every layout
 * and slot element alive until the transaction is encoded, so the literals
 * of serviceLayout and of the diff were pretenured there, for the life of
 * the process. Every later `set()` then put its layout in the old
 * generation, where it became garbage only a mark-compact frees, and the
 * young objects it pointed to (keys, values, arrays) survived each scavenge
 * through it and were promoted: ~1.2 MB copied per scavenge at 1,000 and
 * 10,000 services, 4–9 ms scavenges. Objects made by `new` carry no
 * allocation site: they stay young and die young (arrays: newList, packed.ts,
 * and Array.of, which makes the same packed arrays as a literal).
 * @module
 */
import type { SetElement } from '../nftables';
import type { ChainLayout, MapElementLayout, MemberLayout, ObjectsLayout, PortMembers, SlotMap } from './layout';
import { newList } from './packed';

type Fields = Array<string | number>;

export class ServiceObjects implements ObjectsLayout {
  readonly chains = newList<ChainLayout>();
  readonly sets = newList<ObjectsLayout['sets'][number]>();
  readonly elements = newList<MapElementLayout>();
  readonly members = newList<PortMembers>();
}

export class DispatchElement implements MapElementLayout {
  constructor(
    readonly map: string,
    readonly key: Fields,
    readonly chain: string,
  ) {}
}

/** A hairpin member (added or deleted as a {@link KeyElement}: a transaction refuses an element's unknown keys, set and port among them). */
export class Member implements MemberLayout {
  constructor(
    readonly set: string,
    readonly port: string,
    readonly key: Fields,
    readonly value: Fields | undefined,
  ) {}
}

export class PortSlotMap implements SlotMap {
  constructor(
    readonly set: string,
    readonly key: Fields,
  ) {}
}

export class Port implements PortMembers {
  constructor(
    readonly port: string,
    readonly hairpin: MemberLayout[],
    readonly slotMaps: SlotMap[],
    readonly slots: Fields[],
  ) {}
}

/** A hairpin member's element: its key. */
export class KeyElement implements SetElement {
  constructor(readonly key: Fields) {}
}

/** A slot's element: deleting it reads the key only, so one object serves both messages. */
export class SlotElement implements SetElement {
  constructor(
    readonly key: Fields,
    readonly value: Fields,
  ) {}
}

/** One service's layouts before and after a change (table.ts LayoutChange). */
export class LayoutPair {
  constructor(
    readonly before: ObjectsLayout,
    readonly after: ObjectsLayout,
  ) {}
}

/** A record and its layout (table.ts objectsOf's cache entry). */
export class LaidOut<R> {
  constructor(
    readonly rec: R,
    readonly layout: ObjectsLayout,
  ) {}
}
