/**
 * Delegated IPAM: when `ipam.type` names an IPAM plugin (host-local, dhcp,
 * static...), the CNI protocol is to run that binary with the same
 * environment and configuration. lib/ never spawns a process, so the
 * entry point supplies the runner (bin/nlkit-cni-exec.js); this module
 * only speaks the protocol: what to send, and what the answer means.
 * @module
 */
import { CniCode, CniError } from './errors';
import type { CniRoute } from './config';
import type { CniIp } from './result';

/** What running a plugin produced. */
export interface PluginRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the plugin binary `type` (found in CNI_PATH) for `command`, with the
 * caller's CNI_* environment (CNI_COMMAND replaced) and `stdin`.
 */
export type PluginRunner = (type: string, command: string, stdin: string) => Promise<PluginRun>;

/** What an IPAM plugin hands back on ADD. */
export interface IpamResult {
  ips: CniIp[];
  routes: CniRoute[];
  dns?: unknown;
}

/** Runs the delegated IPAM plugin; its error (exit status not 0) becomes the plugin's error, code and message kept. */
export async function runIpam(runner: PluginRunner | undefined, type: string, command: string, stdin: string): Promise<Record<string, unknown> | undefined> {
  if (!runner) throw new CniError(CniCode.invalidConfig, `ipam.type ${type}: delegating to an IPAM plugin needs the nlkit-cni executable`);
  let run: PluginRun;
  try {
    run = await runner(type, command, stdin);
  } catch (e) {
    throw new CniError(CniCode.delegateFailed, `IPAM plugin ${type} could not run`, (e as Error).message);
  }
  const out = parseJson(run.stdout);
  if (run.exitCode !== 0) {
    if (typeof out?.code === 'number' && typeof out.msg === 'string') {
      throw new CniError(out.code, `IPAM plugin ${type}: ${out.msg}`, typeof out.details === 'string' ? out.details : undefined);
    }
    throw new CniError(CniCode.delegateFailed, `IPAM plugin ${type} failed (exit ${String(run.exitCode)})`, run.stderr.trim() || run.stdout.trim());
  }
  return out;
}

/** The addresses, routes and DNS of an IPAM plugin's ADD result (any version). */
export function ipamResult(out: Record<string, unknown> | undefined, type: string): IpamResult {
  const ips = out?.ips;
  if (!Array.isArray(ips) || ips.length === 0) throw new CniError(CniCode.delegateFailed, `IPAM plugin ${type} returned no addresses`, JSON.stringify(out));
  return {
    ips: (ips as CniIp[]).map((ip) => ({ address: ip.address, ...(ip.gateway !== undefined && { gateway: ip.gateway }) })),
    routes: Array.isArray(out?.routes) ? (out.routes as CniRoute[]) : [],
    dns: out?.dns,
  };
}

function parseJson(s: string): Record<string, unknown> | undefined {
  if (s.trim() === '') return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
