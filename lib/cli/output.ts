/**
 * The standard output of the `nlkit` command, guarded against write errors.
 * A write to a closed pipe (`nlkit ls | head -1`) or a full disk is reported
 * by Node as an `'error'` event on the stream; with no listener that is an
 * uncaught exception: a stack trace, and the command cut off wherever it
 * was. Here the first write error is kept and every later write dropped, so
 * the command finishes what it changes, and {@link main} decides the exit
 * code: EPIPE (the reader stopped reading, its choice) is no failure; any
 * other error is one line on stderr and exit code 1.
 * @module
 */

/** What the command writes its output to: process.stdout, or a test's stand-in. */
export interface OutputStream {
  /** Node streams call `done` once this write (and every one before it) has been handed to the system, or has failed. */
  write(s: string, done?: (e?: Error | null) => void): unknown;
  /** Where a stream reports write errors (Node streams); stand-ins without it report none. */
  on?(event: 'error', listener: (e: Error) => void): unknown;
  /** Node streams: a listener called once. */
  once?(event: 'error', listener: () => void): unknown;
  /** Node streams: removes a listener (the `'error'` one of {@link GuardedOutput.flushed}, when the write finished first). */
  off?(event: 'error', listener: () => void): unknown;
  /** Node streams: bytes queued, not yet written. */
  readonly writableLength?: number;
}

/** Streams already guarded: their listener outlives one `main()` (an error event can come after it returns). */
const guarded = new WeakMap<object, GuardedOutput>();

/** An {@link OutputStream} that keeps its first write error instead of throwing it, and drops writes after it. */
export class GuardedOutput {
  private failure?: Error;

  private constructor(private readonly stream: OutputStream) {
    stream.on?.('error', (e) => {
      this.failure ??= e;
    });
  }

  /**
   * The guard of `stream`, made on first use (one per stream, however many
   * commands run on it).
   * @example
   * const out = GuardedOutput.of(process.stdout);
   * out.write('hello\n');
   */
  static of(stream: OutputStream): GuardedOutput {
    let g = guarded.get(stream);
    if (!g) guarded.set(stream, (g = new GuardedOutput(stream)));
    return g;
  }

  /** The first write error, if any (`code` 'EPIPE' when the reader went away). */
  get error(): (Error & { code?: string }) | undefined {
    return this.failure;
  }

  /**
   * Writes `s`, or nothing once a write has failed.
   * @example
   * GuardedOutput.of(process.stdout).write('done\n');
   */
  write(s: string): void {
    if (this.failure) return;
    this.stream.write(s);
  }

  /**
   * Settles once what was written has been handed to the system (or has
   * failed): then {@link error} is final for it. Never rejects.
   * @example
   * await GuardedOutput.of(process.stdout).flushed();
   */
  flushed(): Promise<void> {
    // A stand-in without error events has nothing to wait for.
    if (this.failure || !this.stream.on) return Promise.resolve();
    const s = this.stream;
    return new Promise((resolve) => {
      let settled = false;
      // A write error is emitted on the tick after the write that failed.
      const after = () => {
        if (settled) return;
        settled = true;
        // Whichever came first (the write's callback or an error), the error listener goes: none is left behind per call.
        s.off?.('error', after);
        setImmediate(resolve);
      };
      // stdout to a file or terminal writes synchronously on Linux, but a pipe whose reader is slow queues. 'drain'
      // comes only after a write returned false (above the high-water mark), so a few bytes queued below it would
      // never end a wait for it: an empty write's callback comes once everything queued before it is written (or failed).
      if (s.writableLength && s.once) {
        s.once('error', after);
        s.write('', after);
      } else {
        after();
      }
    });
  }
}
