/**
 * Errno values by name, for the few places that make or compare an errno
 * themselves: Node's os.constants.errno, plus values Node does not list
 * but the kernel can answer with (ERESTART from asm-generic/errno.h; the
 * kernel-internal ERESTARTSYS and ENOTSUPP from linux/errno.h). And the
 * other way: the symbolic name of a number ({@link errnoName}) and the short
 * text error messages show ({@link errnoText}).
 * @module
 */
import { constants } from 'node:os';

export const { EBADF, EBUSY, EINTR, EIO, ENOENT, ENODEV } = constants.errno;

/** "Interrupted system call should be restarted": nf_tables refusing a batch whose generation check failed. */
export const ERESTART = 85;
/** Kernel-internal "restart the system call"; should never leak, but names it if it does. */
export const ERESTARTSYS = 512;
/** Kernel-internal "operation not supported" (distinct from EOPNOTSUPP). */
export const ENOTSUPP = 524;

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) {
  if (!errnoNames.has(num)) errnoNames.set(num, name);
}
// Where libc has two names for one number, use the one networking code uses.
errnoNames.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP');
errnoNames.set(constants.errno.EAGAIN, 'EAGAIN');
// Kernel-internal codes that netlink can return and libc does not name.
errnoNames.set(ERESTART, 'ERESTART'); // the kernel answers it when a dump's state changed under it
errnoNames.set(ERESTARTSYS, 'ERESTARTSYS');
errnoNames.set(ENOTSUPP, 'ENOTSUPP');

/**
 * The symbolic name of a positive errno value ("ENODEV"), or "E<n>".
 * @example
 * errnoName(17); // 'EEXIST'
 */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** @internal the short text of an errno for error messages ("already exists"), or "errno <n>". */
export function errnoText(errno: number): string {
  const t = errnoTexts[errnoName(errno)] as string | undefined;
  return t ?? `errno ${errno}`;
}

// Short texts for the codes networking code meets most; others show the name only.
const errnoTexts: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory / object',
  ESRCH: 'no such process',
  EINTR: 'interrupted',
  EIO: 'I/O error',
  EBADF: 'bad file descriptor',
  EAGAIN: 'try again',
  ENOMEM: 'out of memory',
  EACCES: 'permission denied',
  EBUSY: 'device or resource busy',
  EEXIST: 'already exists',
  ENODEV: 'no such device',
  ENOTDIR: 'not a directory',
  EINVAL: 'invalid argument',
  ENFILE: 'too many open files in system',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left',
  ERANGE: 'out of range',
  EMSGSIZE: 'message too long',
  EPROTONOSUPPORT: 'protocol not supported',
  EOPNOTSUPP: 'operation not supported',
  EAFNOSUPPORT: 'address family not supported',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  ENETDOWN: 'network is down',
  ENETUNREACH: 'network is unreachable',
  ENOBUFS: 'no buffer space available',
  ETIMEDOUT: 'timed out',
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  ENOTEMPTY: 'not empty',
  ENOTSUPP: 'not supported',
  ENOTSUP: 'not supported',
};
