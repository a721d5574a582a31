/**
 * Every port of a service (per address family) has a number of its own,
 * stored next to the service's record and kept for the port's lifetime: it
 * keys the port's elements in the table's shared endpoint and hairpin maps,
 * so those maps hold every service and the table keeps a fixed number of
 * sets. Numbers are never reused: affinity entries of a removed port (the
 * datapath's, left to time out) never meet a new port.
 * @module
 */

/** The numbers of one service's ports, by "tcp80-v4". */
export interface PortIds {
  get(port: string): number;
}

/** No port has this number (numbers start at 1): a port of a service recorded before numbers existed. */
export const UNNUMBERED = 0;

/** Numbers as recorded; UNNUMBERED for a port without one (its elements are then drift until reconcile() numbers it). */
export function recordedIds(ids: Readonly<Record<string, number>>): PortIds {
  return { get: (port) => ids[port] ?? UNNUMBERED };
}

/** Numbers of a service being written: its recorded ones where the port stays, new ones from `allocate` otherwise; `used` is what to record. */
export function assignedIds(previous: Readonly<Record<string, number>> | undefined, allocate: () => number): PortIds & { used: Record<string, number> } {
  const used: Record<string, number> = {};
  return {
    used,
    get(port) {
      used[port] ??= previous?.[port] ?? allocate();
      return used[port];
    },
  };
}
