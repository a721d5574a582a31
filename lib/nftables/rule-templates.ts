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
import { COMMENT, RULE_ID, isPlainComment, literal, writeSlot, writeSlots, writeStringSlot, type SlotKind, type SlotWord } from './builder/rule-shape';
import type { RuleShape, RuleSteps } from './builder/rule-steps';
import type { NftFamily } from './message';
import { writeNewRule } from './rule';

/** A rule's NEWRULE message and where its values go. */
interface Template {
  bytes: Buffer;
  /** The builder's slots: their kinds (SlotKind.id) and offsets in `bytes`. */
  ids: number[];
  offsets: number[];
  /** Where the comment (when it is a slot, else -1) and NFTA_RULE_ID go. */
  commentAt: number;
  ruleIdAt: number;
}

/** Seen once: the next rule of this shape makes the template. */
const SEEN = 0;
/** What a shape has: a template, none (null: tried once), or seen once. */
type TemplateState = Template | null | typeof SEEN;
/** Shapes by table, chain and placement (a scope), then by comment and builder shape. Shapes that have no template stay too, so they are tried once. */
const scopes = new Map<string, Map<string, TemplateState>>();
let shapeCount = 0;
/** Bumped when the cache is cleared: a scope a transaction kept from before is stale. */
let generation = 0;
/** Bounds the cache for callers whose keys never repeat (comments or names as constants); cleared when full. */
const MAX_SHAPES = 1024;
/** Bounds the scopes (table, chain, placement) the same way: cleared when full. */
const MAX_SCOPES = 1024;
/** Tests turn templates off to compare with the ordinary path, and count the rules written from one. */
let enabled = true;
let written = 0;

/**
 * The templates of the rules of one chain appended (or inserted) to: a transaction keeps the last one,
 * so a rule's lookup is by its builder's shape key only (no key string per rule naming table and chain).
 */
export interface TemplateScope {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly append: boolean;
  readonly generation: number;
  readonly shapes: Map<string, TemplateState>;
}

/** The scope of rules for this table, chain and placement: `last` when it still is, else looked up. */
export function templateScope(last: TemplateScope | undefined, family: NftFamily, table: string, chain: string, append: boolean): TemplateScope | undefined {
  // A JavaScript caller's family may be undefined: `last` is checked on its own first.
  if (last === undefined) return lookUpScope(family, table, chain, append);
  if (last.family === family && last.table === table && last.chain === chain && last.append === append && last.generation === generation) return last;
  return lookUpScope(family, table, chain, append);
}

function lookUpScope(family: NftFamily, table: string, chain: string, append: boolean): TemplateScope | undefined {
  if (typeof family !== 'string' || typeof table !== 'string' || typeof chain !== 'string') return undefined;
  const key = `${family}|${table.length}:${table}|${chain.length}:${chain}|${append ? 'a' : 'i'}`;
  let shapes = scopes.get(key);
  if (shapes === undefined) {
    // Scopes are counted apart from shapes: a chain whose rules have no shape (raw expressions,
    // inline sets) keeps an empty scope, and a daemon making a chain per sandbox meets new ones for ever.
    if (scopes.size >= MAX_SCOPES) forgetAll();
    shapes = new Map<string, TemplateState>();
    scopes.set(key, shapes);
  }
  return { family, table, chain, append, generation, shapes };
}

/** A rule added by a builder, appended or inserted without an anchor: what its template is found by and made from. */
export interface TemplatedRule {
  scope: TemplateScope;
  key: string;
  shape: RuleShape;
  /** The comment's value, when the comment is a slot. */
  comment?: string;
  rule: RuleSteps;
  /** The comment the rule was added with (it overrides the builder's). */
  inputComment?: string;
}

/** The template key of a rule added by a builder in `scope` (its comment, its shape), or undefined when the rule is written the ordinary way only. */
export function templatedRule(scope: TemplateScope, rule: RuleSteps, inputComment: string | undefined): TemplatedRule | undefined {
  const shape = rule.shape();
  if (shape === undefined) return undefined;
  const comment = inputComment ?? shape.comment;
  if (comment === undefined) return { scope, key: shape.key, shape, comment: undefined, rule, inputComment };
  // '#' starts no builder step's key part: a comment's key never equals a shape's.
  const plain = isPlainComment(comment);
  const c = plain ? `C${comment.length}` : literal(comment);
  if (c === undefined) return undefined;
  return { scope, key: `#${c}|${shape.key}`, shape, comment: plain ? comment : undefined, rule, inputComment };
}

/**
 * Writes the rule from its shape's template; false (nothing written) when there is none yet or
 * a value is not one its slot writes (then the ordinary path writes it, or throws its error).
 */
export function writeFromTemplate(w: NetlinkWriter, r: TemplatedRule, ruleId: number): boolean {
  const t = enabled ? r.scope.shapes.get(r.key) : undefined;
  return t ? writeTemplate(w, t, r.shape.words, r.shape.values, r.comment, ruleId) : false;
}

/**
 * {@link writeFromTemplate} for a builder's rule without a comment (the common case), straight from the
 * builder: no shape or TemplatedRule object per rule (a new process runs this for every rule, interpreted).
 */
export function writePlainFromTemplate(w: NetlinkWriter, scope: TemplateScope, rule: RuleSteps, ruleId: number): boolean {
  const key = rule.shapeKey;
  if (key === undefined || rule.text !== undefined || !enabled) return false;
  const t = scope.shapes.get(key);
  return t ? writeTemplate(w, t, rule.slotWords, rule.slotValues, undefined, ruleId) : false;
}

function writeTemplate(
  w: NetlinkWriter,
  t: Template,
  words: readonly SlotWord[],
  values: readonly unknown[],
  comment: string | undefined,
  ruleId: number,
): boolean {
  const start = w.length;
  w.bytes(t.bytes);
  w.messageOffsets.push(start);
  const b = w.view;
  // The builder's values, then the comment's (when it is a slot), then the rule id (a u32, big-endian).
  let ok = writeSlots(b, start, t.ids, t.offsets, words, values);
  if (ok && t.commentAt >= 0) ok = writeStringSlot(COMMENT.id, b, start + t.commentAt, comment);
  if (!ok) {
    w.rewind(start);
    return false;
  }
  const at = start + t.ruleIdAt;
  b[at] = ruleId >>> 24;
  b[at + 1] = (ruleId >>> 16) & 0xff;
  b[at + 2] = (ruleId >>> 8) & 0xff;
  b[at + 3] = ruleId & 0xff;
  written++;
  return true;
}

/**
 * Notes a rule just written the ordinary way (`message`: its NEWRULE message); the second rule of
 * a shape makes its template.
 */
export function learnTemplate(r: TemplatedRule, ruleId: number, message: Uint8Array): void {
  if (!enabled || r.scope.generation !== generation) return;
  const shapes = r.scope.shapes;
  const state = shapes.get(r.key);
  if (state === undefined) {
    if (shapeCount >= MAX_SHAPES) {
      forgetAll();
      return;
    }
    shapes.set(r.key, SEEN);
    shapeCount++;
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
    t = makeTemplate(Buffer.from(message), kinds, values, (v) => encodeWith(r, v), r.shape.kinds.length, r.comment !== undefined);
  } catch {
    t = null; // a probe the ordinary path refused: no template for this shape
  }
  shapes.set(r.key, t);
}

function makeTemplate(
  actual: Buffer,
  kinds: SlotKind[],
  values: unknown[],
  encode: (values: unknown[]) => Buffer | undefined,
  builderSlots: number,
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
      return writeSlot(kinds[i], copy, p, values[i]) && copy.equals(actual) && writeSlot(kinds[i], copy, p, probes[i]) && copy[p] === other[p];
    });
    if (at === undefined) return null;
    claimed.add(at);
    offsets.push(at);
  }
  // All probes written into the template must give exactly the other encoding: nothing else depends on the values.
  const copy = Buffer.from(actual);
  for (let i = 0; i < kinds.length; i++) if (!writeSlot(kinds[i], copy, offsets[i], probes[i])) return null;
  if (!copy.equals(other)) return null;
  return {
    bytes: actual,
    ids: kinds.slice(0, builderSlots).map((k) => k.id),
    offsets: offsets.slice(0, builderSlots),
    commentAt: comment ? offsets[builderSlots] : -1,
    ruleIdAt: offsets[offsets.length - 1],
  };
}

/** The rule's NEWRULE message with these slot values (the builder's, the comment, the rule id); undefined if it is not one message. */
function encodeWith(r: TemplatedRule, values: unknown[]): Buffer | undefined {
  const own = r.shape.values;
  const saved = [...own];
  const n = own.length;
  try {
    for (let i = 0; i < n; i++) own[i] = values[i];
    const { family, table, chain, append } = r.scope;
    const built = r.rule.build(family, { setId: () => 1 });
    if (built.anonymousSets.length || built.devices) return undefined;
    const w = new NetlinkWriter(512);
    const comment = r.comment !== undefined ? (values[n] as string) : (r.inputComment ?? built.comment);
    writeNewRule(w, { family, table, chain, expressions: built.expressions, comment }, { append, ruleId: values[values.length - 1] as number }, 0);
    return w.messageOffsets.length === 1 ? w.finish() : undefined;
  } catch {
    return undefined; // a probe value the ordinary path refuses: no template
  } finally {
    for (let i = 0; i < n; i++) own[i] = saved[i];
  }
}

/** Forgets every scope and template; a scope a transaction kept from before is stale (the generation). */
function forgetAll(): void {
  for (const m of scopes.values()) m.clear();
  scopes.clear();
  shapeCount = 0;
  generation++;
}

/** @internal for tests: how many scopes (table, chain, placement) the cache holds. */
export function ruleTemplateScopes(): number {
  return scopes.size;
}

/** @internal for tests: forgets every template and turns them on or off; returns how many rules were written from one so far. */
export function resetRuleTemplates(on = true): number {
  scopes.clear();
  shapeCount = 0;
  generation++;
  enabled = on;
  return written;
}

/** @internal for tests: how many rules were written from a template so far. */
export function rulesFromTemplates(): number {
  return written;
}
