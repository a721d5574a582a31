/**
 * Every port of a service (per address family) has a number of its own,
 * stored next to the service's record and kept for the port's lifetime: it
 * keys the port's elements in the table's shared endpoint and hairpin maps,
 * so those maps hold every service and the table keeps a fixed number of
 * sets. Numbers are even (a range's end element, one past its last key,
 * never meets the next number's first key) and never reused.
 * @module
 */

/** The numbers of one service's ports, by "tcp80-v4". */
export interface PortIds {
  get(port: string): number;
}

/** The key of the endpoint maps: the port's number (big-endian 32 bits) then the pick (big-endian 16 bits). */
export function pickKey(id: number, pick: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt32BE(id, 0);
  b.writeUInt16BE(pick, 4);
  return b;
}

/** Numbers as recorded; a port without one is a bug of the caller. */
export function recordedIds(ids: Readonly<Record<string, number>>): PortIds {
  return {
    get(port) {
      const id = ids[port] as number | undefined;
      if (id === undefined) throw new Error(`service port ${port} has no recorded number`);
      return id;
    },
  };
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
