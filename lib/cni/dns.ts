/**
 * The DNS an ADD result reports: the configuration's `dns` (or the
 * delegated IPAM plugin's), with the runtime's `dns` capability laid over
 * it as the reference plugins that declare the capability do (win-bridge,
 * win-overlay): each list the runtime gives, non-empty, replaces the
 * configuration's (`servers` → `nameservers`, `searches` → `search`,
 * `options` → `options`); what it leaves out (`domain`, an empty or null
 * list) stays the configuration's.
 * @module
 */
import type { RuntimeDns } from './runtime-config';
import { isObject } from '../validate/options';

/** The result's `dns`: `base` (as configured, unchecked) with the runtime's lists over it. */
export function resultDns(base: unknown, runtime: RuntimeDns | undefined): unknown {
  if (runtime === undefined) return base;
  const out: Record<string, unknown> = isObject(base) && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
  const over = (list: string[] | null | undefined, key: string) => {
    if (list !== undefined && list !== null && list.length > 0) out[key] = [...list];
  };
  over(runtime.servers, 'nameservers');
  over(runtime.searches, 'search');
  over(runtime.options, 'options');
  return Object.keys(out).length > 0 || base !== undefined ? out : undefined;
}
