/**
 * Transparent interception of a pod's TCP (and UDP) traffic for a sidecar proxy,
 * as Istio's init container sets it up, written by netlink alone: nlkit's
 * table `inet nlkit-sidecar` in the pod's namespace (and in TPROXY mode a
 * policy rule and a local route per family). One interception per
 * namespace: intercept() again replaces it, the previous routing included
 * (recorded in the table's comment); a restarted daemon re-applies its
 * options and gets the same state. check() reports drift made from
 * outside, reconcile() repairs it, remove() leaves the namespace as before.
 * Each of them holds the namespace's interception lock (./lock.ts), so
 * writers in different processes never interleave. An interception is the
 * table it wrote (its handle): once another intercept() has replaced it
 * with other options (routing, ports or exclusions), its check() says so and
 * its reconcile() and remove() leave the namespace to the interception in
 * place.
 * @module
 */
import { open, type Handle } from '../handle';
import type { NetnsRef } from '../netns/namespace';
import { interceptSpec, type InterceptOptions, type InterceptSpec } from './options';
import { checkRouting, removeRouting, repairRouting, type RoutingDrift } from './routing';
import { tableComment, type RoutingSpec } from './layout';
import { DEFAULT_SIDECAR_STATE_DIR, interceptFile, withInterceptLock } from './lock';
import { clearPending, readPending, writePending } from './pending';
import { stepDone } from '../network/fault';
import { checkTable, recordedRouting, removeTable, tableInPlace, writeTable, type TableDrift } from './table';

/** One difference between what an interception needs and the namespace's state. */
export interface InterceptionDrift {
  /** `pending-routing`: policy rules and routes a dead intercept() recorded as being written, and no table records. */
  kind: TableDrift['kind'] | RoutingDrift['kind'] | 'pending-routing';
  /** What is wrong, for people. */
  detail: string;
}

/** An interception in place (see {@link intercept}). */
export class Interception {
  /** @internal */
  constructor(
    private readonly h: Handle,
    /** The pod's namespace. */
    readonly netns: NetnsRef,
    /** The options in normal form. */
    readonly spec: InterceptSpec,
    private readonly stateDir: string,
    /** The handle of the table this interception wrote (a later intercept() writes another). */
    private table: number | undefined,
  ) {}

  /**
   * Every difference between what the interception needs and the kernel:
   * its table, chains and rules (foreign ones included), the policy rules
   * and the local route (TPROXY mode), and `pending-routing`: the routing a
   * killed intercept() of this namespace recorded as being written (in
   * `stateDir`) that is neither this interception's nor the one in place.
   * Once another intercept() has replaced this one with other options (in
   * this process or another), only `table-replaced` (and `pending-routing`).
   * Holds the namespace's interception lock, so a writer still at work is
   * waited for, never taken for a dead one.
   * @example
   * for (const d of await icpt.check()) console.log(d.kind, d.detail);
   */
  async check(): Promise<InterceptionDrift[]> {
    return withInterceptLock(this.stateDir, this.netns, async () => (await this.drift()).drift);
  }

  /** check() with the lock held, and the routings to keep when removing a dead writer's pending one. */
  private async drift(): Promise<{ drift: InterceptionDrift[]; keep: Array<RoutingSpec | undefined> }> {
    const replaced = await this.replaced();
    const keep = [replaced ? undefined : this.spec, await recordedRouting(this.h)];
    const file = this.pendingFile();
    const kept = new Set(keep.flatMap((k) => (k ? [tableComment(k)] : [])));
    const pending = (file ? readPending(file) : [])
      .filter((r) => !kept.has(tableComment(r)))
      .map((r) => ({
        kind: 'pending-routing' as const,
        detail: `a killed intercept() was writing routing "${tableComment(r)}" (${String(file)}): its policy rules and routes are nobody's`,
      }));
    if (replaced) return { drift: [replaced, ...pending], keep };
    const drift = [...(await checkRouting(this.h, this.spec)), ...(await checkTable(this.h, this.spec))].map(({ kind, detail }) => ({ kind, detail }));
    return { drift: [...drift, ...pending], keep };
  }

  /**
   * The pending-routing file of the namespace this interception's handle
   * works in; undefined when its netns reference names another namespace
   * now (that file, like the lock, is that namespace's).
   */
  private pendingFile(): string | undefined {
    const file = interceptFile(this.stateDir, this.netns, 'routing');
    const own = this.h.netns ? interceptFile(this.stateDir, this.h.netns, 'routing') : file;
    return file === own ? file : undefined;
  }

  /**
   * Repairs what check() reports (a dead writer's pending routing removed
   * first, then this interception's routing, then the table in one
   * transaction); returns the drift it found. A `table-replaced` is not
   * repaired (nor pending routing then): the interception in place is
   * another intercept()'s, and writing this one over it would leave that
   * one's routing behind.
   * @example
   * const repaired = await icpt.reconcile(); // [] when nothing had changed
   */
  async reconcile(): Promise<InterceptionDrift[]> {
    return withInterceptLock(this.stateDir, this.netns, async () => {
      const { drift, keep } = await this.drift();
      if (drift.length === 0 || drift[0].kind === 'table-replaced') return drift;
      const file = this.pendingFile();
      // First: a pending routing sharing this one's table takes its local route along, which the repair puts back.
      if (file && drift.some((d) => d.kind === 'pending-routing')) await removeLeftover(this.h, file, keep);
      await repairRouting(this.h, this.spec);
      this.table = await writeTable(this.h, this.spec, true);
      return drift;
    });
  }

  /**
   * Stops intercepting: deletes the table, then the policy rules and the
   * local route; the namespace is as before intercept(). Once another
   * intercept() has replaced this one with other options, nothing is
   * removed (that one is in place, and replacing this one took this one's
   * routing away). Closes the handle.
   * @example
   * await icpt.remove();
   */
  async remove(): Promise<void> {
    try {
      await withInterceptLock(this.stateDir, this.netns, async () => {
        if (await this.replaced()) return;
        await removeTable(this.h);
        stepDone('unintercept');
        await removeRouting(this.h, this.spec);
        stepDone('unintercept');
        const file = this.pendingFile();
        if (file) await removeLeftover(this.h, file, []);
      });
    } finally {
      this.h.close();
    }
  }

  /**
   * Lets go of the namespace without removing anything (the interception stays).
   * @example
   * icpt.close();
   */
  close(): void {
    this.h.close();
  }

  /**
   * A table-replaced drift when another intercept() has replaced this one with other options: the table in place
   * is not the one this interception wrote, and records other policy rules and routes (which removing or
   * re-writing this one would leave behind), or other ports or exclusions (which re-writing this one would undo,
   * and removing it would take away from the interception in place). One with the same routing and the same
   * table is an equal interception (a restarted daemon's, or a second writer's with the same options): this one
   * takes it as its own and acts on it as before.
   */
  private async replaced(): Promise<InterceptionDrift | undefined> {
    const now = await tableInPlace(this.h);
    if (now === undefined || now.handle === this.table) return undefined;
    const sameRouting = now.comment === tableComment(this.spec);
    if (sameRouting && (await checkTable(this.h, this.spec)).length === 0) {
      this.table = now.handle;
      return undefined;
    }
    return {
      kind: 'table-replaced',
      detail: `the interception table in place (handle ${String(now.handle)}) is not the one this interception wrote (handle ${String(this.table)}): another intercept() replaced it, with other ${sameRouting ? 'ports or exclusions' : 'routing'}`,
    };
  }
}

/**
 * Intercepts a pod's TCP traffic for a sidecar proxy: outbound to
 * `outboundPort`, inbound (when given) to `inboundPort`, in REDIRECT or
 * TPROXY mode; UDP too with `udp` (outbound to `udp.outboundPort`, inbound to
 * `udp.inboundPort`); except what `exclude` names (the proxy's own traffic must be
 * excluded by uid, gid or mark, or it loops). Validation happens before
 * anything is written; routing (TPROXY) is in place before the rules that
 * need it. A failure removes what was written (TPROXY needs `lo` up) or,
 * when it was replacing an interception, restores that one; a failure of
 * that clean-up too is thrown as an AggregateError holding both. Holds the
 * namespace's interception lock (in `stateDir`) throughout: another process
 * intercepting the same pod waits, then replaces this one as a whole.
 * @example
 * const icpt = await intercept({
 *   netns: 'pod1', mode: 'redirect', outboundPort: 15001, inboundPort: 15006,
 *   exclude: { marks: [0x539], inboundPorts: [15021] },
 * });
 * // the proxy: listenTcp({ netns: 'pod1', port: 15001 }, (c) => originalDestination(c) ...)
 * // its upstream: connectTcp({ netns: 'pod1', host, port, mark: 0x539 })
 * // UDP as well: udp: { outboundPort: 15053, inboundPort: 15007, ports: [53] } (listenUdp() sockets)
 */
export async function intercept(opts: InterceptOptions): Promise<Interception> {
  const spec = interceptSpec(opts);
  const stateDir = opts.stateDir ?? DEFAULT_SIDECAR_STATE_DIR;
  return withInterceptLock(stateDir, opts.netns, () => interceptLocked(opts.netns, spec, stateDir));
}

/** intercept() while holding the namespace's lock. */
async function interceptLocked(netns: NetnsRef, spec: InterceptSpec, stateDir: string): Promise<Interception> {
  const h = await open({ netns });
  let previous: RoutingSpec | undefined;
  let table: number | undefined;
  try {
    previous = await recordedRouting(h);
  } catch (e) {
    h.close();
    throw e;
  }
  const pending = interceptFile(stateDir, netns, 'routing');
  try {
    await removeLeftover(h, pending, [spec, previous]);
    writePending(pending, spec); // before the kernel: a crash from here on leaves it for the next writer
    // Replacing an interception: its policy rules and routes go first if they differ.
    if (previous && tableComment(previous) !== tableComment(spec)) {
      await removeRouting(h, previous);
      stepDone('intercept');
    }
    await repairRouting(h, spec);
    stepDone('intercept');
    table = await writeTable(h, spec);
    stepDone('intercept');
  } catch (e) {
    const cleanupErrors = await undoIntercept(h, spec, previous);
    h.close();
    if (cleanupErrors.length) throw new AggregateError([e, ...cleanupErrors], `intercept() failed and so did putting the namespace back: ${String(e)}`);
    clearPending(pending);
    throw e;
  }
  clearPending(pending);
  return new Interception(h, netns, spec, stateDir, table);
}

/**
 * Takes away the routing a dead intercept() recorded as being written and no
 * table records (it died before its table), unless it is one of `keep` (the
 * one wanted now, the one in place); then nothing is pending.
 */
async function removeLeftover(h: Handle, file: string, keep: Array<RoutingSpec | undefined>): Promise<void> {
  const kept = new Set(keep.flatMap((k) => (k ? [tableComment(k)] : [])));
  for (const r of readPending(file)) if (!kept.has(tableComment(r))) await removeRouting(h, r);
  clearPending(file);
}

/**
 * After a failed intercept(): with an interception in place before, it is
 * restored (its table is intact: writeTable commits all or nothing; its
 * routing is written again), as a pod whose sidecar stops intercepting fails
 * open. Without one, half an interception is worse than none (e.g. the local
 * route refused while lo is down): all of it goes. Returns what failed.
 */
async function undoIntercept(h: Handle, spec: InterceptSpec, previous: RoutingSpec | undefined): Promise<unknown[]> {
  const errors: unknown[] = [];
  const attempt = async (step: () => Promise<void>) => {
    try {
      await step();
    } catch (e) {
      errors.push(e);
    }
  };
  if (previous) {
    if (tableComment(previous) !== tableComment(spec)) await attempt(() => removeRouting(h, spec));
    await attempt(() => repairRouting(h, previous));
  } else {
    await attempt(() => removeTable(h));
    await attempt(() => removeRouting(h, spec));
  }
  return errors;
}
