/**
 * A weighted pick without interval maps: every service port has a fixed
 * number of slots (PICK_SLOTS), shared out among its endpoints by weight; the
 * datapath draws `numgen random mod PICK_SLOTS` and looks the (port number .
 * slot) up in the shared endpoints map. The count never changes, so the
 * port's rule never does: changing endpoints or weights rewrites elements of
 * one hash map.
 * @module
 */
import type { EndpointRecord } from './spec';

/**
 * Slots per service port. 128 gives weights a resolution of 1/128 (a 90/10
 * split is 115/13) and keeps a change of every endpoint of a port at 128
 * deletes and 128 adds in two messages.
 */
export const PICK_SLOTS = 128;

/**
 * How many slots each endpoint gets: proportional to its weight (largest
 * remainder), at least one for every endpoint of weight > 0 while there are
 * slots to give (beyond PICK_SLOTS such endpoints, the last ones get none).
 */
export function slotCounts(eps: ReadonlyArray<Pick<EndpointRecord, 'weight'>>): number[] {
  const total = eps.reduce((n, e) => n + e.weight, 0);
  if (total === 0) return eps.map(() => 0);
  const exact = eps.map((e) => (e.weight * PICK_SLOTS) / total);
  const counts = exact.map(Math.floor);
  let left = PICK_SLOTS - counts.reduce((n, c) => n + c, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    counts[i]++;
    left--;
  }
  // Every endpoint with weight gets a slot, taken from the endpoint with the most (while it has more than one).
  eps.forEach((e, i) => {
    if (e.weight === 0 || counts[i] > 0) return;
    const richest = counts.indexOf(Math.max(...counts));
    if (counts[richest] > 1) {
      counts[richest]--;
      counts[i]++;
    }
  });
  return counts;
}

/** The endpoint (index into `eps`) each slot leads to, in endpoint order; empty when no endpoint has weight. */
export function slotEndpoints(eps: ReadonlyArray<Pick<EndpointRecord, 'weight'>>): number[] {
  return slotCounts(eps).flatMap((n, i) => Array<number>(n).fill(i));
}
