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
  write(s: string): unknown;
  /** Where a stream reports write errors (Node streams); stand-ins without it report none. */
  on?(event: 'error', listener: (e: Error) => void): unknown;
  /** Node streams: a listener called once. */
  once?(event: 'error' | 'drain', listener: () => void): unknown;
  /** Node streams: removes a listener (the one of the two events that did not happen, in {@link GuardedOutput.flushed}). */
  off?(event: 'error' | 'drain', listener: () => void): unknown;
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
      // A write error is emitted on the tick after the write that failed.
      const after = () => {
        // Whichever of the two came, the other's listener goes: none is left behind per call.
        s.off?.('drain', after);
        s.off?.('error', after);
        setImmediate(resolve);
      };
      // stdout to a pipe, file or terminal writes synchronously on Linux; anything still queued drains (or fails) first.
      if (s.writableLength && s.once) {
        s.once('drain', after);
        s.once('error', after);
      } else {
        after();
      }
    });
  }
}
