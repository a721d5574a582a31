/**
 * Where the DNS responder gets the names it answers: anything that can list
 * the records visible from one network. The network manager's attachments
 * are one source ({@link networkNames}); services can be another.
 * @module
 */
import type { NetworkManager } from '../network/manager';

/** A port a name offers, answered as SRV for "_<service>._<protocol>.<name>". */
export interface NamedPort {
  /** The service label without its underscore: "http", "ldap". */
  service: string;
  protocol: 'tcp' | 'udp';
  port: number;
}

/** One thing with names and addresses, as a {@link NameSource} lists it. */
export interface NameRecord {
  /** Host names, relative to the responder's domain: "web", "db.backend". Several records may share a name (all their addresses are answered). */
  names: readonly string[];
  /** IPv4 address, without a prefix length. */
  ipv4?: string;
  /** IPv6 address, without a prefix length. */
  ipv6?: string;
  /** Ports answered as SRV records. */
  ports?: readonly NamedPort[];
}

/** A source of names: the records visible from a network (by the network's name). */
export interface NameSource {
  /** The records visible from `network`; called again when the responder's cache of them is older than its `cacheMs`. */
  records(network: string): Promise<readonly NameRecord[]> | readonly NameRecord[];
}

/**
 * The attachments of a network manager as a name source: each sandbox under
 * the names it was attached with (`attach({ names })`, default its id),
 * visible only from its own network.
 * @example
 * const responder = await dnsResponder({ manager: nets, networks: ['web'], sources: [networkNames(nets)] });
 */
export function networkNames(manager: NetworkManager): NameSource {
  return {
    async records(network) {
      const details = await manager.find(network);
      return (details?.attachments ?? []).map((a) => ({ names: a.names, ipv4: a.ipv4?.split('/')[0], ipv6: a.ipv6?.split('/')[0] }));
    },
  };
}
