/**
 * `icc: false` (containers of one network cannot talk to each other) works
 * one of two ways, depending on bridge netfilter in the host namespace:
 * - on (`net.bridge.bridge-nf-call-iptables` = 1, the br_netfilter module):
 *   bridged frames go through the forward hook, where nlkit's rule drops
 *   new connections between two ports of the bridge (as Docker does). Port
 *   isolation must stay off then: bridge netfilter bridges a published
 *   port's DNATed packet straight between the two ports, which isolation
 *   would drop.
 * - off: bridged frames never reach netfilter, so each bridge port is
 *   isolated (IFLA_BRPORT_ISOLATED); published ports are routed through the
 *   bridge device, which is not isolated, and keep working.
 * @module
 */
import type { NetworkNamespace } from '../../netns/namespace';
import { getSysctl } from '../../netns/sysctl';
import type { NetworkRecord } from '../state';

/** Whether bridge netfilter hands bridged IPv4 frames to the inet hooks in the host namespace. */
async function bridgeNetfilterOn(hostRef: NetworkNamespace | undefined): Promise<boolean> {
  const v = await getSysctl(hostRef, 'net/bridge/bridge-nf-call-iptables').catch(() => '0'); // no br_netfilter: no such sysctl
  return v.trim() === '1';
}

/** Whether a new port of the network's bridge gets the isolated flag. */
export async function isolatePorts(hostRef: NetworkNamespace | undefined, rec: NetworkRecord): Promise<boolean> {
  return rec.icc === false && !(await bridgeNetfilterOn(hostRef));
}
