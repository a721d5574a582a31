/**
 * CHECK: the container's attachment exists, has the addresses the previous
 * result reported, and nlkit's drift check finds nothing wrong with it (its
 * veth, addresses and routes inside the sandbox, the bridge, the firewall).
 * @module
 */
import { attachmentKeys, type CniCall } from './call';
import { isDelegated } from './config';
import { runIpam } from './delegate';
import { CniCode, CniError } from './errors';
import { attachmentId, networkName, openManager } from './network';
import { resultAddresses } from './result';

/** Runs CHECK; resolves when the attachment is as set up, throws a CniError saying what differs. */
export async function check(call: CniCall): Promise<void> {
  const { conf } = call;
  const { containerId, ifname } = attachmentKeys(call);
  if (conf.prevResult === undefined) throw new CniError(CniCode.invalidConfig, 'CHECK needs prevResult (the runtime passes the cached ADD result)');
  const name = networkName(conf.name);
  const id = attachmentId(containerId, ifname);
  const nets = await openManager(conf);
  try {
    const net = await nets.find(name);
    if (!net) throw new CniError(CniCode.drift, `network ${conf.name} is not set up on this host`);
    const att = net.attachments.find((a) => a.id === id);
    if (!att) throw new CniError(CniCode.unknownContainer, `container ${containerId} has no interface ${ifname} on network ${conf.name}`);
    const reported = resultAddresses(conf.prevResult);
    for (const address of [att.ipv4, att.ipv6]) {
      if (address !== undefined && !reported.includes(address)) {
        throw new CniError(CniCode.drift, `${ifname} has ${address}, which the previous result does not report`, `prevResult: ${reported.join(', ')}`);
      }
    }
    const drift = (await nets.check()).filter((d) => (d.network === name || d.network === '') && (d.id === undefined || d.id === id));
    if (drift.length > 0) {
      throw new CniError(CniCode.drift, `network ${conf.name} differs from what was set up: ${drift.map((d) => d.kind).join(', ')}`, JSON.stringify(drift));
    }
  } finally {
    nets.close();
  }
  if (isDelegated(conf.ipam)) await runIpam(call.runPlugin, conf.ipam.type ?? '', 'CHECK', call.stdin);
}
