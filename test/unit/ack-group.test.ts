// Ack-only requests of one tick collected into datagrams (lib/netlink/ack-group.ts),
// without a socket: what each group holds, when it is sent, and that every
// request gets exactly one outcome of its own.
import { describe, expect, it } from 'vitest';
import { AckGroup, AckTick, type Completion, type InPlaceRequest } from '../../lib/netlink/ack-group';
import { BULK_PART_BYTES } from '../../lib/netlink/bulk-send';
import { NetlinkError } from '../../lib/netlink/errors';
import { NetlinkWriter } from '../../lib/netlink/writer';

/** A request message of `bytes` bytes (header included), its type telling requests apart. */
function message(type: number, bytes: number): Buffer {
  const w = new NetlinkWriter().begin(type, 0);
  w.struct(bytes - 16);
  return w.end().finish();
}

function recorder(): Completion & { outcomes: Array<Error | undefined> } {
  const outcomes: Array<Error | undefined> = [];
  return { outcomes, complete: (e) => outcomes.push(e) };
}

/** The message types in a group's datagram, in order. */
function types(buf: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 16 <= buf.length; off += (buf.readUInt32LE(off) + 3) & ~3) out.push(buf.readUInt16LE(off + 4));
  return out;
}

describe('ack-only requests of one tick', () => {
  it('go out in groups of at most 64 KiB, the last at the end of the tick, in the order made', async () => {
    const sent: Buffer[] = [];
    let settled = 0;
    const tick = new AckTick(
      (g) => sent.push(Buffer.from(g.take())),
      () => settled++,
    );
    for (let i = 0; i < 150; i++) tick.push(message(0x100 + i, 1000), `request ${i}`, recorder());
    expect(sent.length).toBe(2); // 65 of 1,000 bytes fit a group: two are full, the rest waits for the tick's end
    await Promise.resolve();
    expect(sent.length).toBe(3);
    expect(sent.every((b) => b.length <= BULK_PART_BYTES)).toBe(true);
    expect(sent.flatMap(types)).toEqual(Array.from({ length: 150 }, (_, i) => 0x100 + i));
    expect(settled).toBe(0);
  });

  it('leaves nothing of a request that fails to write itself, or throws half-way', () => {
    const sent: Buffer[] = [];
    const tick = new AckTick(
      (g) => sent.push(Buffer.from(g.take())),
      () => undefined,
    );
    const writes = (type: number, result: 'ok' | 'no' | 'throw'): InPlaceRequest => ({
      ...recorder(),
      describe: () => `request ${type}`,
      writeAt(buf: Buffer, offset: number) {
        const request = message(type, 44);
        buf.set(request.subarray(0, 20), offset); // half of it, then the outcome
        if (result === 'throw') throw new Error('half-way');
        buf.set(request, offset);
        return result === 'ok' ? offset + 44 : -1;
      },
    });
    expect(tick.write(writes(0x10, 'ok'))).toBe(true);
    expect(tick.write(writes(0x11, 'no'))).toBe(false);
    expect(() => tick.write(writes(0x12, 'throw'))).toThrow('half-way');
    expect(tick.write(writes(0x13, 'ok'))).toBe(true);
    tick.flush();
    expect(sent.map(types)).toEqual([[0x10, 0x13]]);
    expect(sent[0].length).toBe(2 * 44);
  });

  it('settles each request once: a refusal its own, the rest together, errors made per operation', () => {
    let settled = 0;
    const g = new AckGroup(() => settled++);
    const r = [recorder(), recorder(), recorder(), recorder()];
    for (const [i, x] of r.entries()) g.add(message(0x20, 20), `request ${i}`, x);
    const refused = new NetlinkError({ errno: 17, operation: g.operation(1) });
    g.refuse(1, refused);
    g.refuse(1, new Error('twice')); // settled already: ignored
    g.settleRest((operation) => new Error(`failed: ${operation}`));
    g.settleRest(undefined); // nothing left
    expect(r.map((x) => x.outcomes.map((e) => e?.message))).toEqual([['failed: request 0'], [refused.message], ['failed: request 2'], ['failed: request 3']]);
    expect(settled).toBe(4);
  });
});
