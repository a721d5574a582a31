/**
 * A one-line progress indicator for long CLI operations, redrawn in place on
 * a terminal. Disabled (every call a no-op) when stderr is not a TTY or the
 * output is JSON, so scripts and logs never see control characters.
 * @module
 */

/** Where progress goes: stderr, normally. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class Progress {
  private shown = false;
  private readonly started = Date.now();

  constructor(
    private readonly stream: ProgressStream,
    /** Whether anything is drawn at all. */
    readonly enabled: boolean,
  ) {}

  /** Redraws the line: "detaching from web  [#####.....]  120/500  24%  1.2 s". */
  update(label: string, done: number, total: number): void {
    if (!this.enabled) return;
    const width = 20;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    let line = `${label}  ${bar}  ${done}/${total}  ${Math.round(frac * 100)}%  ${secs} s`;
    const cols = this.stream.columns ?? 80;
    if (line.length >= cols) line = line.slice(0, cols - 1);
    this.stream.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  /** Erases the line, so the final result starts on a clean line. */
  clear(): void {
    if (!this.enabled || !this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
