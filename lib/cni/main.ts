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
  // errors speak the configuration's version, also those about the configuration itself; a version nlkit-cni does not
  // speak is answered in its newest (the spec's error carries the protocol version in use, and that one is not)
  const asked = askedVersion(stdin);
  const version = asked !== undefined && isSupported(asked) ? asked : LATEST_VERSION;
  try {
    const cniEnv = parseEnvironment(env);
    if (cniEnv.command === 'VERSION') return print(versionInfo(stdin));
    // an incompatible version is code 1 whatever else the configuration holds: its keys may mean something else there
    const raw = jsonObject(stdin);
    if (raw !== undefined) checkVersion(raw.cniVersion, cniEnv.command);
    // DEL reads only what identifies the attachment: a value ADD refused must not fail the runtime's DEL after it;
    // GC and STATUS read the network's configuration, not an attachment's values
    const conf = cniEnv.command === 'DEL' ? parseDelConfig(stdin) : parseConfig(stdin, cniEnv.command);
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

function isSupported(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** stdin as a JSON object, if it is one (else parsing it says what is wrong: code 6). */
function jsonObject(stdin: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(stdin);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** VERSION: the versions supported, in the version the caller asked in (if it sent one). */
function versionInfo(stdin: string): Record<string, unknown> {
  const asked = askedVersion(stdin);
  const cniVersion = asked !== undefined && isSupported(asked) ? asked : LATEST_VERSION;
  return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
}
