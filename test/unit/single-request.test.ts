// SingleRequest must behave like the generator it replaces, under every
// driver: runSingle (bound async methods), runAsync (h.run), runSync and yield*.
import { describe, expect, it } from 'vitest';
import { bindAsync, bindSync } from '../../lib/netlink/bind';
import { call, runAsync, runSync, type AsyncExecutor, type NetlinkCall, type Operation, type SyncExecutor } from '../../lib/netlink/operation';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { runSingle, SingleRequest } from '../../lib/netlink/single-request';

const REPLY = [{ type: 2, flags: 0, seq: 1, portId: 0, payload: Buffer.alloc(4) }] as unknown as NetlinkMessage[];

class Refused extends Error {}

/** Answers every call with REPLY, or fails the ones whose operation starts with "bad". */
function executors(): { sent: string[]; ex: AsyncExecutor & SyncExecutor } {
  const sent: string[] = [];
  const answer = (c: NetlinkCall) => {
    sent.push(c.operation);
    if (c.operation.startsWith('bad')) throw new Refused(c.operation);
    return REPLY;
  };
  return {
    sent,
    ex: {
      execute: (c) => {
        try {
          return Promise.resolve(answer(c));
        } catch (e) {
          return Promise.reject(e as Error);
        }
      },
      executeSync: answer,
    },
  };
}

/** One request named `name`; `invalid` throws before sending; a "missing" failure becomes `false`. */
class Probe extends SingleRequest<boolean> {
  constructor(
    private readonly name: string,
    private readonly how: 'direct' | 'invalid' | 'general' = 'direct',
  ) {
    super();
  }
  protected override start(): NetlinkCall | Operation<boolean> {
    if (this.how === 'invalid') throw new TypeError(`invalid ${this.name}`);
    if (this.how === 'general') return general(this.name);
    return { kind: 'ack', message: Buffer.alloc(16), operation: this.name };
  }
  protected override done(replies: NetlinkMessage[]): boolean {
    return replies === REPLY;
  }
  protected override failed(e: unknown): boolean {
    if (e instanceof Refused && e.message.endsWith('missing')) return false;
    throw e;
  }
}

function* general(name: string): Operation<boolean> {
  yield* call(Buffer.alloc(16), `${name} step 1`);
  const r = yield* call(Buffer.alloc(16), `${name} step 2`);
  return r === REPLY;
}

describe('SingleRequest', () => {
  it('gives the same results and errors through runSingle, runAsync, runSync and yield*', async () => {
    const { ex, sent } = executors();
    for (const run of [
      (op: Probe) => runSingle(ex, op),
      (op: Probe) => runAsync(ex, op),
      (op: Probe) => Promise.resolve().then(() => runSync(ex, op)),
      (op: Probe) =>
        runAsync(
          ex,
          (function* (): Operation<boolean> {
            return yield* op;
          })(),
        ),
    ]) {
      sent.length = 0;
      await expect(run(new Probe('ok'))).resolves.toBe(true);
      await expect(run(new Probe('bad missing'))).resolves.toBe(false);
      await expect(run(new Probe('bad other'))).rejects.toThrow(Refused);
      await expect(run(new Probe('never', 'invalid'))).rejects.toThrow(TypeError);
      await expect(run(new Probe('g', 'general'))).resolves.toBe(true);
      expect(sent).toEqual(['ok', 'bad missing', 'bad other', 'g step 1', 'g step 2']);
    }
  });

  it('rejects instead of throwing from a bound method, and ends like a generator', async () => {
    const { ex } = executors();
    const ops = { probe: (name: string, how?: 'invalid') => new Probe(name, how) };
    const bound = bindAsync(ex, ops);
    const p = bound.probe('x', 'invalid');
    await expect(p).rejects.toThrow(TypeError);
    expect(bindSync(ex, ops).probe('y')).toBe(true);

    const op = new Probe('z');
    expect(op.next()).toMatchObject({ done: false, value: { operation: 'z' } });
    expect(op.next(REPLY)).toEqual({ done: true, value: true });
    expect(op.next()).toEqual({ done: true, value: undefined });
    const unstarted = new Probe('w');
    expect(() => unstarted.throw(new Refused('w missing'))).toThrow(Refused); // not waiting for a reply: nothing to map
    expect(new Probe('v').return(false)).toEqual({ done: true, value: false });
  });
});
