/**
 * CNI errors: the spec's well-known codes, and the translation of nlkit's
 * typed errors into them, so a runtime can tell a bad config (7) from a
 * missing container (3) or a busy lock (11).
 * @module
 */
import { AttachmentConflictError, NetlinkError, NotFoundError, UnsafeStateDirError, ValidationError } from '../netlink/errors';
import { InternalNetworkPublishError, NetworkOperationError } from '../network/errors';

/** The spec's error codes (0-99 are the spec's, 100+ the plugin's own). */
export const CniCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  limitedConnectivity: 51,
  /** nlkit's own: the kernel refused a change (details carry errno and operation). */
  kernelRefused: 100,
  /** nlkit's own: the network's address pool is used up. */
  ipamExhausted: 101,
  /** nlkit's own: another sandbox holds this container's attachment. */
  attachmentConflict: 102,
  /** nlkit's own: a delegated IPAM plugin failed (its error is in details). */
  delegateFailed: 103,
  /** nlkit's own (CHECK): the container's network is not as it was set up. */
  drift: 104,
} as const;

/** An error the plugin reports on stdout as the spec's error object. */
export class CniError extends Error {
  override name = 'CniError';
  constructor(
    readonly code: number,
    msg: string,
    readonly details?: string,
  ) {
    super(msg);
  }
}

/** The spec's error object for `err`, in the shape of the requested version. */
export function errorResult(cniVersion: string, err: unknown): { cniVersion: string; code: number; msg: string; details?: string } {
  const e = toCniError(err);
  return { cniVersion, code: e.code, msg: e.message, ...(e.details !== undefined && { details: e.details }) };
}

/** Maps nlkit's typed errors to CNI codes; anything unexpected is an I/O failure with its message. */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof ValidationError) return new CniError(CniCode.invalidConfig, err.message, `field: ${err.field}`);
  // by name: importing the IPAM module would load the networks layer for every call, VERSION included
  if (err instanceof Error && err.name === 'IpamExhaustedError')
    return new CniError(CniCode.ipamExhausted, err.message, `subnet: ${String((err as { subnet?: string }).subnet)}`);
  // a requested address (runtimeConfig.ips, args, CNI_ARGS IP) another attachment holds: the request is what is wrong
  if (err instanceof Error && err.name === 'AddressInUseError') {
    const { address, owner } = err as Error & { address?: string; owner?: string };
    return new CniError(
      CniCode.invalidConfig,
      `requested address ${String(address)} is already in use by attachment ${String(owner)}`,
      `address: ${String(address)}; owner: ${String(owner)}`,
    );
  }
  // a network made internal by another configuration of the same name: the mappings are what cannot be served
  if (err instanceof InternalNetworkPublishError) return new CniError(CniCode.invalidConfig, err.message, 'field: runtimeConfig.portMappings');
  if (err instanceof AttachmentConflictError) return new CniError(CniCode.attachmentConflict, err.message);
  if (err instanceof UnsafeStateDirError) return new CniError(CniCode.ioFailure, err.message, `path: ${err.path}`);
  if (err instanceof NotFoundError && err.what === 'network namespace') return new CniError(CniCode.unknownContainer, err.message);
  if (err instanceof NetlinkError) return new CniError(CniCode.kernelRefused, err.message, netlinkDetails(err));
  if (err instanceof NetworkOperationError) {
    // a step of attach or detach, rolled back: the kernel's refusal inside it says why
    if (err.cause instanceof NetlinkError) return new CniError(CniCode.kernelRefused, err.message, `step: ${err.step}; ${netlinkDetails(err.cause)}`);
    if (err.cause instanceof ValidationError) return new CniError(CniCode.invalidConfig, err.message, `step: ${err.step}; field: ${err.cause.field}`);
  }
  const sys = err as NodeJS.ErrnoException | undefined;
  if (sys?.code === 'ENOENT' && typeof sys.path === 'string' && sys.path.includes('/ns')) return new CniError(CniCode.unknownContainer, sys.message);
  if (sys?.code === 'EWOULDBLOCK' || sys?.code === 'EAGAIN') return new CniError(CniCode.tryAgainLater, sys.message);
  return new CniError(CniCode.ioFailure, err instanceof Error ? err.message : String(err));
}

/**
 * `err` as a CniError whose details also say that undoing it failed (what
 * stays behind then needs a GC or an operator: it must not go unnoticed).
 */
export function withRollbackFailure(err: unknown, undo: string, undoErr: unknown): CniError {
  const e = toCniError(err);
  const why = toCniError(undoErr);
  const note = `${undo} failed: ${why.message}${why.details !== undefined ? ` (${why.details})` : ''}`;
  return new CniError(e.code, e.message, e.details !== undefined ? `${e.details}; ${note}` : note);
}

function netlinkDetails(err: NetlinkError): string {
  const parts = [`errno: ${err.code}`];
  if (err.operation) parts.push(`operation: ${err.operation}`);
  if (err.extack) parts.push(`extack: ${err.extack}`);
  return parts.join('; ');
}
