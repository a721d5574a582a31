'use strict';
/**
 * One round of the route soak (bench/workloads/soak.js): 1,000 route
 * operations in the mix a routing daemon makes, on /32 routes through one link:
 *   100 adds in flight at once (a burst of events), 50 of them replaced in flight (mtu changed),
 *   350 added in one bulk call (a resync), 25 added one awaited call after another,
 *   every 10th round a dump of the table checked against what should be there,
 *   the 25 deleted one after another, the 350 in one bulk call, the 100 in flight.
 * Every route added is deleted in the same round. Destinations move by 500 per
 * round through 10.64.0.0/12, so the kernel's table sees new keys, not the same
 * 475 again. Route objects are made per round, as a daemon makes them from its input.
 */

const ROUTE_OPS_PER_ROUND = 1000;
const BURST = 100;
const REPLACED = 50;
const SEQUENTIAL = 25;
const BULK = 350;
const PER_ROUND = BURST + SEQUENTIAL + BULK;
const SPACE = 1 << 20;

function dstOf(key) {
  return `10.${64 + (key >> 16)}.${(key >> 8) & 255}.${key & 255}/32`;
}

function routesOf(index, round, from, n, extra) {
  const out = new Array(n);
  const base = round * 500 + from;
  for (let i = 0; i < n; i++) out[i] = { dst: dstOf((base + i) % SPACE), link: index, protocol: 'static', ...extra };
  return out;
}

/** One round: 1,000 operations (adds, replaces, deletes); throws when the kernel's table is not what the round expects. */
async function routeRound(h, index, round) {
  const burst = routesOf(index, round, 0, BURST);
  const sequential = routesOf(index, round, BURST, SEQUENTIAL);
  const bulk = routesOf(index, round, BURST + SEQUENTIAL, BULK);

  await Promise.all(burst.map((r) => h.routes.add(r)));
  await Promise.all(burst.slice(0, REPLACED).map((r) => h.routes.replace({ ...r, mtu: 1400 })));
  await h.routes.add(bulk);
  for (const r of sequential) await h.routes.add(r);
  if (round % 10 === 0) {
    const listed = await h.routes.list({ family: 4, table: 'main', link: index });
    const replaced = listed.filter((r) => r.mtu === 1400).length;
    if (listed.length !== PER_ROUND || replaced !== REPLACED)
      throw new Error(`route round ${round}: ${listed.length} routes listed (${replaced} replaced), expected ${PER_ROUND} (${REPLACED})`);
  }
  for (const r of sequential) await h.routes.delete(r);
  const removed = await h.routes.delete(bulk);
  if (removed !== BULK) throw new Error(`route round ${round}: bulk delete removed ${removed} of ${BULK}`);
  await Promise.all(burst.map((r) => h.routes.delete(r)));
}

/** Routes in `ip -j route show` output. */
function routesIn(json) {
  return JSON.parse(json || '[]').length;
}

if (BURST + REPLACED + 2 * SEQUENTIAL + 2 * BULK + BURST !== ROUTE_OPS_PER_ROUND) throw new Error('route-soak: the round does not add up to 1,000 operations');

module.exports = { routeRound, routesIn, ROUTE_OPS_PER_ROUND };
