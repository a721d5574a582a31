/**
 * The part of the rule builder every step goes through: the recorded steps,
 * and building them into expressions for a family. Matches are added by
 * RuleMatches (rule-matches.ts), statements and verdicts by RuleBuilder.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { unshared, type Expression } from '../expressions/registry';
import type { NftFamily } from '../message';
import { BuildContext, type BuiltRule, type IdAllocator, type Step } from './context';
import { joinKey, type SlotKind, type SlotWord } from './rule-shape';

/** What a rule's bytes depend on (rule-shape.ts): the shape key, and the values that vary, by slot. */
export interface RuleShape {
  key: string;
  kinds: readonly SlotKind[];
  /** The builder's own array: its steps read it when they run (changed only to find where values land). */
  values: unknown[];
  /** The values as the template writer takes them (rule-shape.ts, SlotWord), worked out when recorded. */
  words: readonly SlotWord[];
  comment?: string;
}

/** The recorded steps of a rule (the base of RuleBuilder). */
export abstract class RuleSteps {
  private readonly steps: Step[] = [];
  /** @internal the rule's comment. */
  text?: string;
  /** @internal the shape key so far (rule-shape.ts); undefined once a step without one was recorded. */
  shapeKey: string | undefined = '';
  private readonly slotKinds: SlotKind[] = [];
  /** @internal values of the slots; shaped steps read them from here when they run. */
  readonly slotValues: unknown[] = [];
  /** @internal the slots' values as the template writer takes them (rule-shape.ts, SlotWord). */
  readonly slotWords: SlotWord[] = [];

  /** Records a step whose bytes are not described by a shape: rules using it are encoded the ordinary way. */
  protected add(step: Step): this {
    this.steps.push(step);
    this.shapeKey = undefined;
    return this;
  }

  /** Records a step whose bytes depend only on `part` (its constants and slot kinds) and its slots' values. */
  protected shaped(part: string, step: Step): this {
    this.steps.push(step);
    if (this.shapeKey !== undefined) this.shapeKey = joinKey(this.shapeKey, part);
    return this;
  }

  /** Puts a value in a new slot (`word`: as slotWord() converted it); returns its index in `slotValues`. */
  protected slot(kind: SlotKind, value: unknown, word: SlotWord): number {
    this.slotKinds.push(kind);
    this.slotWords.push(word);
    return this.slotValues.push(value) - 1;
  }

  /** @internal the rule's shape, when every step recorded one (rule-templates.ts). */
  shape(): RuleShape | undefined {
    if (this.shapeKey === undefined) return undefined;
    return { key: this.shapeKey, kinds: this.slotKinds, values: this.slotValues, words: this.slotWords, comment: this.text };
  }

  /** @internal produces the expressions (and inline sets) for a table of `family`. */
  build(family: NftFamily, ids: IdAllocator): BuiltRule {
    const ctx = new BuildContext(family, ids);
    // eslint-disable-next-line @typescript-eslint/prefer-for-of -- runs unoptimised in a new process, where for-of allocates per step
    for (let i = 0; i < this.steps.length; i++) this.steps[i](ctx);
    ctx.checkComplete();
    const out: BuiltRule = { expressions: ctx.exprs, anonymousSets: ctx.sets };
    if (this.text !== undefined) out.comment = this.text;
    if (ctx.devices.length) out.devices = ctx.devices;
    return out;
  }

  /**
   * Expressions for a family, for inspection or for `expressions:` (inline sets need a transaction).
   * @example
   * rule().tcp({ dport: 22 }).accept().toExpressions('inet')
   */
  toExpressions(family: NftFamily): Expression[] {
    let n = 1;
    const built = this.build(family, { setId: () => n++ });
    if (built.anonymousSets.length)
      throw new ValidationError('rule', 'inline set', 'rules with inline sets must be added through a transaction (rule: builder)');
    const device = built.devices?.at(0);
    if (device)
      throw new ValidationError(device.field, device.name, 'an interface name is resolved at commit: add the rule through a transaction, or give the index');
    // The caller may change what it gets: not the objects every rule shares.
    return built.expressions.map(unshared);
  }
}
