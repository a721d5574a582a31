/**
 * The CNI spec versions nlkit-cni speaks, and which commands each has.
 * @module
 */
import { CniCode, CniError } from './errors';

/** Spec versions this plugin implements, oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The newest version, used for errors when the config names none. */
export const LATEST_VERSION = '1.1.0';

/** "1.0.0" → [1, 0, 0]; anything else is not a version. */
function parts(v: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? m.slice(1).map(Number) : undefined;
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a) ?? [0, 0, 0];
  const pb = parts(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** Refuses a cniVersion the plugin does not implement (code 1), or a command the version does not have. */
export function checkVersion(cniVersion: unknown, command: string): string {
  if (typeof cniVersion !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(CniCode.incompatibleVersion, `incompatible CNI version ${JSON.stringify(cniVersion)}`, `supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if (command === 'CHECK' && compareVersions(cniVersion, '0.4.0') < 0) {
    throw new CniError(CniCode.incompatibleVersion, `CHECK is not part of CNI ${cniVersion}`, 'CHECK needs cniVersion 0.4.0 or newer');
  }
  if ((command === 'STATUS' || command === 'GC') && compareVersions(cniVersion, '1.1.0') < 0) {
    throw new CniError(CniCode.incompatibleVersion, `${command} is not part of CNI ${cniVersion}`, `${command} needs cniVersion 1.1.0`);
  }
  return cniVersion;
}
