// The guard of the CLI's standard output (lib/cli/output.ts): flushed()
// settles once what was queued is written or has failed, and leaves no
// listener behind either way (it left the other event's `once` listener on
// the stream at every call: a leak, and Node's MaxListenersExceededWarning
// after ten). It waited for 'drain', which Node emits only after a write
// returned false: bytes queued below the high-water mark (a slow pipe reader)
// never ended the wait, and the CLI lost its exit code.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GuardedOutput } from '../../lib/cli/output';

/** A real Writable that holds every write until release(): bytes stay queued, below its high-water mark. */
function heldStream() {
  const held: Array<(e?: Error | null) => void> = [];
  const stream = new Writable({
    highWaterMark: 1024,
    write(_chunk, _enc, cb) {
      held.push(cb);
    },
  });
  /** Completes the write in flight (Node hands the next queued one to write() after it), with `e` to fail it. */
  const release = (e?: Error) => held.shift()?.(e);
  return { stream, held, release };
}

/** Whether `p` has settled, after the turns of the event loop its settling takes (flushed() resolves on a setImmediate). */
async function isSettled(p: Promise<void>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return settled;
}

describe('GuardedOutput.flushed', () => {
  it('settles once bytes queued below the high-water mark are written (no drain comes for them)', async () => {
    const { stream, held, release } = heldStream();
    const out = GuardedOutput.of(stream);
    out.write('first\n');
    out.write('second\n');
    expect(stream.writableLength).toBeGreaterThan(0);
    expect(stream.writableNeedDrain).toBe(false);
    const done = out.flushed();
    expect(await isSettled(done)).toBe(false); // still queued: not handed to the system yet
    while (held.length) {
      release();
      await new Promise((r) => setImmediate(r));
    }
    expect(stream.writableLength).toBe(0);
    expect(await isSettled(done)).toBe(true);
    expect(out.error).toBeUndefined();
  });

  it('leaves no listener behind after N flushes', async () => {
    const { stream, held, release } = heldStream();
    const out = GuardedOutput.of(stream);
    const guardListeners = stream.listenerCount('error'); // the guard's own, kept for the stream's life
    const others = () => ['drain', 'close', 'finish'].map((e) => stream.listenerCount(e));
    const before = others();
    for (let i = 0; i < 25; i++) {
      out.write('x'.repeat(i % 2 ? 10 : 2000)); // below and above the high-water mark
      const done = out.flushed();
      for (let k = 0; k < 10 && !(await isSettled(done)); k++) release();
      expect(await isSettled(done)).toBe(true);
      expect(held).toHaveLength(0);
    }
    expect(stream.listenerCount('error')).toBe(guardListeners);
    expect(others()).toEqual(before);
    expect(out.error).toBeUndefined();
  });

  it('settles when the queued write fails, keeps the error, and leaves no listener behind', async () => {
    const { stream, release } = heldStream();
    const out = GuardedOutput.of(stream);
    const guardListeners = stream.listenerCount('error');
    out.write('lost\n');
    const done = out.flushed();
    release(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await isSettled(done)).toBe(true);
    expect(stream.listenerCount('error')).toBe(guardListeners);
    expect(out.error?.code).toBe('EPIPE');
    out.write('dropped\n'); // after the first error every write is dropped
    expect(await isSettled(out.flushed())).toBe(true);
  });

  it('a stream with nothing queued, or a stand-in without events, settles at once', async () => {
    const { stream } = heldStream();
    expect(await isSettled(GuardedOutput.of(stream).flushed())).toBe(true);
    const lines: string[] = [];
    const standIn = GuardedOutput.of({ write: (s: string) => void lines.push(s) });
    standIn.write('a\n');
    expect(await isSettled(standIn.flushed())).toBe(true);
    expect(lines).toEqual(['a\n']);
  });
});
