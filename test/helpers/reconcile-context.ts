// A ReconcileContext for unit tests of check()/reconcile(): a fake host handle, the state it reads (asked at
// each call, so a test may change it mid-check), the leftovers its findLeftovers reports; no firewall drift, no
// leases, no intents, tag 0badcafe.
import type { Drift, ReconcileContext } from '../../lib/network/reconcile';
import type { HostState } from '../../lib/network/state';
import type { Link } from '../../lib/rtnetlink/link-types';

export function fakeReconcileContext(host: unknown, state: () => HostState, leftovers: (links: Link[]) => Drift[] = () => []): ReconcileContext {
  return {
    // A fake host without routes has none (check() dumps them once: the bridges' connected routes).
    host: { routes: { list: async () => [] }, ...(host as object) } as ReconcileContext['host'],
    tag: '0badcafe',
    state: async () => state(),
    rebuildNetwork: async () => undefined,
    dropPublication: async () => undefined,
    reattach: async () => undefined,
    forget: async () => undefined,
    checkFirewall: async () => [],
    repairFirewall: async () => undefined,
    findLeftovers: (_st, links) => leftovers(links),
    interrupted: () => [],
    inFlightVeths: () => new Set(),
    recoverInterrupted: async () => [],
    checkLeases: async () => [],
    releaseLeases: async () => undefined,
  };
}

/** The process warnings emitted while `fn` runs (and in the turn after it, when Node delivers them). */
export async function warningsDuring(fn: () => Promise<unknown>): Promise<Error[]> {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  return warnings;
}
