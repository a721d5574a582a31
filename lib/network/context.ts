/**
 * What the parts of the networks layer (lifecycle, attachments, publishing)
 * share: the host handle, the state store, the firewall, and the lookups
 * every part needs.
 * @module
 */
import type { Handle } from '../handle';
import { ENOENT } from '../netlink/errno';
import { NotFoundError } from '../netlink/errors';
import type { NetworkNamespace } from '../netns/namespace';
import { poolOf } from './address-pool';
import type { Firewall } from './firewall';
import { Ipam } from './ipam';
import { validateNetworkName } from './names';
import { ensureTrustedSubdir } from './state-dir';
import type { NetworkRecord, StateStore } from './state';

/**
 * The manager's parts, handed to each module. Not exported by the package;
 * not marked internal either, because the modules' declarations name it
 * (stripInternal would leave their .d.ts referring to nothing).
 */
export interface NetworkContext {
  /** Handle in the host namespace: bridges, host veths, nftables, conntrack. */
  readonly host: Handle;
  /**
   * The host namespace the manager opened (the host handle's own reference; undefined: the caller's): sysctls
   * are read and set there. Never the host's name, which may since have been deleted or given to another namespace.
   */
  readonly hostRef?: NetworkNamespace;
  readonly store: StateStore;
  readonly firewall: Firewall;
}

/** A NotFoundError for something the networks layer keeps (a network, an attachment, a publication). */
export function notFound(what: string, name: string, operation: string): NotFoundError {
  return new NotFoundError(what, { errno: ENOENT, operation, extack: `${what} ${name} does not exist` });
}

/** The record of a network; NotFoundError if there is none. */
export async function requireNetwork(ctx: NetworkContext, name: string, operation = `get network ${name}`): Promise<NetworkRecord> {
  const rec = (await ctx.store.snapshot()).networks[validateNetworkName(name)] as NetworkRecord | undefined;
  if (!rec) throw notFound('network', name, operation);
  return rec;
}

/** The address management of a network (its lease file under the state directory). */
export function ipamOf(ctx: NetworkContext, rec: NetworkRecord): Ipam {
  const pools = [poolOf(rec.subnet, rec.gateway)];
  if (rec.subnet6) pools.push(poolOf(rec.subnet6, rec.gateway6));
  // The store checked its directory when it opened: only the ipam subdirectory is checked here, once per attach.
  return new Ipam(ensureTrustedSubdir(ctx.store.dir, 'ipam'), rec.name, pools, () => undefined);
}

export { ignoreMissing } from './named-link';
