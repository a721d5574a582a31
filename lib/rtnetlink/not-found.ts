/**
 * The verb table's "missing" rules for rtnetlink operations: a kernel refusal
 * that means "no such object" becomes a {@link NotFoundError} (keeping the
 * errno), and a delete with `{ missingOk: true }` resolves to `false` instead.
 * See docs/api-conventions.md.
 * @module
 */
import { NetlinkError, NotFoundError } from '../netlink/errors';
import type { Operation } from '../netlink/operation';

/** Which errno codes mean "missing" for an operation, and what is missing then ("ENODEV" → "link"). */
export type MissingCodes = Readonly<Record<string, string>>;

/** Runs `op`; a refusal with one of `codes` is rethrown as a NotFoundError. */
export function* notFoundOn<T>(codes: MissingCodes, op: Operation<T>): Operation<T> {
  try {
    return yield* op;
  } catch (e) {
    if (e instanceof NetlinkError && !(e instanceof NotFoundError) && Object.hasOwn(codes, e.code)) throw NotFoundError.from(codes[e.code], e);
    throw e;
  }
}

/**
 * Runs a delete: `true` once done; when the object (or the link it is on)
 * does not exist, `false` with `missingOk`, else a NotFoundError.
 */
export function* deleting(codes: MissingCodes, op: Operation<unknown>, missingOk: boolean): Operation<boolean> {
  try {
    yield* notFoundOn(codes, op);
    return true;
  } catch (e) {
    if (missingOk && e instanceof NotFoundError) return false;
    throw e;
  }
}
