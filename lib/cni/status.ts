/**
 * STATUS (CNI 1.1): whether an ADD could succeed now. Not available (50)
 * when the state directory cannot be used or the network's address pool is
 * used up; nothing to say (ready) otherwise, also before the first ADD.
 * @module
 */
import type { CniCall } from './call';
import { isDelegated } from './config';
import { runIpam } from './delegate';
import { CniCode, CniError, toCniError } from './errors';
import { networkName, openManager } from './network';

/** Addresses an IPv4 subnet can hand out: all but the network, broadcast and gateway addresses. */
function capacity(subnet: string): number {
  const prefix = Number(subnet.split('/')[1]);
  if (prefix >= 31) return 2 ** (32 - prefix) - 1;
  return 2 ** (32 - prefix) - 3;
}

/** Runs STATUS; resolves when the plugin is ready, throws CniError 50 when it is not. */
export async function status(call: CniCall): Promise<void> {
  const { conf } = call;
  let nets;
  try {
    nets = await openManager(conf);
  } catch (e) {
    const err = toCniError(e);
    throw new CniError(CniCode.notAvailable, `state directory unusable: ${err.message}`, err.details);
  }
  try {
    const net = await nets.find(networkName(conf.name));
    if (net && !isDelegated(conf.ipam)) {
      const used = net.attachments.filter((a) => a.ipv4 !== undefined).length;
      if (used >= capacity(net.subnet))
        throw new CniError(CniCode.notAvailable, `network ${conf.name}: no free address left in ${net.subnet}`, `${String(used)} addresses in use`);
    }
  } finally {
    nets.close();
  }
  if (isDelegated(conf.ipam)) {
    try {
      await runIpam(call.runPlugin, conf.ipam.type ?? '', 'STATUS', call.stdin);
    } catch (e) {
      const err = toCniError(e);
      // an IPAM plugin older than CNI 1.1 does not know STATUS: that says nothing about its readiness
      if (err.code !== CniCode.incompatibleVersion && err.code !== CniCode.invalidEnvironment) throw err;
    }
  }
}
