/**
 * Errno values by name, for the few places that make or compare an errno
 * themselves: Node's os.constants.errno, plus values Node does not list
 * but the kernel can answer with (ERESTART from asm-generic/errno.h; the
 * kernel-internal ERESTARTSYS and ENOTSUPP from linux/errno.h).
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
