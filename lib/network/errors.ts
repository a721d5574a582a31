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

/**
 * A port was to be published to a container of an `internal` network (or
 * the backends of a publication an earlier nlkit recorded on one were to be
 * changed). Nothing from outside reaches an internal network's containers,
 * its published ports included (as Docker publishes nothing for them):
 * refused before anything was read or changed. Publish on a network that is
 * not internal (attach the sandbox to one as well); a publication an
 * earlier nlkit made on an internal network is `publication-internal` drift,
 * which `reconcile()` removes (or `unpublish()` it).
 * @example
 * try {
 *   await nets.publish({ network: 'db', hostPort: 5432, to: 'pg' }); // db was created with internal: true
 * } catch (e) {
 *   if (!(e instanceof InternalNetworkPublishError)) throw e;
 *   console.error(e.network, e.message); // publish on a network that is not internal instead
 * }
 */
export class InternalNetworkPublishError extends NlkitError {
  /** Always "InternalNetworkPublishError". */
  override name = 'InternalNetworkPublishError';
  /** The option that decides (as ValidationError's `field`). */
  readonly field = 'network';
  /**
   * @param operation what was refused ("publish tcp:*:8080")
   * @param network the internal network
   */
  constructor(
    readonly operation: string,
    readonly network: string,
  ) {
    super(
      `${operation}: network ${network} is internal: nothing from outside reaches its containers, published ports included; ` +
        'nothing was changed (publish on a network that is not internal)',
    );
  }
}

/**
 * A network's bridge name reaches a link that is not nlkit's bridge of that
 * network: nlkit's bridge was deleted and another link took the name (a
 * bridge made with `ip link add <name> type bridge`, another network's or
 * runtime's bridge, a link of another kind, one carrying the name as an
 * altname). An attach never makes a sandbox's veth a port of it (the
 * sandbox would join someone else's segment, with a gateway it cannot
 * reach); the attach was rolled back. Delete or rename that link, then
 * `reconcile()` makes the network's bridge again.
 * @example
 * try {
 *   await nets.attach('web', { sandbox: 'c1', create: true });
 * } catch (e) {
 *   if (!(e instanceof ForeignBridgeError)) throw e;
 *   console.error(e.reason); // e.g. "nlk-web (index 7) is an unmarked bridge with MAC …"
 *   // remove that link (`ip link del nlk-web`), then `await nets.reconcile()` and attach again
 * }
 */
export class ForeignBridgeError extends NlkitError {
  /** Always "ForeignBridgeError". */
  override name = 'ForeignBridgeError';
  /**
   * @param operation what was refused ("attach c1 to web")
   * @param network the network whose bridge name was looked up
   * @param bridge that name
   * @param reason what the link under the name is, and why it is not the network's bridge
   */
  constructor(
    readonly operation: string,
    readonly network: string,
    readonly bridge: string,
    readonly reason: string,
  ) {
    super(
      `${operation}: ${bridge}, network ${network}'s bridge name, reaches a link that is not nlkit's bridge of it (${reason}); ` +
        `nlkit makes no port on it: delete or rename that link, then reconcile() makes the network's bridge again`,
    );
  }
}

/**
 * A file of the networks' state directory (`state.json`, `state.journal`, a
 * journal of the intent directory `intents/`, a lease file in `ipam/`), or
 * of the services' (a record `services/records/<name>.json`, a journal in
 * `services/intents/`), that nlkit cannot read as
 * state: not JSON, or JSON of the wrong shape (a field missing or of the
 * wrong type, a record filed under another name). nlkit never reads such a
 * file as empty: that would make `reconcile()` forget the networks or
 * services it records, or delete them (their bridges, their dispatch
 * elements) as leftovers. Every call that reads the state
 * (`list()`, `check()`, `reconcile()`, `attach()`, `apply()`, ...) throws it before
 * changing anything. Restore the file from a backup or repair it by hand
 * (`path` and `reason` say where and what); a line a writer was killed in
 * the middle of, at the end of a journal, is not corruption and is ignored.
 * @example
 * try {
 *   await nets.reconcile();
 * } catch (e) {
 *   if (!(e instanceof CorruptStateError)) throw e;
 *   console.error(e.path, e.reason); // e.g. ".../state.json" "networks.web.subnet is not a string"
 * }
 */
export class CorruptStateError extends NlkitError {
  /** Always "CorruptStateError". */
  override name = 'CorruptStateError';
  /**
   * @param path the file that cannot be read as state
   * @param reason what is wrong in it (with the line number for a journal)
   */
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`corrupt state: ${path}: ${reason}; nothing was changed (repair or restore the file: nlkit does not read it as empty)`);
  }
}
