/**
 * The networks, attachments and published ports recorded on a host, read
 * from its state directory without a netlink socket: what a listing needs
 * (`nlkit net ls`, `ls`, `publications`, `net inspect`). Opening a
 * `NetworkManager` opens a socket in the host namespace first (a
 * worker thread enters it), which a listing of records never uses.
 * Reading is the manager's own: under the state lock, with a state of
 * another host namespace or boot set aside.
 * @internal
 * @module
 */
import { hostIdentity } from './host-identity';
import { findNetwork, listNetworks, type NetworkDetails, type NetworkInfo } from './lifecycle';
import type { NetnsRef } from '../netns/namespace';
import type { Publication } from './publication';
import { listPublications, type PublicationFilter } from './publishing';
import { StateStore } from './state';
import { defaultStateDir } from './state-dir';

/** Which host and state directory: a manager's options (`NetworkManagerOptions`; not imported, manager.ts imports this). */
export interface HostOptions {
  host?: NetnsRef;
  stateDir?: string;
}

/** The state store of a host, as a manager with these options keeps it. */
export function openStateStore(opts: HostOptions): StateStore {
  return new StateStore(opts.stateDir ?? defaultStateDir(opts.host), hostIdentity(opts.host));
}

/** What reading needs of a `NetworkManager`: `list`, `find` and `publications.list`, with the same results. */
export interface NetworkReader {
  list(): Promise<NetworkInfo[]>;
  find(name: string): Promise<NetworkDetails | undefined>;
  readonly publications: { list(filter?: PublicationFilter): Promise<Publication[]> };
}

/**
 * Reads what is recorded for the host of `opts` (a `NetworkManager`'s
 * options). Nothing to close: the state file is opened and closed per read.
 * @internal
 * @example
 * const nets = networkRecords({ host: 'host1' });
 * for (const n of await nets.list()) console.log(n.name, n.subnet);
 */
export function networkRecords(opts: HostOptions): NetworkReader {
  const ctx = { store: openStateStore(opts) };
  return {
    list: () => listNetworks(ctx),
    find: (name) => findNetwork(ctx, name),
    publications: { list: (filter) => listPublications(ctx, filter) },
  };
}
