/**
 * Checks on the file descriptors handed to system calls: a wrong one would
 * act on an unrelated file instead of failing.
 * @internal
 * @module
 */
import { ValidationError } from '../netlink/errors';

/** A file descriptor: an integer 0-2^31-1. */
export function validateFd(fd: unknown, field = 'fd'): number {
  if (!Number.isInteger(fd) || (fd as number) < 0 || (fd as number) > 0x7fffffff) throw new ValidationError(field, fd, 'must be an open file descriptor');
  return fd as number;
}

/** A namespace file descriptor, or -1 for the process's own namespace. */
export function validateNetnsFd(fd: unknown, field = 'netnsFd'): number {
  return fd === -1 ? -1 : validateFd(fd, field);
}
