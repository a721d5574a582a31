/**
 * Rule shapes: what a rule's bytes depend on besides its values. While the
 * builder records steps it also appends to a shape key (the steps, their
 * constant arguments, the kinds of their values) and keeps the values that
 * vary from rule to rule in slots. Rules of one shape encode to the same
 * bytes but for the slots, so the transaction writes them from a template
 * (rule-templates.ts) instead of lowering and encoding each one: the work a
 * new process pays for per rule (bench/notes.md, "rule-shape templates").
 *
 * A slot kind writes a value into a template with byte stores. It accepts
 * only values it writes exactly as the ordinary path would (returns false for
 * anything else: that rule then goes the ordinary way, which also throws the
 * ordinary error for a bad value).
 * @module
 */
import { parseIp } from '../../validate/ip';
import { HOST_LITTLE_ENDIAN } from '../data';
import { Negated } from './options';

/** A kind of value a template patches. */
export interface SlotKind {
  /** In the shape key: rules of one shape have the same kinds in the same order. */
  readonly code: string;
  /** Which case of {@link writeSlots} writes it. */
  readonly id: number;
  /** A value of the same kind and byte length whose every byte differs from `v`'s (to find where `v` lands). */
  probe(v: unknown): unknown;
}

/** A port (inet_service): two bytes, big-endian. */
export const PORT: SlotKind = { code: 'P', id: 0, probe: (v) => (v as number) ^ 0xffff };
/** A plain IPv4 address "a.b.c.d" (strict, as parseIp: no leading zeros). */
export const IPV4: SlotKind = {
  code: '4',
  id: 1,
  probe: (v) =>
    (v as string)
      .split('.')
      .map((o) => 255 - Number(o))
      .join('.'),
};
/** An IPv6 address without prefix or range (parsed by parseIp: rarer than IPv4, one Buffer is fine). */
export const IPV6: SlotKind = {
  code: '6',
  id: 2,
  probe: (v) => {
    const bytes = parseIp(v, 'address', 6).bytes;
    const words: string[] = [];
    for (let i = 0; i < 16; i += 2) words.push((((bytes[i] ^ 0xff) << 8) | (bytes[i + 1] ^ 0xff)).toString(16));
    return words.join(':');
  },
};
/** A mark (meta mark, ct mark): a u32 in host order. */
export const MARK: SlotKind = { code: 'M', id: 3, probe: (v) => ~(v as number) >>> 0 };
/** A plain interface name (letters, digits, '_', '.', '-'; no wildcard): 16 bytes, NUL-padded. */
export const IFNAME: SlotKind = { code: 'I', id: 4, probe: swapChars };
/** A rule comment of printable ASCII without '"' (its length is in the template key). */
export const COMMENT: SlotKind = { code: 'C', id: 5, probe: swapChars };
/** NFTA_RULE_ID: a u32, big-endian. */
export const RULE_ID: SlotKind = { code: 'R', id: 6, probe: (v) => ~(v as number) >>> 0 };

/** A dotted quad as parseIp reads it (0-255, no leading zeros), its parts captured. */
const V4_EXACT = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * A slot's value as the template writer takes it, worked out once when the builder records it
 * (so the writer, run for every rule, only stores bytes): a u32 or u16 whose big-endian bytes are
 * the slot's bytes (a mark is swapped to host order here), or one of the markers below.
 */
export type SlotWord = number;
/** Not a value of the kind: a constant, it goes into the shape key. */
export const NOT_SLOT = -3;
/** A string written by {@link writeStringSlot} (IPv6 addresses, interface names, comments). */
export const STRING_SLOT = -2;
/** Of the kind but not written exactly as the ordinary path would (port 70000): that rule goes the ordinary way, which throws its error. */
export const BAD_SLOT = -1;

/** The word of `v` in a slot of `kind` (see {@link SlotWord}). */
export function slotWord(kind: SlotKind, v: unknown): SlotWord {
  switch (kind.id) {
    case 0: // PORT
      if (typeof v !== 'number') return NOT_SLOT;
      return Number.isInteger(v) && v >= 0 && v <= 0xffff ? v : BAD_SLOT;
    case 1: {
      // IPV4: one regular expression, not a character loop (cheaper before V8 optimises it)
      const m = typeof v === 'string' ? V4_EXACT.exec(v) : null;
      return m === null ? NOT_SLOT : ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0;
    }
    case 3: // MARK: stored in host order
    case 6: // RULE_ID
      if (typeof v !== 'number') return NOT_SLOT;
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) return BAD_SLOT;
      return kind.id === 3 && HOST_LITTLE_ENDIAN ? ((v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0 : v;
    case 2: // IPV6
      return typeof v === 'string' && V6_PLAIN.test(v) ? STRING_SLOT : NOT_SLOT;
    default: // IFNAME, COMMENT
      return typeof v === 'string' && (kind.id === 5 || IFNAME_PLAIN.test(v)) ? STRING_SLOT : NOT_SLOT;
  }
}

/**
 * Writes the builder's slots of a rule into its template's copy at `start` (their kinds `ids`, at
 * `start + offsets[i]`; `words` as {@link slotWord} made them, `values` for string slots). False
 * when a value is not one its kind writes exactly as the ordinary path would (what was written
 * then means nothing). The values were classified and converted when recorded, so this is a few
 * byte stores per slot: a new process runs it in the interpreter for every rule, and a function
 * that executes many bytecodes per call is sent to V8's optimising compiler during the first
 * 1,000 rules, at a cost larger than what it saves (bench/notes.md).
 */
export function writeSlots(
  b: Uint8Array,
  start: number,
  ids: readonly number[],
  offsets: readonly number[],
  words: readonly SlotWord[],
  values: readonly unknown[],
): boolean {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const at = start + offsets[i];
    if (w < 0) {
      if (w !== STRING_SLOT || !writeStringSlot(ids[i], b, at, values[i])) return false;
    } else if (ids[i] === 0) {
      b[at] = w >> 8;
      b[at + 1] = w & 0xff;
    } else {
      b[at] = w >>> 24;
      b[at + 1] = (w >>> 16) & 0xff;
      b[at + 2] = (w >>> 8) & 0xff;
      b[at + 3] = w & 0xff;
    }
  }
  return true;
}

/** Writes a string slot (IPv6 address, interface name, comment); false when the value is not one it writes exactly. */
export function writeStringSlot(id: number, b: Uint8Array, at: number, v: unknown): boolean {
  if (typeof v !== 'string') return false;
  if (id === 2) {
    // IPv6: rarer than IPv4, one Buffer is fine
    if (!V6_PLAIN.test(v)) return false;
    let bytes: Buffer;
    try {
      bytes = parseIp(v, 'address', 6).bytes;
    } catch {
      return false;
    }
    b.set(bytes, at);
    return true;
  }
  if (id === 4) {
    if (!IFNAME_PLAIN.test(v)) return false;
    for (let k = 0; k < 16; k++) b[at + k] = k < v.length ? v.charCodeAt(k) : 0;
    return true;
  }
  if (id !== 5 || !isPlainComment(v)) return false;
  for (let k = 0; k < v.length; k++) b[at + k] = v.charCodeAt(k);
  return true;
}

/** One slot's value (making a template): false when it is not one the template writer writes. */
export function writeSlot(kind: SlotKind, b: Uint8Array, at: number, v: unknown): boolean {
  const w = slotWord(kind, v);
  if (w === NOT_SLOT) return false;
  return writeSlots(b, at, [kind.id], [0], [w], [v]);
}

const V6_PLAIN = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const IFNAME_PLAIN = /^[A-Za-z0-9_.-]{1,15}$/;

function swapChars(v: unknown): string {
  let out = '';
  for (const c of v as string) out += c === 'a' ? 'b' : 'a';
  return out;
}

/** A comment the COMMENT slot writes: 1-128 characters of printable ASCII but '"'. */
export function isPlainComment(v: string): boolean {
  if (v.length === 0 || v.length > 128) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34) return false;
  }
  return true;
}

/**
 * A constant in a shape key: strings with their length (no two values give one key), numbers,
 * booleans, undefined; undefined for anything else (the rule then has no shape).
 */
export function literal(v: unknown): string | undefined {
  if (typeof v === 'string') return `s${v.length}:${v}`;
  if (typeof v === 'number') return `n${v};`;
  if (v === undefined) return 'u';
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  return undefined;
}

/** Shape keys by the key before a step and the step's part: a rule's key is then a string made before, whose hash V8 has kept. */
const JOINED = new Map<string, Map<string, string>>();
let joinedKeys = 0;
/** Bounds {@link JOINED} for callers whose keys never repeat (constants in keys); cleared when full. */
const MAX_JOINED = 4096;

/**
 * `prefix + part + ';'`, the same string for the same two: the template lookup of every rule then
 * hashes no new string (a new process built and hashed a ~50-character key per rule, interpreted).
 */
export function joinKey(prefix: string, part: string): string {
  let next = JOINED.get(prefix);
  let key = next?.get(part);
  if (key !== undefined) return key;
  // The bound is checked for every new key, not only a new prefix: new parts under a known prefix
  // (a named set or a constant per rule, after the same first steps) must not grow the map for ever.
  if (joinedKeys >= MAX_JOINED) {
    JOINED.clear();
    joinedKeys = 0;
    next = undefined;
  }
  if (next === undefined) JOINED.set(prefix, (next = new Map<string, string>()));
  key = prefix + part + ';';
  next.set(part, key);
  joinedKeys++;
  return key;
}

/** @internal for tests: how many joined keys {@link JOINED} holds (at most 4,096). */
export function joinedKeyCount(): number {
  let n = 0;
  for (const m of JOINED.values()) n += m.size;
  return n;
}

/** The slot kind of the values of a field, by field name (fields whose values vary from rule to rule). */
const FIELD_SLOTS: Record<string, SlotKind | undefined> = {
  'tcp sport': PORT,
  'tcp dport': PORT,
  'udp sport': PORT,
  'udp dport': PORT,
  'sctp sport': PORT,
  'sctp dport': PORT,
  'th sport': PORT,
  'th dport': PORT,
  'ip saddr': IPV4,
  'ip daddr': IPV4,
  'ip6 saddr': IPV6,
  'ip6 daddr': IPV6,
  'meta mark': MARK,
  mark: MARK,
  'ct mark': MARK,
  'meta iifname': IFNAME,
  iifname: IFNAME,
  'meta oifname': IFNAME,
  oifname: IFNAME,
};

/** The slot kind of a field's values (before looking at a value). */
export function fieldSlotKind(field: string): SlotKind | undefined {
  return Object.hasOwn(FIELD_SLOTS, field) ? FIELD_SLOTS[field] : undefined;
}

/** An address a NAT statement translates to: its IPv4 word, STRING_SLOT for IPv6, or NOT_SLOT (a range, a constant). */
export function addressWord(v: unknown): SlotWord {
  const word = slotWord(IPV4, v);
  if (word !== NOT_SLOT) return word;
  return slotWord(IPV6, v);
}

/** A match value: its key part, slot kind and word, unwrapped from `not()`; undefined when it makes the rule shapeless. */
export function matchValueShape(
  field: string,
  value: unknown,
): { part: string; kind?: SlotKind; word: SlotWord; negated: boolean; inner: unknown } | undefined {
  const negated = value instanceof Negated;
  const inner: unknown = negated ? value.value : value;
  const kind = fieldSlotKind(field);
  const word = kind === undefined ? NOT_SLOT : slotWord(kind, inner);
  if (kind !== undefined && word !== NOT_SLOT) return { part: (negated ? '!$' : '$') + kind.code, kind, word, negated, inner };
  const l = literal(inner);
  if (l === undefined || inner === undefined) return undefined;
  return { part: (negated ? '!' : '') + l, word, negated, inner };
}
