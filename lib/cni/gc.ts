/**
 * GC (CNI 1.1): the runtime names the attachments it still knows
 * (`cni.dev/valid-attachments`); every other attachment of the network goes,
 * with its lease, veth and published ports, in one bulk detach. Then
 * nlkit's reconcile finishes what crashed calls left halfway and releases
 * leaked leases.
 * @module
 */
import type { CniCall } from './call';
import { isDelegated } from './config';
import { runIpam } from './delegate';
import { CniCode, CniError, toCniError } from './errors';
import { attachmentId, networkName, openManager } from './network';

/** Runs GC; resolves to how many attachments were removed. */
export async function gc(call: CniCall): Promise<number> {
  const { conf } = call;
  const valid = conf.validAttachments;
  if (!Array.isArray(valid)) throw new CniError(CniCode.invalidConfig, 'GC needs cni.dev/valid-attachments (a list of { containerID, ifname })');
  const keep = new Set(valid.map((v) => attachmentId(v.containerID, v.ifname)));
  const name = networkName(conf.name);
  const nets = await openManager(conf);
  let removed = 0;
  try {
    const net = await nets.find(name);
    if (net) {
      const stale = net.attachments.filter((a) => !keep.has(a.id)).map((a) => ({ id: a.id }));
      if (stale.length > 0) removed = await nets.detach(name, stale, { missingOk: true });
    }
    await nets.reconcile();
  } finally {
    nets.close();
  }
  if (isDelegated(conf.ipam)) {
    try {
      await runIpam(call.runPlugin, conf.ipam.type ?? '', 'GC', call.stdin);
    } catch (e) {
      const err = toCniError(e);
      // IPAM plugins older than CNI 1.1 do not know GC (their leases are theirs to keep); any other failure is the runtime's to see
      if (err.code !== CniCode.incompatibleVersion && err.code !== CniCode.invalidEnvironment) throw err;
    }
  }
  return removed;
}
