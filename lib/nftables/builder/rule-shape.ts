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
 * Writes the values of a rule's slots (kinds `ids`, at `start + offsets[i]`) with byte stores:
 * `values` for the first slots, then `tail1`, then `tail2` (the comment and the rule id, which the
 * builder does not hold). False when a value is not one its kind writes exactly as the ordinary path
 * would (what was written then means nothing). One function for all the slots of a rule, with a
 * case per kind and a regular expression for IPv4 rather than a character loop: a new process runs
 * this in the interpreter for every rule, and small or loop-heavy functions are the ones V8 sends to
 * its optimising compiler during the first 1,000 rules (bench/notes.md).
 */
export function writeSlots(
  b: Uint8Array,
  start: number,
  ids: readonly number[],
  offsets: readonly number[],
  values: readonly unknown[],
  tail1: unknown,
  tail2: unknown,
): boolean {
  const n = values.length;
  for (let i = 0; i < ids.length; i++) {
    const v = i < n ? values[i] : i === n ? tail1 : tail2;
    const at = start + offsets[i];
    const id = ids[i];
    switch (id) {
      case 0: // PORT
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) return false;
        b[at] = v >> 8;
        b[at + 1] = v & 0xff;
        break;
      case 1: {
        // IPV4
        const m = typeof v === 'string' ? V4_EXACT.exec(v) : null;
        if (m === null) return false;
        b[at] = +m[1];
        b[at + 1] = +m[2];
        b[at + 2] = +m[3];
        b[at + 3] = +m[4];
        break;
      }
      case 2: {
        // IPV6
        if (typeof v !== 'string' || !V6_PLAIN.test(v)) return false;
        let bytes: Buffer;
        try {
          bytes = parseIp(v, 'address', 6).bytes;
        } catch {
          return false;
        }
        b.set(bytes, at);
        break;
      }
      case 3: // MARK
      case 6: // RULE_ID
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return false;
        if (id === 3 && HOST_LITTLE_ENDIAN) {
          b[at] = v & 0xff;
          b[at + 1] = (v >>> 8) & 0xff;
          b[at + 2] = (v >>> 16) & 0xff;
          b[at + 3] = v >>> 24;
        } else {
          b[at] = v >>> 24;
          b[at + 1] = (v >>> 16) & 0xff;
          b[at + 2] = (v >>> 8) & 0xff;
          b[at + 3] = v & 0xff;
        }
        break;
      case 4: // IFNAME
        if (typeof v !== 'string' || !IFNAME_PLAIN.test(v)) return false;
        for (let k = 0; k < 16; k++) b[at + k] = k < v.length ? v.charCodeAt(k) : 0;
        break;
      case 5: // COMMENT
        if (typeof v !== 'string' || !isPlainComment(v)) return false;
        for (let k = 0; k < v.length; k++) b[at + k] = v.charCodeAt(k);
        break;
      default:
        return false;
    }
  }
  return true;
}

/** One slot's value (making a template). */
export function writeSlot(id: number, b: Uint8Array, at: number, v: unknown): boolean {
  return writeSlots(b, at, [id], [0], [v], undefined, undefined);
}

const V4_PLAIN = V4_EXACT;
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

/** The slot kind a value takes, or undefined (a constant: it goes into the key). */
export function slotKindOf(kind: SlotKind | undefined, v: unknown): SlotKind | undefined {
  if (kind === undefined) return undefined;
  if (kind === PORT || kind === MARK) return typeof v === 'number' ? kind : undefined;
  if (typeof v !== 'string') return undefined;
  if (kind === IPV4) return V4_PLAIN.test(v) ? kind : undefined;
  if (kind === IPV6) return V6_PLAIN.test(v) ? kind : undefined;
  return IFNAME_PLAIN.test(v) ? kind : undefined;
}

/** The slot kind of a field's values (before looking at a value). */
export function fieldSlotKind(field: string): SlotKind | undefined {
  return Object.hasOwn(FIELD_SLOTS, field) ? FIELD_SLOTS[field] : undefined;
}

/** An address a NAT statement translates to: IPv4 or IPv6 slot, or undefined (a range, a constant). */
export function addressSlotKind(v: unknown): SlotKind | undefined {
  if (typeof v !== 'string') return undefined;
  if (V4_PLAIN.test(v)) return IPV4;
  return V6_PLAIN.test(v) ? IPV6 : undefined;
}

/** A match value: its key part and slot kind, unwrapped from `not()`; undefined when it makes the rule shapeless. */
export function matchValueShape(field: string, value: unknown): { part: string; kind?: SlotKind; negated: boolean; inner: unknown } | undefined {
  const negated = value instanceof Negated;
  const inner: unknown = negated ? value.value : value;
  const kind = slotKindOf(fieldSlotKind(field), inner);
  if (kind) return { part: (negated ? '!$' : '$') + kind.code, kind, negated, inner };
  const l = literal(inner);
  if (l === undefined || inner === undefined) return undefined;
  return { part: (negated ? '!' : '') + l, negated, inner };
}
