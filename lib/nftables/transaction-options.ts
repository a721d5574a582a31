/**
 * What the caller hands a {@link Transaction} and what its commit resolves
 * with: rules to add and where, add and commit options, per-command results.
 * @module
 */
import { checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import type { RuleSet } from './anonymous-sets';
import type { RuleBuilder } from './builder/builder';
import type { Chain } from './chain';
import type { Expression } from './expressions/registry';
import type { NftFamily } from './message';
import type { NftObject } from './object';
import type { Rule } from './rule';
import type { NftSet } from './set';
import type { Table } from './table';

/** A rule to add: expressions given directly, or built by a rule builder. */
export interface RuleInput {
  /** Family of the table. */
  family: NftFamily;
  /** Name of the table. */
  table: string;
  /** Name of the chain. */
  chain: string;
  /** Raw expressions (exactly one of `expressions` / `rule`). */
  expressions?: Expression[];
  /** A rule builder (`rule().tcp({ dport: 80 }).accept()`). */
  rule?: RuleBuilder;
  /** Rule comment (`comment "..."`); overrides one set on the builder. */
  comment?: string;
  /** Raw userdata other than the comment. */
  userdata?: Buffer;
  /**
   * With `expressions`: the anonymous sets they refer to (`@__set0`), created
   * again with the rule. A rule listed by `h.nft.ruleset.get()` carries them.
   */
  anonymousSets?: RuleSet[];
}

/** A rule of this transaction, by the command index `addRule`/`insertRule` returned. */
export interface CommandAnchor {
  /** Index returned by `addRule`/`insertRule` of this transaction. */
  command: number;
}

/** Where to put a rule: next to an existing rule (by handle) or one added earlier in this transaction. */
export type RuleAnchor = number | CommandAnchor;

/** Options of {@link Transaction.addTable} and the other `add*` calls. */
export interface AddOptions {
  /** Fail with EEXIST if the object already exists (nft `create`); default: adding is idempotent. */
  exclusive?: boolean;
}

/**
 * The message and verb of a transaction's delete: NFT_MSG_DEL*, or with
 * `{ missingOk: true }` NFT_MSG_DESTROY* (nft `destroy`, kernel 6.3 or newer):
 * deleting what is not there is then no error.
 */
export function deleteCommand<D extends number, X extends number>(
  opts: DeleteOptions | undefined,
  del: D,
  destroy: X,
): { msg: D | X; verb: 'delete' | 'destroy' } {
  return checkDeleteOptions(opts) ? { msg: destroy, verb: 'destroy' } : { msg: del, verb: 'delete' };
}

/** How much of the committed objects to echo back (for their handles). */
export type EchoMode = 'auto' | 'all' | 'objects' | 'none';

/** Options of {@link Transaction.commit}. */
export interface CommitOptions {
  /**
   * Commit only if the ruleset generation is still this one (from
   * `h.nft.generation.get()`); GenerationMismatchError otherwise.
   */
  expectGeneration?: number;
  /**
   * Which new objects the kernel echoes back so their handles can be
   * returned. "auto" (default): everything when it fits the receive budget,
   * else everything but rules, else nothing. "all" refuses (ValidationError)
   * when it does not fit; "objects" skips rules; "none" echoes nothing.
   */
  echo?: EchoMode;
}

/** The outcome of one command. */
export interface CommandResult {
  /** e.g. "add rule inet filter input". */
  description: string;
  /** The kernel-assigned handle of the created object, when it was echoed. */
  handle?: number;
  /** The created object as the kernel echoed it (decoded when first read). */
  object?: Table | Chain | Rule | NftSet | NftObject;
}

/** What {@link Transaction.commit} resolves with. */
export interface CommitResult {
  /** Generation of the ruleset after this commit (when the kernel reported it). */
  generation?: number;
  /** One entry per command, in order. */
  results: CommandResult[];
  /** Whether rules were echoed (false when too many to fit the receive buffer). */
  rulesEchoed: boolean;
}
