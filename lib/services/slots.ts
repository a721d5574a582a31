/**
 * A weighted pick without interval maps: every service port has a number
 * of slots (64, or 256 or 1,024 for ports with more endpoints), shared out
 * among its endpoints by weight; the datapath draws `numgen random mod
 * slots` and looks the slot up in the shared endpoints map. The count
 * changes only when the number of endpoints crosses a tier, so the port's
 * rule does not change with endpoints or weights: such a change rewrites
 * elements of one hash map.
 * @module
 */
import { mapPacked } from './packed';
import type { EndpointRecord } from './spec';

/**
 * Slots per service port (per virtual IP, and for its NodePort), the least
 * tier. 64 gives weights a resolution of 1/64 (a 90/10 split is 58/6, 99/1
 * is 63/1) and keeps a change of every endpoint of a port at 64 deletes and
 * 64 adds: 128 slots measured 0.5 ms more CPU per change (twice the elements).
 */
export const PICK_SLOTS = 64;

/** The slot counts a port can have: the least one that gives each endpoint a slot (beyond 1,024 endpoints, the first 1,024 get one). */
export const SLOT_TIERS = [PICK_SLOTS, 256, 1024] as const;
export type SlotTier = (typeof SLOT_TIERS)[number];

/** The slot count for these endpoints (those with weight count). */
export function slotTier(eps: ReadonlyArray<Pick<EndpointRecord, 'weight'>>): SlotTier {
  const n = eps.filter((e) => e.weight > 0).length;
  return SLOT_TIERS.find((t) => n <= t) ?? SLOT_TIERS[SLOT_TIERS.length - 1];
}

/**
 * How many slots each endpoint gets: proportional to its weight (largest
 * remainder), at least one for every endpoint of weight > 0 while there are
 * slots to give (beyond `slots` such endpoints, the last ones get none).
 */
export function slotCounts(eps: ReadonlyArray<Pick<EndpointRecord, 'weight'>>, slots: number = slotTier(eps)): number[] {
  const total = eps.reduce((n, e) => n + e.weight, 0);
  if (total === 0) return mapPacked(eps, () => 0);
  // Integers only (quotient and remainder of weight × slots by total; at most 10,000 × 1,024): fractions made
  // the arrays doubles in some calls and small integers in others, and the optimised code deoptimised on the switch.
  const counts = mapPacked(eps, (e) => ((e.weight * slots) / total) | 0);
  let left = slots - counts.reduce((n, c) => n + c, 0);
  const byRemainder = eps.map((e, i) => ({ i, r: (e.weight * slots) % total })).sort((a, b) => b.r - a.r || a.i - b.i);
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
export function slotEndpoints(eps: ReadonlyArray<Pick<EndpointRecord, 'weight'>>, slots: number = slotTier(eps)): number[] {
  const counts = slotCounts(eps, slots);
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) for (let n = 0; n < counts[i]; n++) out.push(i);
  return out;
}
