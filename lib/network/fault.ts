/**
 * Test-only fault injection: `NLKIT_FAULT_AFTER_STEP=<op>:<n>` in the
 * environment kills this process with SIGKILL at the n-th step boundary of
 * operation <op> (attach, detach, publish, unpublish, backends (setBackends), create, delete;
 * service for lib/services; intercept and unintercept (remove) for lib/sidecar; overlay (apply's peers)),
 * counted across the process's calls of that operation. The crash tests use
 * it to prove that check/reconcile leave nothing behind whatever step a
 * process dies after. `<op>:<n>:stop` stops the process there instead
 * (SIGSTOP): the operation stays in flight, live in the journal, until the
 * test continues (SIGCONT) or kills it. Besides the operations' steps there
 * are points that are no step of theirs (they do not change their counts):
 * `attachveth`, an attach's host veth created and not marked yet;
 * `rebuildmac`, reconcile rebuilding a missing bridge, its MAC recorded and
 * the bridge not made yet; `rebuild`, reconcile rebuilding a network, its
 * bridge found or made and its addresses not given yet.
 * Unset (always, outside tests) it costs one comparison.
 * @internal
 * @module
 */

const spec = /^([a-z]+):(\d+)(:stop)?$/.exec(process.env.NLKIT_FAULT_AFTER_STEP ?? '');
const faultOp = spec?.[1];
const faultStep = Number(spec?.[2] ?? 0);
const faultSignal = spec?.[3] ? 'SIGSTOP' : 'SIGKILL';
let steps = 0;

/** Marks a step boundary of `op`: the test hook's kill (or stop) point. */
export function stepDone(op: string): void {
  if (op !== faultOp) return;
  if (++steps === faultStep) process.kill(process.pid, faultSignal);
}
