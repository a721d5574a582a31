/**
 * reconcile()'s repair of `sandbox-route-shadowed` and `sandbox-rule-shadowed`:
 * what takes a sandbox's traffic away from the network's default route is
 * deleted in the sandbox, as check() reported it, the attachment kept.
 * @module
 */
import { open } from '../handle';
import { openNetnsSync, type NetworkNamespace } from '../netns/namespace';
import { withSandboxLocks } from './sandbox-lock';
import { identityOf, sameNamespace } from './sandbox-identity';
import { gateways, MAIN_TABLE, ourDefaultRoute, rivalRoutes } from './sandbox-default-route';
import { rivalRules } from './sandbox-route-rules';
import type { AttachmentRecord, HostState, NetworkRecord } from './state';

/**
 * Deletes the routes and rules that win over the attachment's default routes (reconcile), as read now in its
 * sandbox, under the attachment's lock: only while it is still the attachment check() saw and its path still the
 * namespace that was attached (never another that took the path). Each is deleted by all it was listed with (a
 * rule by its priority, selectors and action; a route by its table, prefix, metric, type and next hop), so one
 * changed since it was read is not deleted for it; one gone meanwhile is fine. The attachment and its own routes
 * are kept, and the tables the deleted rules looked up too (without the rule they take nothing).
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
      const sb = await open({ netns: ns }); // dumps and deletes: a handle, not attach's one-shot requests
      try {
        const [routes, rules] = [await sb.routes.list({ table: 'all' }), await sb.rules.list()];
        const main = routes.filter((r) => r.tableId === MAIN_TABLE);
        for (const [family, gateway] of gateways(rec, now)) {
          const ours = ourDefaultRoute(main, family, gateway);
          if (!ours) continue;
          // Rules first: they are tried before any route of the main table.
          for (const { rule } of rivalRules(rules, routes, ours, family === 6 ? now.ipv6 : now.ipv4)) await sb.rules.delete(rule, { missingOk: true });
          const rivals = rivalRoutes(main, ours);
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
