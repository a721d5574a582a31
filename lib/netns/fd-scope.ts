/**
 * Namespace fds that a request mentions (IFLA_NET_NS_FD, veth peers) must stay
 * open until the kernel has processed the request; a scope opens them on
 * demand and closes them all afterwards.
 * @module
 */
import { NetworkNamespace, openNetnsSync, type NetnsRef } from './namespace';

export class NetnsFdScope {
  private readonly opened: NetworkNamespace[] = [];

  /** An fd for `ref`, valid until close(). An open NetworkNamespace is used as is. */
  fd(ref: NetnsRef): number {
    if (ref instanceof NetworkNamespace) return ref.fd;
    const ns = openNetnsSync(ref);
    this.opened.push(ns);
    return ns.fd;
  }

  close(): void {
    for (const ns of this.opened.splice(0)) ns.close();
  }
}
