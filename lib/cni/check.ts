/**
 * CHECK: the container's attachment exists, has the addresses the previous
 * result reported, and nlkit's drift check finds nothing wrong with it (its
 * veth, addresses and routes inside the sandbox, the bridge, the firewall).
 * @module
 */
import * as fs from 'node:fs';
import { attachmentKeys, type CniCall } from './call';
import { isDelegated } from './config';
import { runIpam } from './delegate';
import { CniCode, CniError } from './errors';
import { attachmentId, networkName, openManager } from './network';
import { resultAddresses } from './result';

/** Runs CHECK; resolves when the attachment is as set up, throws a CniError saying what differs. */
export async function check(call: CniCall): Promise<void> {
  const { conf, env } = call;
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
    checkNamespace(env.netns ?? '', att.sandboxPath, containerId, ifname);
    const reported = resultAddresses(conf.prevResult, ifname);
    const has = [att.ipv4, att.ipv6].filter((a): a is string => a !== undefined);
    for (const address of has) {
      if (!reported.includes(address)) {
        throw new CniError(CniCode.drift, `${ifname} has ${address}, which the previous result does not report`, `prevResult: ${reported.join(', ')}`);
      }
    }
    // and the other way round: an address the runtime was told about must still be the container's
    for (const address of reported) {
      if (!has.includes(address)) {
        throw new CniError(CniCode.drift, `the previous result reports ${address} on ${ifname}, which it does not have`, `has: ${has.join(', ')}`);
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

/** The namespace of a path now (device and inode of its nsfs file), or undefined if nothing is there. */
function nsIdentity(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${String(st.dev)}:${String(st.ino)}`;
  } catch {
    return undefined;
  }
}

/**
 * CNI_NETNS must be the namespace the attachment was made in: the same
 * container id in another namespace has no interface of nlkit's there. By
 * identity, not path: a runtime may name one namespace by two paths. Where
 * the recorded path is gone, nlkit's drift check reports it.
 */
function checkNamespace(netns: string, sandboxPath: string, containerId: string, ifname: string): void {
  const asked = nsIdentity(netns);
  if (asked === undefined) throw new CniError(CniCode.unknownContainer, `network namespace ${netns} does not exist`);
  const recorded = nsIdentity(sandboxPath);
  if (recorded !== undefined && recorded !== asked) {
    throw new CniError(CniCode.unknownContainer, `container ${containerId} has no interface ${ifname} in ${netns}`, `its ${ifname} is in ${sandboxPath}`);
  }
}
