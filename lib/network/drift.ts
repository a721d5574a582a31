/**
 * The kinds of drift `check()` reports and `reconcile()` repairs (reconcile.ts), one entry each, with what
 * each means and what reconcile() does about it.
 * @module
 */
/** One difference between the record and the kernel. */
export interface Drift {
  /** The network concerned; "" for what belongs to the host as a whole (nlkit's table, ip_forward). */
  network: string;
  /** The attachment concerned, if any. */
  id?: string;
  kind:
    | 'bridge-missing'
    | 'bridge-down'
    | 'gateway-missing'
    /**
     * The connected route of the network's subnet (IPv4, or IPv6 on a dual-stack network) is gone from the bridge
     * while its gateway address is still there (`ip route del 10.88.0.0/24 dev nlk-web`): the host no longer reaches
     * its sandboxes. reconcile() puts the route back (the bridge and its ports are kept).
     */
    | 'bridge-route-missing'
    /**
     * The bridge's MTU is not the network's configured `mtu` (`ip link set nlk-web mtu 1300`); only for a network
     * created with an `mtu`, with or without ports: the kernel keeps the MTU nlkit sets on its bridge when the last
     * port goes. A bridge an earlier nlkit made is back at 1500 without ports, and reported: reconcile() sets it
     * back (the bridge and its ports are kept), and the kernel keeps it from then on.
     */
    | 'bridge-mtu'
    /**
     * The link under the network's bridge name is not nlkit's bridge of it: a bridge made with `ip` after
     * nlkit's was deleted (unmarked, another MAC), one with another network's or runtime's mark, a link of
     * another kind, a link carrying the name as an altname (no bridge can be made under it meanwhile; a leftover or
     * stray veth of this state directory carrying it is `bridge-missing`: reconcile deletes it first), or, for a
     * network recorded by 0.1.0 (no MAC), an unmarked bridge without the gateway.
     * reconcile() leaves it untouched (no up, no address, no port, no delete), with an NLKIT_FOREIGN_LINK_LEFT
     * warning, and repairs nothing of the network that needs its bridge (its attachments are not re-made):
     * remove or rename that link (then reconcile() makes the bridge anew), or delete the network.
     */
    | 'bridge-foreign'
    | 'sandbox-gone'
    | 'veth-missing'
    | 'sandbox-interface-missing'
    | 'sandbox-address-missing'
    /**
     * The sandbox's default route via the network's gateway is gone (deleted, or replaced by one via another
     * gateway), IPv4 or, on a dual-stack network, IPv6; only for an attachment that carries the default route.
     * reconcile() re-makes the attachment, its default routes with it.
     */
    | 'sandbox-route-missing'
    /**
     * The sandbox's default route via the network's gateway is there but loses to a route of its main table: another
     * default route with a lower metric (`ip -6 route add default via fd00:99::1 metric 1`; nlkit's IPv6 one has 1024,
     * its IPv4 one 0), or one wider than /8 going elsewhere (a VPN's `0.0.0.0/1` + `128.0.0.0/1`): sandbox-default-route.ts.
     * Only for an attachment carrying the default route. reconcile() deletes those routes in place (the attachment is kept).
     */
    | 'sandbox-route-shadowed'
    /**
     * The same route is not reached: a policy rule tried before the main table's takes the sandbox's traffic to a
     * table with a default (or wider than /8) route going elsewhere, or rejects it (`ip rule add from all lookup 100`,
     * `... prohibit`): sandbox-route-rules.ts. reconcile() deletes those rules in place (not their tables).
     */
    | 'sandbox-rule-shadowed'
    /**
     * An end of an attachment's veth pair is administratively down (`ip link set <veth> down`, on the host end or
     * the sandbox's): nothing crosses it, and the kernel dropped the sandbox's routes through it.
     * reconcile() re-makes the attachment (recorded names, MAC and addresses, both ends up, routes).
     */
    | 'veth-down'
    /**
     * Hairpin mode is off on the attachment's bridge port (`ip link set <veth> type bridge_slave hairpin off`):
     * the sandbox no longer reaches its own published ports through the host (the DNATed frame must go back out
     * the port it came in on). reconcile() turns it on again in place (the veth and its connections are kept).
     */
    | 'hairpin-off'
    /**
     * Port isolation is off on a bridge port of an `icc: false` network that isolates its ports (bridge netfilter
     * off in the host namespace, see the guide; `ip link set <veth> type bridge_slave isolated off` or
     * `bridge link set dev <veth> isolated off`): that sandbox and the network's others talk to each other again.
     * reconcile() isolates the port again in place (the veth and its connections are kept). With bridge netfilter
     * on, `icc: false` is a firewall rule instead, whose removal is `firewall-rule-missing`.
     */
    | 'isolation-off'
    /**
     * Port isolation is on on a bridge port of an `icc: false` network while bridge netfilter is on in the host
     * namespace (`sysctl net.bridge.bridge-nf-call-iptables=1`, set or br_netfilter loaded after the sandbox was
     * attached): bridge netfilter hands a published port's DNATed packet straight between two ports of the bridge,
     * which isolation drops, so the network's sandboxes no longer reach each other's published ports through the
     * host (hairpin), silently. With bridge netfilter on, `icc: false` is the firewall rule. reconcile() clears
     * the port's isolation in place (the veth and its connections are kept); the other way round (bridge netfilter
     * turned off) is `isolation-off`.
     */
    | 'isolation-stale'
    /**
     * A port published on an `internal` network, by an nlkit before publishing there was refused
     * (InternalNetworkPublishError): it is a way in from outside, through a host address, to a network nothing
     * from outside may reach. `publication` names it (its key). reconcile() unpublishes it (its map element or
     * rule goes, and its flows are cut), as `unpublish()` does; publish on a network that is not internal instead.
     */
    | 'publication-internal'
    /** A veth with the network's mark in its group that no attachment claims; an unmarked veth or another's link in the group is not reported (reconcile() leaves it, with an NLKIT_FOREIGN_LINK_LEFT warning). */
    | 'stray-veth'
    /** A bridge with nlkit's mark that no recorded network claims (the state was lost). */
    | 'leftover-bridge'
    /** A host veth with nlkit's mark that no attachment claims. */
    | 'leftover-veth'
    | 'firewall-missing'
    /** One of nlkit's base chains has another hook, type, priority or a drop policy. */
    | 'firewall-chain-wrong'
    /** A rule nlkit writes is not in its chain (compared by expressions). */
    | 'firewall-rule-missing'
    /** A rule in one of nlkit's chains that nlkit did not write (the user's chain is never checked). */
    | 'firewall-rule-unexpected'
    /** A published port's map element, or a bridge in nlkit's sets, is missing. */
    | 'firewall-element-missing'
    /** A published port's map element points somewhere else. */
    | 'firewall-element-wrong'
    /** A map or set element no publication or network owns. */
    | 'firewall-element-unexpected'
    /** nlkit's table is there but no network is recorded (the state was lost). */
    | 'firewall-leftover'
    /** A sysctl nlkit needs (ip_forward, IPv6 forwarding, route_localnet of a bridge) has another value. */
    | 'sysctl'
    /** An operation whose process died halfway (from the intent journal): reconcile completes or undoes it. */
    | 'interrupted-attach'
    | 'interrupted-detach'
    | 'interrupted-publish'
    | 'interrupted-unpublish'
    | 'interrupted-create'
    | 'interrupted-delete'
    /** An address lease no attachment holds. */
    | 'leaked-lease';
  /**
   * The host link the drift is about, by its own name: the bridge (`bridge-missing`, `bridge-down`,
   * `gateway-missing`, `bridge-route-missing`, `bridge-mtu`, `leftover-bridge`; for `bridge-foreign`, the bridge's name, which the other link holds)
   * or the host veth (`veth-missing`, `veth-down`, `hairpin-off`, `isolation-off`, `isolation-stale`, `stray-veth`, `leftover-veth`). `reconcile()` acts on this name; `detail`
   * is text for people and may change.
   */
  link?: string;
  /** The publication the drift is about, by its key (`"tcp:*:8080"`, as `Publication.key`): `publication-internal`. */
  publication?: string;
  /** What was found, for people (its wording is not an interface: read `kind`, `id`, `link` and `publication`). */
  detail: string;
}
