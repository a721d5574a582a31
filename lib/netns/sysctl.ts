/**
 * Per-namespace network sysctls (net.*), read and written from a thread
 * inside the namespace, so the machine's own settings are never touched.
 * @module
 */
import { native } from '../native/binding';
import { fromNative } from '../netlink/errors';
import { sysctlPath } from '../validate/names';
import { withNetns, withNetnsAsync, type NetnsRef } from './namespace';

/**
 * Reads a net.* sysctl inside a namespace, trimmed.
 * @example
 * await getSysctl('c1', 'net.ipv4.ip_forward') // '0'
 */
export async function getSysctl(netns: NetnsRef | undefined, key: string): Promise<string> {
  const p = sysctlPath(key);
  return withNetnsAsync(netns, async (fd) => {
    try {
      return (await native().sysctlRead(fd, p)).trim();
    } catch (e) {
      throw fromNative(`read sysctl ${key}`, e);
    }
  });
}

/**
 * Writes a net.* sysctl inside a namespace.
 * @example
 * await setSysctl('host', 'net.ipv4.ip_forward', '1')
 */
export async function setSysctl(netns: NetnsRef | undefined, key: string, value: string | number): Promise<void> {
  const p = sysctlPath(key);
  await withNetnsAsync(netns, async (fd) => {
    try {
      await native().sysctlWrite(fd, p, String(value));
    } catch (e) {
      throw fromNative(`write sysctl ${key}=${value}`, e);
    }
  });
}

/**
 * Blocking form of {@link getSysctl}.
 * @example
 * getSysctlSync('c1', 'net.ipv4.ip_forward'); // '0'
 */
export function getSysctlSync(netns: NetnsRef | undefined, key: string): string {
  const p = sysctlPath(key);
  return withNetns(netns, (fd) => {
    try {
      return native().sysctlReadSync(fd, p).trim();
    } catch (e) {
      throw fromNative(`read sysctl ${key}`, e);
    }
  });
}

/**
 * Blocking form of {@link setSysctl}.
 * @example
 * setSysctlSync('c1', 'net.ipv4.ip_forward', 1);
 */
export function setSysctlSync(netns: NetnsRef | undefined, key: string, value: string | number): void {
  const p = sysctlPath(key);
  withNetns(netns, (fd) => {
    try {
      native().sysctlWriteSync(fd, p, String(value));
    } catch (e) {
      throw fromNative(`write sysctl ${key}=${value}`, e);
    }
  });
}
