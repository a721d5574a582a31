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

/**
 * A host process already listens on a port being published (TCP), or has a
 * socket bound to it (UDP): the publication would take that port's traffic
 * from other machines while the host itself still reached the process.
 * Thrown with `onListenerConflict: 'refuse'` (the default), before anything
 * is changed.
 */
export class PortInUseError extends NlkitError {
  override name = 'PortInUseError';
  /** The option that decides (as ValidationError's `field`). */
  readonly field = 'hostPort';
  constructor(
    readonly protocol: 'tcp' | 'udp',
    readonly hostPort: number,
    /** "127.0.0.1:8080", "*:8080": the sockets found, as `ss` shows them. */
    readonly sockets: string[],
  ) {
    super(
      `${protocol} port ${hostPort} is in use on the host (${sockets.join(', ')}): publishing it would hide that process from other machines but not from the host; ` +
        "stop it, or publish with onListenerConflict: 'warn' or 'ignore'",
    );
  }
}
