/**
 * Errors of the networks layer.
 * @module
 */
import { NlkitError } from '../netlink/errors';

/** A failed step of a multi-step operation; everything done before it was undone. */
export class NetworkOperationError extends NlkitError {
  override name = 'NetworkOperationError';
  constructor(
    readonly operation: string,
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${operation}: step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)} (rolled back)`);
  }
}
