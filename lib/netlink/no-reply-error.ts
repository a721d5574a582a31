/**
 * The error of a request that reached the kernel but whose answer never came.
 * @module
 */
import { EIO } from './errno';
import { SystemError } from './errors';

/**
 * A netlink request was sent, the reading of its round ended, and no answer
 * to it was among what was read. Not the kernel's refusal (no errno came
 * back): the kernel had the request and may have applied it, so read the
 * state back. A {@link SystemError} with `sent: true` (as a request whose
 * socket could not be read), `code` `'EIO'` and `syscall`
 * `'recvmsg(netlink)'`, so code handling those handles this one too.
 *
 * Where it can happen: a round of a short-lived handle (`open({ netns,
 * shortLived: true })`, the sandbox side of an attach) sends its requests
 * and reads until the socket is empty. rtnetlink answers every request
 * before its `sendmsg` returns (a request it starts a dump for, NLM_F_DUMP
 * in a message given to `h.run(call(...))`, with the dump's parts and
 * NLMSG_DONE, which end the call), so with it this is a guard: a family that
 * answered later would get it.
 * @example
 * try {
 *   await h.run(call(message, 'my request'));
 * } catch (e) {
 *   if (e instanceof NoReplyError) console.log('sent, outcome unknown:', e.operation);
 * }
 */
export class NoReplyError extends SystemError {
  /** Always "NoReplyError". */
  override name = 'NoReplyError';
  /** @param operation what nlkit was doing */
  constructor(operation: string) {
    super(operation, EIO, 'recvmsg(netlink)', { sent: true });
    this.message = `${operation}: no answer to the request (it had reached the kernel, which may have applied it: read the state back)`;
  }
}
