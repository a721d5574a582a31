// The guard of the CLI's standard output (lib/cli/output.ts): flushed()
// waits for a queued write to drain or fail, and leaves no listener behind
// either way (it left the other event's `once` listener on the stream at
// every call: a leak, and Node's MaxListenersExceededWarning after ten).
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { GuardedOutput, type OutputStream } from '../../lib/cli/output';

/** A stream stand-in with Node's event methods and bytes always queued, so flushed() waits for 'drain' or 'error'. */
function queuedStream(): EventEmitter & OutputStream {
  const e = new EventEmitter() as EventEmitter & OutputStream & { writableLength: number };
  e.write = () => true;
  e.writableLength = 1;
  return e;
}

describe('GuardedOutput.flushed', () => {
  it('leaves no listener behind after N flushes that drained', async () => {
    const s = queuedStream();
    const out = GuardedOutput.of(s);
    const guardListeners = s.listenerCount('error'); // the guard's own, kept for the stream's life
    for (let i = 0; i < 25; i++) {
      out.write('x');
      const done = out.flushed();
      s.emit('drain');
      await done;
    }
    expect(s.listenerCount('drain')).toBe(0);
    expect(s.listenerCount('error')).toBe(guardListeners);
    expect(out.error).toBeUndefined();
  });

  it('leaves no drain listener behind when the write failed, and keeps the error', async () => {
    const s = queuedStream();
    const out = GuardedOutput.of(s);
    const guardListeners = s.listenerCount('error');
    const done = out.flushed();
    s.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await done;
    expect(s.listenerCount('drain')).toBe(0);
    expect(s.listenerCount('error')).toBe(guardListeners);
    expect(out.error?.code).toBe('EPIPE');
  });
});
