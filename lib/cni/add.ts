/**
 * ADD: the network (created on first use, identical afterwards), the
 * container's attachment with its address (nlkit's IPAM, or the delegated
 * IPAM plugin's), extra routes, published ports and bandwidth limits; the
 * result in the requested version. A failure after the attach undoes it, so
 * a runtime's retry starts clean; a repeated ADD returns the attachment.
 * @module
 */
import * as fs from 'node:fs';
import { open } from '../handle';
import type { Attachment, NetworkManager } from '../network/manager';
import { attachmentKeys, type CniCall } from './call';
import { ipamSubnets, isDelegated, type CniRoute, type NetConf } from './config';
import { ipamResult, runIpam, type IpamResult } from './delegate';
import { resultDns } from './dns';
import { CniCode, CniError, withRollbackFailure } from './errors';
import { checkIpRangesServed } from './ip-ranges';
import { attachmentId, ensureNetwork, networkName, openManager } from './network';
import { checkMappingHosts, checkMappingsFree, checkPortMappings, publishPortMappings, refuseInternalMappings, type CheckedMapping } from './port-mappings';
import { formatResult, type CniResult } from './result';
import { addSandboxRoutes, applyBandwidth, isDefaultRoute, setHairpin } from './sandbox-extras';

/** Runs ADD; resolves to the result object to print. */
export async function add(call: CniCall): Promise<Record<string, unknown>> {
  const { conf, env } = call;
  const { containerId, ifname } = attachmentKeys(call);
  const netns = env.netns ?? '';
  if (conf.prevResult !== undefined) throw new CniError(CniCode.invalidConfig, 'nlkit-cni must be the first plugin of a chain (it got a prevResult)');
  // Everything the configuration asks is checked before anything is done: no lease, no veth, no network for a bad mapping.
  const mappings = checkPortMappings(conf.runtimeConfig.portMappings);
  refuseInternalMappings(conf, mappings);
  // a delegated IPAM plugin reads ipRanges itself
  if (!isDelegated(conf.ipam)) checkIpRangesServed(conf.runtimeConfig.ipRanges, conf.ipam);
  if (!fs.existsSync(netns)) throw new CniError(CniCode.unknownContainer, `network namespace ${netns} does not exist`);
  if (mappings.some((m) => m.hostIp !== undefined)) {
    const host = await open();
    try {
      await checkMappingHosts(host, mappings, familiesOf(conf));
    } finally {
      host.close();
    }
  }
  const nets = await openManager(conf);
  try {
    const id = attachmentId(containerId, ifname);
    // a host port another container publishes is refused before the delegate's lease and the veth (publish checks it again)
    await checkMappingsFree(nets, networkName(conf.name), id, mappings);
    return await attachAndSetUp(call, nets, id, mappings);
  } finally {
    nets.close();
  }
}

/**
 * The delegated IPAM plugin's ADD (if any), the network, the attachment and
 * what ADD sets up beyond it; a failure undoes what was done (the
 * attachment, the delegate's lease), so a runtime's retry starts clean.
 */
async function attachAndSetUp(call: CniCall, nets: NetworkManager, id: string, mappings: CheckedMapping[]): Promise<Record<string, unknown>> {
  const { conf } = call;
  const { ifname } = attachmentKeys(call);
  const netns = call.env.netns ?? '';
  const ipamOut = isDelegated(conf.ipam) ? await runIpam(call.runPlugin, conf.ipam.type ?? '', 'ADD', call.stdin) : undefined;
  try {
    const delegated = ipamOut === undefined ? undefined : ipamResult(ipamOut, conf.ipam.type ?? '');
    const net = await ensureNetwork(nets, conf);
    const wanted = requestedAddresses(call, delegated);
    const att = await nets.attach(net.name, { sandbox: { path: netns }, id, ifname, ...wanted });
    const routes = delegated?.routes ?? conf.ipam.routes ?? [];
    try {
      await addSandboxRoutes(netns, att, routes);
      if (conf.hairpinMode === true) await setHairpin(nets, att);
      await publishPortMappings(nets, net.name, id, mappings);
      if (conf.runtimeConfig.bandwidth) await applyBandwidth(nets, netns, att, conf.runtimeConfig.bandwidth);
    } catch (e) {
      // the runtime retries from a clean state; a detach that fails too leaves veth, lease or ports behind: say so
      const failed = await nets.detach(net.name, { id }, { missingOk: true }).then(
        () => undefined,
        (d: unknown) => d,
      );
      throw failed === undefined ? e : withRollbackFailure(e, 'detach', failed);
    }
    return formatResult(conf.cniVersion, await resultOf(nets, conf, att, netns, routes, delegated));
  } catch (e) {
    // the delegated lease goes back: the runtime's retry must not find it taken
    if (ipamOut === undefined) throw e;
    const failed = await runIpam(call.runPlugin, conf.ipam.type ?? '', 'DEL', call.stdin).then(
      () => undefined,
      (d: unknown) => d,
    );
    throw failed === undefined ? e : withRollbackFailure(e, 'IPAM DEL', failed);
  }
}

/** The address families of the network's subnets; undefined when a delegated IPAM plugin decides them. */
function familiesOf(conf: NetConf): Set<4 | 6> | undefined {
  if (isDelegated(conf.ipam)) return undefined;
  const s = ipamSubnets(conf.ipam);
  return new Set<4 | 6>(s.subnet6 === undefined ? [4] : [4, 6]);
}

/** The addresses to ask nlkit's IPAM for: the delegated plugin's, else the `ips` capability, args.cni.ips or CNI_ARGS IP. */
function requestedAddresses(call: CniCall, delegated: IpamResult | undefined): { ip?: string; ip6?: string; mac?: string } {
  const { conf, env } = call;
  const ips = delegated?.ips.map((i) => i.address) ?? conf.runtimeConfig.ips ?? conf.args?.cni?.ips ?? (env.args.IP ? env.args.IP.split(',') : []);
  const plain = ips.map((a) => a.split('/')[0]);
  const out: { ip?: string; ip6?: string; mac?: string } = {};
  const v4 = plain.find((a) => !a.includes(':'));
  const v6 = plain.find((a) => a.includes(':'));
  if (v4 !== undefined) out.ip = v4;
  if (v6 !== undefined) out.ip6 = v6;
  const mac = conf.runtimeConfig.mac ?? conf.args?.cni?.mac ?? env.args.MAC;
  if (mac !== undefined) out.mac = mac;
  return out;
}

async function resultOf(
  nets: NetworkManager,
  conf: NetConf,
  att: Attachment,
  netns: string,
  routes: CniRoute[],
  delegated: IpamResult | undefined,
): Promise<CniResult> {
  const bridge = await nets.hostHandle.links.get((await nets.get(att.network)).bridge);
  const hostVeth = await nets.hostHandle.links.get(att.hostIfname);
  const ips: CniResult['ips'] = [];
  if (att.ipv4 !== undefined) ips.push({ address: att.ipv4, gateway: att.gateway, interface: 2 });
  if (att.ipv6 !== undefined) ips.push({ address: att.ipv6, ...(att.gateway6 !== undefined && { gateway: att.gateway6 }), interface: 2 });
  const defaults: CniRoute[] = [];
  if (att.defaultRoute) {
    if (att.ipv4 !== undefined) defaults.push({ dst: '0.0.0.0/0', gw: att.gateway });
    if (att.ipv6 !== undefined && att.gateway6 !== undefined) defaults.push({ dst: '::/0', gw: att.gateway6 });
  }
  return {
    interfaces: [
      { name: bridge.name, mac: bridge.mac, mtu: bridge.mtu },
      { name: hostVeth.name, mac: hostVeth.mac, mtu: hostVeth.mtu },
      { name: att.ifname, mac: att.mac, mtu: hostVeth.mtu, sandbox: netns },
    ],
    ips,
    routes: [...defaults, ...routes.filter((r) => !isDefaultRoute(r))],
    dns: resultDns(conf.dns ?? delegated?.dns, conf.runtimeConfig.dns),
  };
}
