/**
 * Routes in bulk: `h.routes.add(list)`, `replace(list)` and `delete(list)`
 * (see lib/netlink/bulk.ts). The requests are the ones the single calls
 * send, written back to back into one buffer.
 * @module
 */
import { runBulk, type BulkWriter } from '../netlink/bulk';
import { checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import type { Operation } from '../netlink/operation';
import type { NetlinkWriter } from '../netlink/writer';
import * as C from './constants';
import { BulkLinkIndexes } from './bulk-links';
import { checkRef } from './link-ref';
import { simpleRoutesWriter, writeSimpleRoute } from './route-bulk-simple';
import type { RouteOptions } from './route-types';
import { planRoute, ROUTE_MISSING, routeHops, writeRouteMessage, type RoutePlan } from './route-write';

/** A route of a bulk call: its plan and, once known, its links' indexes. */
interface BulkRoute {
  route: RouteOptions;
  plan: RoutePlan;
  dev: number | undefined;
  hopIndexes: number[];
}

const NO_HOPS: number[] = [];

class RouteBulkWriter implements BulkWriter<RouteOptions, BulkRoute> {
  private readonly links = new BulkLinkIndexes();

  constructor(
    private readonly type: number,
    private readonly flags: number,
    private readonly verb: string,
  ) {}

  plan(route: RouteOptions): BulkRoute {
    const plan = planRoute(route);
    // Link names are checked here (the single calls check them when they look them up).
    const dev = plan.linkRef !== undefined ? checkRef(plan.linkRef, 'link') : undefined;
    plan.hopLinks.forEach((l, i) => l !== undefined && checkRef(l, `multipath[${i}].link`));
    return {
      route,
      plan,
      dev: typeof dev === 'number' ? dev : undefined,
      hopIndexes: plan.hopLinks.length ? plan.hopLinks.map((l) => (typeof l === 'number' ? l : 0)) : NO_HOPS,
    };
  }

  prepare(item: BulkRoute): Operation<void> | undefined {
    const { linkRef, hopLinks } = item.plan;
    if (typeof linkRef !== 'string' && !hopLinks.some((l) => typeof l === 'string')) return undefined;
    return this.resolve(item);
  }

  private *resolve(item: BulkRoute): Operation<void> {
    const { linkRef, hopLinks } = item.plan;
    if (typeof linkRef === 'string') item.dev = yield* this.links.index(linkRef);
    for (const [i, l] of hopLinks.entries()) if (typeof l === 'string') item.hopIndexes[i] = yield* this.links.index(l);
  }

  encode(w: NetlinkWriter, { route, plan, dev, hopIndexes }: BulkRoute): void {
    const hops = plan.multipath.length ? routeHops(plan, hopIndexes) : [];
    writeRouteMessage(w, this.type, this.flags, route, plan.dst, plan.routeType, plan.table, plan.gateway, dev, hops, plan.nhid);
  }

  encodeSimple(w: NetlinkWriter, route: RouteOptions): boolean {
    return writeSimpleRoute(w, this.type, this.flags, route);
  }

  allSimple(routes: readonly RouteOptions[]): ((w: NetlinkWriter, index: number) => void) | undefined {
    return simpleRoutesWriter(routes, this.type, this.flags);
  }

  describe(route: RouteOptions): string {
    return `${this.verb} route ${route.dst}${route.gateway ? ' via ' + route.gateway : ''}`;
  }
}

/** add / replace of a list of routes; resolves once all were attempted. */
export function* writeRoutes(type: number, flags: number, routes: readonly RouteOptions[], verb: string): Operation<void> {
  yield* runBulk(routes, new RouteBulkWriter(type, flags, verb), { operation: `${verb} ${routes.length} routes`, argument: 'routes' });
}

/** delete of a list of routes; resolves to how many were removed. */
export function* deleteRoutes(routes: readonly RouteOptions[], opts: DeleteOptions | undefined): Operation<number> {
  const missingOk = checkDeleteOptions(opts);
  return yield* runBulk(routes, new RouteBulkWriter(C.RTM_DELROUTE, 0, 'delete'), {
    operation: `delete ${routes.length} routes`,
    argument: 'routes',
    missing: ROUTE_MISSING,
    missingOk,
  });
}
