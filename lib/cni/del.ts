/**
 * DEL: removes the container's attachment (its published ports, veth,
 * lease and record) and releases a delegated IPAM plugin's address. Safe to
 * repeat, and without an ADD before it: what is gone is skipped, and a
 * namespace that no longer exists is fine (its veth went with it). Its
 * configuration is read by parseDelConfig: only what identifies the
 * attachment, so DEL after an ADD refused for a bad value succeeds. A
 * delegated IPAM plugin's DEL runs last and its error is reported (the
 * spec's rule for delegates), saying nlkit's part is done.
 * @module
 */
import { attachmentKeys, type CniCall } from './call';
import { isDelegated } from './config';
import { runIpam } from './delegate';
import { CniError, toCniError } from './errors';
import { attachmentId, networkName, openManager } from './network';

/** Runs DEL; resolves when everything of the attachment is gone. */
export async function del(call: CniCall): Promise<void> {
  const { conf } = call;
  const { containerId, ifname } = attachmentKeys(call);
  const nets = await openManager(conf);
  try {
    const name = networkName(conf.name);
    if (await nets.find(name)) await nets.detach(name, { id: attachmentId(containerId, ifname) }, { missingOk: true });
  } finally {
    nets.close();
  }
  if (!isDelegated(conf.ipam)) return;
  // as the reference bridge plugin: nlkit's own part goes first, then the delegate's DEL, whose error is the spec's to
  // pass on (its allocation may remain: success would leak it unseen); the runtime's retry then has only that to do
  try {
    await runIpam(call.runPlugin, conf.ipam.type ?? '', 'DEL', call.stdin);
  } catch (e) {
    const err = toCniError(e);
    const note =
      "nlkit-cni removed the container's attachment (veth, its address, published ports); the IPAM plugin's allocation may remain until its DEL succeeds";
    throw new CniError(err.code, err.message, err.details !== undefined ? `${err.details}; ${note}` : note);
  }
}
