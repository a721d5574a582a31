/**
 * The `portMappings` capability through nlkit's publishing: each mapping is
 * one publication to the attachment (one map element in nlkit's table).
 * Detaching the attachment removes them again (a publication goes with its
 * last backend).
 * @module
 */
import type { NetworkManager } from '../network/manager';
import type { RuntimeConfig } from './config';
import { CniCode, CniError } from './errors';

/** "" and the unspecified addresses mean every host address. */
function hostIpOf(hostIP: string | undefined): string | undefined {
  return hostIP === undefined || hostIP === '' || hostIP === '0.0.0.0' || hostIP === '::' ? undefined : hostIP;
}

/** Publishes every mapping to the attachment `id`; publishing again what is published changes nothing. */
export async function publishPortMappings(nets: NetworkManager, network: string, id: string, mappings: RuntimeConfig['portMappings']): Promise<void> {
  for (const m of mappings ?? []) {
    const protocol = (m.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      throw new CniError(CniCode.unsupportedField, `unsupported field runtimeConfig.portMappings: protocol ${m.protocol ?? ''}`, 'nlkit publishes tcp and udp');
    }
    await nets.publish({
      network,
      protocol,
      hostPort: m.hostPort,
      containerPort: m.containerPort,
      hostIp: hostIpOf(m.hostIP),
      to: id,
      // runtimes (Podman) hold the host port open themselves to reserve it
      onListenerConflict: 'ignore',
    });
  }
}
