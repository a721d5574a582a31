/**
 * Multi-step operations that either finish or leave nothing behind: undo
 * steps run in reverse on failure, and steps that run at once are all
 * waited for (so each has registered its undo) before the first failure is
 * thrown.
 * @module
 */

/** Runs undo steps in reverse order; their own failures are swallowed (the original error is the one to report). */
export class Rollback {
  private readonly steps: Array<() => Promise<unknown>> = [];

  /** Registers the undo of a step that succeeded. */
  push(undo: () => Promise<unknown>): void {
    this.steps.push(undo);
  }

  /** Undoes everything registered, last first; resolves to whether every undo succeeded. */
  async run(): Promise<boolean> {
    let complete = true;
    for (const undo of this.steps.reverse()) {
      try {
        await undo();
      } catch {
        // Best effort: the original error is what the caller needs to see (an intent left behind tells reconcile).
        complete = false;
      }
    }
    return complete;
  }
}

/** A named step: the name is reported when it fails. */
export type Step = readonly [name: string, run: () => Promise<unknown> | undefined];

/**
 * Runs steps at once and waits for every one to settle; then throws the
 * first failure (in the order given), after telling `onFailure` which step
 * it was. Promises already running can be given instead of steps.
 */
export async function settleAll(steps: ReadonlyArray<Step | Promise<unknown>>, onFailure?: (step: string) => void): Promise<void> {
  const results = await Promise.allSettled(steps.map((s) => (s instanceof Promise ? s : Promise.resolve().then(s[1]))));
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed < 0) return;
  const step = steps[failed];
  if (!(step instanceof Promise)) onFailure?.(step[0]);
  throw (results[failed] as PromiseRejectedResult).reason;
}
