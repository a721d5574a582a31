/**
 * Errors of nftables transactions: which command the kernel refused, and
 * the optimistic-concurrency failure when the ruleset changed underneath.
 * @module
 */
import { EBUSY } from '../netlink/errno';
import { NetlinkError, NlkitError, type NetlinkErrorDetails } from '../netlink/errors';

/**
 * The kernel refused one command of a transaction; nothing of the
 * transaction was applied. `command` is the index of the command in the
 * order it was added, `description` says what it was.
 */
export class NftCommandError extends NetlinkError {
  /** Always "NftCommandError". */
  override name = 'NftCommandError';
  /** Index of the failing command within the transaction (0-based). */
  readonly command: number;
  /** e.g. "add rule inet filter input". */
  readonly description: string;
  /** The part of the command the kernel pointed at, e.g. "chain" or "expression #2 (lookup)". */
  readonly attribute?: string;

  constructor(d: NetlinkErrorDetails & { command: number; description: string; attribute?: string }) {
    const where = d.attribute ? `, at ${d.attribute}` : '';
    super({ ...d, commandIndex: d.command, operation: `nftables transaction: command #${d.command} (${d.description}${where})` });
    this.command = d.command;
    this.description = d.description;
    this.attribute = d.attribute;
    // The kernel says only EBUSY when what a delete names is still referenced (a set a rule looks up, a chain jumped to, an object a map holds).
    if (d.errno === EBUSY && !d.extack && /^(delete|destroy) /.test(d.description))
      this.message += ': it is still in use (a rule, a map element or another object refers to it)';
  }
}

/**
 * The transaction asked to commit only on top of a given ruleset generation
 * and the ruleset had changed since (the kernel answered ERESTART). Nothing
 * was applied: re-read the ruleset, rebuild the transaction and commit again.
 */
export class GenerationMismatchError extends NlkitError {
  /** Always "GenerationMismatchError". */
  override name = 'GenerationMismatchError';
  /** Always "ERESTART" (what the kernel answered). */
  readonly code = 'ERESTART';
  /** The generation the transaction expected. */
  readonly expected: number;

  constructor(expected: number) {
    super(`nftables transaction: the ruleset changed since generation ${expected}; nothing was applied (re-read and retry)`);
    this.expected = expected;
  }
}
