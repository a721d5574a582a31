/**
 * The default routes of a sandbox whose attachment carries them, as check()
 * and reconcile() see them: the network's (via its gateway, IPv4 and, on a
 * dual-stack network, IPv6) must be there and must win. Another default route
 * of the same family with a lower metric in the sandbox's main table (an
 * admin's `ip -6 route add default via ... metric 1`) takes the traffic
 * elsewhere while the network's route is still listed: `sandbox-route-shadowed`.
 * nlkit's IPv4 default route has metric 0, which nothing undercuts; its IPv6
 * one the kernel's default, 1024.
 * @module
 */
import { open } from '../handle';
import type { Route } from '../rtnetlink/route-types';
import { openNetnsSync, type NetworkNamespace } from '../netns/namespace';
import { withSandboxLocks } from './sandbox-lock';
import { identityOf, sameNamespace } from './sandbox-identity';
import type { AttachmentRecord, HostState, NetworkRecord } from './state';

/** The gateways the attachment's default routes go through, by family (IPv6 follows IPv4: multi-network.ts). */
function gateways(rec: NetworkRecord, att: AttachmentRecord): Array<[4 | 6, string]> {
  const out: Array<[4 | 6, string]> = [[4, rec.gateway]];
  if (att.ipv6 && rec.gateway6) out.push([6, rec.gateway6]);
  return out;
}

/**
 * A default route of the sandbox's main table (routes.list() lists that table) that wins over `ours`; not a
 * source-specific one (IPv6 `from`), which takes only its source's traffic.
 */
function shadows(r: Route, ours: Route): boolean {
  return r !== ours && r.family === ours.family && r.dst === 'default' && r.src === undefined && (r.metric ?? 0) < (ours.metric ?? 0);
}

/** What is wrong with the default routes of an attachment carrying them, read from one dump of the sandbox's routes. */
export function defaultRouteDrift(
  routes: Route[],
  rec: NetworkRecord,
  att: AttachmentRecord,
): Array<{ kind: 'sandbox-route-missing' | 'sandbox-route-shadowed'; detail: string }> {
  const out: Array<{ kind: 'sandbox-route-missing' | 'sandbox-route-shadowed'; detail: string }> = [];
  for (const [family, gateway] of gateways(rec, att)) {
    const v = family === 6 ? 'IPv6 ' : '';
    const ours = routes.find((r) => r.family === family && r.dst === 'default' && r.gateway === gateway);
    if (!ours) {
      out.push({ kind: 'sandbox-route-missing', detail: `no ${v}default route via ${gateway}` });
      continue;
    }
    const rivals = routes.filter((r) => shadows(r, ours));
    if (rivals.length) {
      const what = rivals.map((r) => `${r.gateway ? `via ${r.gateway}` : r.type} dev ${r.linkName ?? r.link ?? '?'} metric ${r.metric ?? 0}`);
      out.push({ kind: 'sandbox-route-shadowed', detail: `${v}default route via ${gateway} (metric ${ours.metric ?? 0}) loses to ${what.join(', ')}` });
    }
  }
  return out;
}

/**
 * Deletes the default routes that win over the attachment's (reconcile), as read now in its sandbox, under the
 * attachment's lock: only while it is still the attachment check() saw and its path still the namespace that
 * was attached (never another that took the path). The attachment and its own routes are kept; a route gone
 * meanwhile is fine.
 */
export async function unshadowDefaultRoutes(
  store: { readonly dir: string; snapshot(): Promise<HostState> },
  rec: NetworkRecord,
  att: AttachmentRecord,
): Promise<void> {
  await withSandboxLocks(store.dir, rec.name, [att.id], async () => {
    const now = ((await store.snapshot()).attachments[rec.name] as Partial<Record<string, AttachmentRecord>> | undefined)?.[att.id];
    if (now?.mac !== att.mac || now.defaultRoute === false) return; // detached, re-made or handed the route over since
    let ns: NetworkNamespace;
    try {
      ns = openNetnsSync({ path: now.sandboxPath });
    } catch {
      return; // gone: the next check() says sandbox-gone
    }
    try {
      if (!sameNamespace(now.sandboxNs, identityOf(ns))) return;
      const sb = await open({ netns: ns }); // a dump and a delete: a handle, not attach's one-shot requests
      try {
        const routes = await sb.routes.list();
        for (const [family, gateway] of gateways(rec, now)) {
          const ours = routes.find((r) => r.family === family && r.dst === 'default' && r.gateway === gateway);
          const rivals = ours ? routes.filter((r) => shadows(r, ours)) : [];
          if (rivals.length) await sb.routes.delete(rivals, { missingOk: true });
        }
      } finally {
        sb.close();
      }
    } finally {
      ns.close();
    }
  });
}
