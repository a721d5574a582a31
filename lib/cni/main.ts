/**
 * The nlkit-cni plugin: one CNI call from its environment and stdin to what
 * it prints and its exit status. The executable (bin/nlkit-cni.js) is a thin
 * wrapper that supplies the process's environment, stdin and the runner for
 * delegated IPAM plugins.
 * @module
 */
import type { CniCall } from './call';
import { parseConfig, parseDelConfig } from './config';
import type { PluginRunner } from './delegate';
import { parseEnvironment } from './env';
import { errorResult } from './errors';
import { checkVersion, LATEST_VERSION, SUPPORTED_VERSIONS } from './versions';

export type { PluginRun, PluginRunner } from './delegate';

/** What the plugin prints on stdout and the status it exits with. */
export interface CniOutput {
  stdout: string;
  exitCode: number;
}

/** Runs one CNI call. Never throws: failures are the spec's error object and exit status 1. */
export async function runCni(env: NodeJS.ProcessEnv, stdin: string, runPlugin?: PluginRunner): Promise<CniOutput> {
  // errors speak the configuration's version, also those about the configuration itself
  const version = askedVersion(stdin) ?? LATEST_VERSION;
  try {
    const cniEnv = parseEnvironment(env);
    if (cniEnv.command === 'VERSION') return print(versionInfo(stdin));
    // DEL reads only what identifies the attachment: a value ADD refused must not fail the runtime's DEL after it;
    // GC and STATUS read the network's configuration, not an attachment's values
    const conf = cniEnv.command === 'DEL' ? parseDelConfig(stdin) : parseConfig(stdin, cniEnv.command);
    checkVersion(conf.cniVersion, cniEnv.command);
    const call: CniCall = { env: cniEnv, conf, stdin, runPlugin };
    switch (cniEnv.command) {
      // each command loads only what it needs: a plugin is a process per call, and loading is most of its start-up
      case 'ADD':
        return print(await (await import('./add')).add(call));
      case 'DEL':
        await (await import('./del')).del(call);
        break;
      case 'CHECK':
        await (await import('./check')).check(call);
        break;
      case 'GC':
        await (await import('./gc')).gc(call);
        break;
      case 'STATUS':
        await (await import('./status')).status(call);
        break;
    }
    return { stdout: '', exitCode: 0 };
  } catch (e) {
    return { stdout: JSON.stringify(errorResult(version, e)), exitCode: 1 };
  }
}

function print(value: unknown): CniOutput {
  return { stdout: JSON.stringify(value), exitCode: 0 };
}

/** The cniVersion stdin names, if it is JSON naming one. */
function askedVersion(stdin: string): string | undefined {
  try {
    const asked = (JSON.parse(stdin) as { cniVersion?: unknown } | null)?.cniVersion;
    return typeof asked === 'string' ? asked : undefined;
  } catch {
    return undefined; // not JSON (VERSION may come without a configuration): code 6 says so
  }
}

/** VERSION: the versions supported, in the version the caller asked in (if it sent one). */
function versionInfo(stdin: string): Record<string, unknown> {
  const asked = askedVersion(stdin);
  const cniVersion = asked !== undefined && (SUPPORTED_VERSIONS as readonly string[]).includes(asked) ? asked : LATEST_VERSION;
  return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
}
