/**
 * The sandbox side of an attach: links, addresses and routes in the
 * sandbox's namespace without a handle. Each round of requests (those asked
 * in one tick) is one libuv pool job that makes a socket in the namespace,
 * sends them in one sendmsg and reads the acks (lib/netlink/one-shot.ts): the
 * few requests an attach makes there do not pay for a socket object, its
 * event channel and a second job.
 * @module
 */
import type { Handle } from '../handle';
import { bindAsync } from '../netlink/bind';
import { NETLINK_ROUTE } from '../netlink/constants';
import { OneShotConnection } from '../netlink/one-shot';
import type { NetworkNamespace } from '../netns/namespace';
import { addressOps } from '../rtnetlink/address';
import { linkOps } from '../rtnetlink/link';
import { routeOps, type RouteOperations } from '../rtnetlink/route';

/** What attach asks of a sandbox; close() when done (requests not yet sent then fail). */
export interface SandboxOps extends Pick<Handle, 'links' | 'addresses' | 'routes'> {
  close(): void;
}

/** Operations in `ns` (which must stay open until they settle; the connection keeps its own reference). */
export function openSandboxOps(ns: NetworkNamespace): SandboxOps {
  const conn = new OneShotConnection(NETLINK_ROUTE, ns.fd);
  return {
    links: bindAsync(conn, linkOps, { netnsFd: ns.fd }),
    addresses: bindAsync(conn, addressOps),
    routes: bindAsync(conn, routeOps) as unknown as RouteOperations,
    close: () => conn.close(),
  };
}
