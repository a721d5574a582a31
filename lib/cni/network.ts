/**
 * From a CNI network configuration to nlkit's network: its name, its spec,
 * the attachment id of a (container, interface) and the state directory.
 * @module
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { networks, type NetworkInfo, type NetworkManager, type NetworkSpec } from '../network/manager';
import { ipamSubnets, isDelegated, type NetConf } from './config';

/**
 * The nlkit network of a CNI network name: the name itself when nlkit
 * accepts it (1-32 of a-z, 0-9, "_", "-"), else "cni-" and a hash of it.
 */
export function networkName(cniName: string): string {
  if (/^[a-z0-9][a-z0-9_-]{0,31}$/.test(cniName)) return cniName;
  return `cni-${createHash('sha256').update(cniName).digest('hex').slice(0, 16)}`;
}

/** The attachment id of one container's interface: CNI keys attachments by both. */
export function attachmentId(containerId: string, ifname: string): string {
  return `${containerId}/${ifname}`;
}

/**
 * The network spec of a configuration; the reference bridge's keys keep
 * their meaning (ipMasq default false). Its subnets are the ipam section's,
 * or the `ipRanges` capability's where a delegated plugin has no ranges of its own.
 */
export function networkSpec(conf: NetConf): NetworkSpec {
  // a delegated IPAM plugin given its ranges by the runtime only (Kubernetes' pod CIDR through ipRanges): the network's are those
  const { ipam } = conf;
  const runtimeRanges = isDelegated(ipam) && ipam.subnet === undefined && ipam.ranges === undefined ? conf.runtimeConfig.ipRanges : undefined;
  const subnets = ipamSubnets(runtimeRanges ? { ranges: runtimeRanges } : ipam);
  const spec: NetworkSpec = {
    name: networkName(conf.name),
    subnet: subnets.subnet,
    masquerade: conf.ipMasq === true,
  };
  if (subnets.gateway !== undefined) spec.gateway = subnets.gateway;
  if (subnets.subnet6 !== undefined) spec.subnet6 = subnets.subnet6;
  if (subnets.gateway6 !== undefined) spec.gateway6 = subnets.gateway6;
  if (conf.bridge !== undefined) spec.bridge = conf.bridge;
  if (conf.mtu !== undefined) spec.mtu = conf.mtu;
  if (conf.isolate !== undefined) spec.isolate = conf.isolate;
  if (conf.icc !== undefined) spec.icc = conf.icc;
  if (conf.internal !== undefined) spec.internal = conf.internal;
  if (conf.masqueradeExclude !== undefined) spec.masqueradeExclude = conf.masqueradeExclude;
  return spec;
}

/**
 * The default state directory: one per host namespace, named by its nsfs
 * device and inode, so runtimes in two namespaces never share a state (and
 * the state records the namespace and boot, so a reused inode is detected).
 */
export function defaultStateDir(): string {
  const st = fs.statSync('/proc/thread-self/ns/net');
  return path.join('/run/nlkit/cni', `ns-${String(st.dev)}-${String(st.ino)}`);
}

/** The configuration's state directory, or the default one. */
function stateDirOf(conf: NetConf): string {
  return conf.stateDir ?? defaultStateDir();
}

/** A network manager over the caller's namespace (the runtime's host) and the configuration's state directory. */
export function openManager(conf: NetConf): Promise<NetworkManager> {
  return networks({ stateDir: stateDirOf(conf) });
}

/**
 * Creates the configuration's network, or finds it. A runtime starts
 * containers in parallel, and the first ADDs all create it: nets.create
 * serialises them across processes (its lifecycle lock), the later ones find
 * it, and one that finds a network a dead process left half-built finishes
 * undoing it and builds it anew.
 */
export function ensureNetwork(nets: NetworkManager, conf: NetConf): Promise<NetworkInfo> {
  return nets.create(networkSpec(conf));
}
