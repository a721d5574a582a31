/**
 * The part of the rule builder every step goes through: the recorded steps,
 * and building them into expressions for a family. Matches are added by
 * RuleMatches (rule-matches.ts), statements and verdicts by RuleBuilder.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import type { Expression } from '../expressions/registry';
import type { NftFamily } from '../message';
import { BuildContext, type BuiltRule, type IdAllocator, type Step } from './context';

/** The recorded steps of a rule (the base of RuleBuilder). */
export abstract class RuleSteps {
  private readonly steps: Step[] = [];
  /** The rule's comment. */
  protected text?: string;

  protected add(step: Step): this {
    this.steps.push(step);
    return this;
  }

  /** @internal produces the expressions (and inline sets) for a table of `family`. */
  build(family: NftFamily, ids: IdAllocator): BuiltRule {
    const ctx = new BuildContext(family, ids);
    for (const s of this.steps) s(ctx);
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
    return built.expressions;
  }
}
