/**
 * Anonymous sets of listed rules (`tcp dport { 22, 80 }` lists as a lookup
 * of `__set0`): which ones a rule uses, and how re-adding the rule elsewhere
 * creates them again. An anonymous set belongs to one rule and is created
 * in the same transaction; its kernel name is allocated anew (the template
 * `__set%d`), so the rule's expressions refer to it by NFTA_SET_ID.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { AnonymousSet, IdAllocator } from './builder/context';
import type { SetElement } from './elements';
import type { Expression } from './expressions/registry';
import type { NftSet } from './set';

/** An anonymous set as a listed rule carries it: its definition and elements. */
export type RuleSet = NftSet & {
  /** The set's elements. */
  elements: SetElement[];
};

/** Expressions that name a set. */
type SetReference = Extract<Expression, { type: 'lookup' | 'dynset' | 'objref' }>;

function setReference(e: Expression): SetReference | undefined {
  return e.type === 'lookup' || e.type === 'dynset' || (e.type === 'objref' && e.set !== undefined) ? e : undefined;
}

/** Whether a set name is one the kernel allocated to an anonymous set. */
export function isAnonymousName(name: string): boolean {
  return /^__(set|map|objmap)\d+$/.test(name);
}

/** The names of the anonymous sets a rule's expressions refer to. */
export function anonymousSetNames(expressions: Expression[]): string[] {
  const out = new Set<string>();
  for (const e of expressions) {
    const ref = setReference(e);
    if (ref?.set !== undefined && isAnonymousName(ref.set)) out.add(ref.set);
  }
  return [...out];
}

/**
 * A listed rule's expressions made ready to add: each anonymous set it
 * refers to is created again (a fresh id, the name template), and the
 * expressions refer to it by that id. A set the rule refers to but that
 * `sets` does not carry is refused: the rule cannot be added without it.
 */
export function recreateAnonymousSets(
  expressions: Expression[],
  sets: RuleSet[] | undefined,
  ids: IdAllocator,
): { expressions: Expression[]; anonymousSets: AnonymousSet[] } {
  const names = anonymousSetNames(expressions);
  if (names.length === 0) return { expressions, anonymousSets: [] };
  const byName = new Map((sets ?? []).map((s) => [s.name, s]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new ValidationError(
      'anonymousSets',
      missing.join(', '),
      'the rule refers to anonymous sets it does not carry: list it with h.nft.ruleset.get() (its rules carry them) or give anonymousSets',
    );
  }
  const created = new Map<string, AnonymousSet>();
  for (const name of names) {
    const { elements, handle: _handle, ...def } = byName.get(name) as RuleSet;
    const template = name.replace(/\d+$/, '%d');
    created.set(name, { set: { ...def, name: template }, id: ids.setId(), elements });
  }
  const rewritten = expressions.map((e) => {
    const ref = setReference(e);
    const a = ref?.set !== undefined ? created.get(ref.set) : undefined;
    return a ? ({ ...e, set: a.set.name, setId: a.id } as Expression) : e;
  });
  return { expressions: rewritten, anonymousSets: [...created.values()] };
}
