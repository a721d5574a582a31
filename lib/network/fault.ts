/**
 * Test-only fault injection: `NLKIT_FAULT_AFTER_STEP=<op>:<n>` in the
 * environment kills this process with SIGKILL at the n-th step boundary of
 * operation <op> (attach, detach, publish, unpublish, create, delete),
 * counted across the process's calls of that operation. The crash tests use
 * it to prove that check/reconcile leave nothing behind whatever step a
 * process dies after. Unset (always, outside tests) it costs one comparison.
 * @internal
 * @module
 */

const spec = /^([a-z]+):(\d+)$/.exec(process.env.NLKIT_FAULT_AFTER_STEP ?? '');
const faultOp = spec?.[1];
const faultStep = Number(spec?.[2] ?? 0);
let steps = 0;

/** Marks a step boundary of `op`: the test hook's kill point. */
export function stepDone(op: string): void {
  if (op !== faultOp) return;
  if (++steps === faultStep) process.kill(process.pid, 'SIGKILL');
}
