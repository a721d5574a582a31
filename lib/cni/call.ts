/**
 * One plugin call: its environment, its configuration (parsed and as the
 * runtime sent it, for a delegated plugin) and how to run another plugin.
 * @module
 */
import type { NetConf } from './config';
import type { PluginRunner } from './delegate';
import type { CniEnvironment } from './env';

export interface CniCall {
  env: CniEnvironment;
  conf: NetConf;
  /** The configuration exactly as read from stdin. */
  stdin: string;
  /** Runs a delegated plugin; absent where processes may not be started. */
  runPlugin?: PluginRunner;
}

/** env.containerId etc. are checked by parseEnvironment for ADD, DEL and CHECK; this narrows them. */
export function attachmentKeys(call: CniCall): { containerId: string; ifname: string } {
  const { containerId, ifname } = call.env;
  if (containerId === undefined || ifname === undefined) throw new Error('CNI_CONTAINERID and CNI_IFNAME are checked for this command');
  return { containerId, ifname };
}
