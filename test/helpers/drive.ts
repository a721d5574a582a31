// Runs an operation (a generator of netlink requests) against a made-up
// kernel, for tests of the operation logic without a kernel.
import type { NetlinkCall, Operation } from '../../lib/netlink/operation';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';

/** What a made-up kernel answers to one request: replies, or an error to throw into the operation. */
export type Answer = NetlinkMessage[] | Error;

/** Runs an operation against `kernel`; returns its result and the requests it sent. */
export function drive<T>(
  op: Operation<T>,
  kernel: (request: NetlinkMessage, call: NetlinkCall) => Answer = () => [],
): { result: T; requests: NetlinkMessage[] } {
  const requests: NetlinkMessage[] = [];
  let step = op.next();
  while (!step.done) {
    // No socket here to read link names on: the operation asks by request, which the made-up kernel answers.
    if (step.value.kind === 'linkNames') {
      step.value.settle(undefined);
      step = op.next([]);
      continue;
    }
    const c = step.value as NetlinkCall;
    const request = parseMessages(c.message)[0];
    requests.push(request);
    const answer = kernel(request, c);
    step = answer instanceof Error ? op.throw(answer) : op.next(answer);
  }
  return { result: step.value, requests };
}
