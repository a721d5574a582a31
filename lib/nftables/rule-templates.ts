/**
 * Rule templates: a NEWRULE message written by copying the bytes of an
 * earlier rule of the same shape and patching its values in (rule-shape.ts),
 * instead of lowering the builder's steps to expressions and encoding them.
 * A new process runs that lowering and encoding in the interpreter for every
 * rule; a copy and a few byte stores cost a fraction of it (bench/notes.md,
 * "rule-shape templates").
 *
 * How a template is made, the second time a shape is seen (a shape seen once
 * costs one Map entry, nothing more): the rule is encoded the ordinary way,
 * then once more with every value replaced by a probe of the same kind whose
 * every byte differs. Each value must start its own run of differing bytes;
 * the slot writer must reproduce the rule's bytes there, and the template with
 * all probes written in must equal the other encoding exactly. Anything else
 * (a value written twice, a length that changes, two values side by side)
 * leaves the shape without a template: its rules go the ordinary way.
 * @module
 */
import { NetlinkWriter } from '../netlink/writer';
import { COMMENT, RULE_ID, isPlainComment, literal, writeSlot, writeSlots, type SlotKind } from './builder/rule-shape';
import type { RuleShape, RuleSteps } from './builder/rule-steps';
import type { NftFamily } from './message';
import { writeNewRule } from './rule';

/** A rule's NEWRULE message and where its values go: the builder's slots, then the comment's (if any), then NFTA_RULE_ID. */
interface Template {
  bytes: Buffer;
  /** The slots' kinds (SlotKind.id) and offsets in `bytes`, in that order. */
  ids: number[];
  offsets: number[];
  comment: boolean;
}

/** Seen once: the next rule of this shape makes the template. */
const SEEN = 0;
/** Shapes that have no template (null) stay in the cache too, so they are tried once. */
const templates = new Map<string, Template | null | typeof SEEN>();
/** Bounds the cache for callers whose keys never repeat (comments or names as constants); cleared when full. */
const MAX_SHAPES = 1024;
/** Tests turn templates off to compare with the ordinary path, and count the rules written from one. */
let enabled = true;
let written = 0;

/** A rule added by a builder, appended or inserted without an anchor: what its template is found by and made from. */
export interface TemplatedRule {
  key: string;
  shape: RuleShape;
  /** The comment's value, when the comment is a slot. */
  comment?: string;
  input: { family: NftFamily; table: string; chain: string; rule: RuleSteps; comment?: string };
  append: boolean;
}

/**
 * The template key of a rule added by a builder (table, chain, where it goes, its comment, its
 * shape), or undefined when the rule is written the ordinary way only.
 */
export function templatedRule(input: TemplatedRule['input'], append: boolean): TemplatedRule | undefined {
  const { family, table, chain } = input;
  if (typeof family !== 'string' || typeof table !== 'string' || typeof chain !== 'string') return undefined;
  const shape = input.rule.shape();
  if (shape === undefined) return undefined;
  const comment = input.comment ?? shape.comment;
  const plain = comment !== undefined && isPlainComment(comment);
  const c = comment === undefined ? 'u' : plain ? `C${comment.length}` : literal(comment);
  if (c === undefined) return undefined;
  const key = `${family}|${table.length}:${table}|${chain.length}:${chain}|${append ? 'a' : 'i'}|${c}|${shape.key}`;
  return { key, shape, comment: plain ? comment : undefined, input, append };
}

/**
 * Writes the rule from its shape's template; false (nothing written) when there is none yet or
 * a value is not one its slot writes (then the ordinary path writes it, or throws its error).
 */
export function writeFromTemplate(w: NetlinkWriter, r: TemplatedRule, ruleId: number): boolean {
  const t = enabled ? templates.get(r.key) : undefined;
  if (!t) return false;
  const start = w.length;
  w.bytes(t.bytes);
  w.messageOffsets.push(start);
  const b = w.view;
  // The builder's values, then the comment's (when it is a slot), then the rule id.
  const ok = t.comment
    ? writeSlots(b, start, t.ids, t.offsets, r.shape.values, r.comment, ruleId)
    : writeSlots(b, start, t.ids, t.offsets, r.shape.values, ruleId, undefined);
  if (!ok) w.rewind(start);
  else written++;
  return ok;
}

/**
 * Notes a rule just written the ordinary way (`message`: its NEWRULE message); the second rule of
 * a shape makes its template. `encode` writes the rule's message with the given slot values (the
 * builder's, then the comment, then the rule id), or undefined if it cannot.
 */
export function learnTemplate(r: TemplatedRule, ruleId: number, message: Uint8Array): void {
  const state = templates.get(r.key);
  if (!enabled) return;
  if (state === undefined) {
    if (templates.size >= MAX_SHAPES) templates.clear();
    templates.set(r.key, SEEN);
    return;
  }
  if (state !== SEEN) return;
  const kinds = [...r.shape.kinds];
  const values = [...r.shape.values];
  if (r.comment !== undefined) {
    kinds.push(COMMENT);
    values.push(r.comment);
  }
  kinds.push(RULE_ID);
  values.push(ruleId);
  let t: Template | null = null;
  try {
    t = makeTemplate(Buffer.from(message), kinds, values, (v) => encodeWith(r, v), r.comment !== undefined);
  } catch {
    t = null; // a probe the ordinary path refused: no template for this shape
  }
  templates.set(r.key, t);
}

function makeTemplate(
  actual: Buffer,
  kinds: SlotKind[],
  values: unknown[],
  encode: (values: unknown[]) => Buffer | undefined,
  comment: boolean,
): Template | null {
  const probes = values.map((v, i) => kinds[i].probe(v));
  const other = encode(probes);
  if (other?.length !== actual.length) return null;
  // Every byte of a probe differs from its value's: each slot starts a run of differing bytes.
  const runs: number[] = [];
  for (let k = 0; k < actual.length; k++) if (actual[k] !== other[k] && (k === 0 || actual[k - 1] === other[k - 1])) runs.push(k);
  if (runs.length !== kinds.length) return null;
  const offsets: number[] = [];
  const claimed = new Set<number>();
  for (let i = 0; i < kinds.length; i++) {
    // The first run where the slot's value is what the rule has and its probe what the other has.
    const at = runs.find((p) => {
      if (claimed.has(p)) return false;
      const copy = Buffer.from(actual);
      return writeSlot(kinds[i].id, copy, p, values[i]) && copy.equals(actual) && writeSlot(kinds[i].id, copy, p, probes[i]) && copy[p] === other[p];
    });
    if (at === undefined) return null;
    claimed.add(at);
    offsets.push(at);
  }
  // All probes written into the template must give exactly the other encoding: nothing else depends on the values.
  const copy = Buffer.from(actual);
  for (let i = 0; i < kinds.length; i++) if (!writeSlot(kinds[i].id, copy, offsets[i], probes[i])) return null;
  if (!copy.equals(other)) return null;
  return { bytes: actual, ids: kinds.map((k) => k.id), offsets, comment };
}

/** The rule's NEWRULE message with these slot values (the builder's, the comment, the rule id); undefined if it is not one message. */
function encodeWith(r: TemplatedRule, values: unknown[]): Buffer | undefined {
  const own = r.shape.values;
  const saved = [...own];
  const n = own.length;
  try {
    for (let i = 0; i < n; i++) own[i] = values[i];
    const built = r.input.rule.build(r.input.family, { setId: () => 1 });
    if (built.anonymousSets.length || built.devices) return undefined;
    const w = new NetlinkWriter(512);
    const comment = r.comment !== undefined ? (values[n] as string) : (r.input.comment ?? built.comment);
    const { family, table, chain } = r.input;
    writeNewRule(w, { family, table, chain, expressions: built.expressions, comment }, { append: r.append, ruleId: values[values.length - 1] as number }, 0);
    return w.messageOffsets.length === 1 ? w.finish() : undefined;
  } catch {
    return undefined; // a probe value the ordinary path refuses: no template
  } finally {
    for (let i = 0; i < n; i++) own[i] = saved[i];
  }
}

/** @internal for tests: forgets every template and turns them on or off; returns how many rules were written from one so far. */
export function resetRuleTemplates(on = true): number {
  templates.clear();
  enabled = on;
  return written;
}

/** @internal for tests: how many rules were written from a template so far. */
export function rulesFromTemplates(): number {
  return written;
}
