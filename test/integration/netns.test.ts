// Named and anonymous namespaces, references by name/path/pid/fd, and
// per-namespace sysctls — all checked against what `ip netns` and /proc see.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  NotFoundError,
  ValidationError,
  createAnonymousNetns,
  createNetns,
  createNetnsSync,
  deleteNetns,
  deleteNetnsSync,
  getSysctl,
  listNetns,
  netnsExists,
  open,
  openNetnsSync,
  setSysctl,
} from '../../lib';
import { requireRoot, uniqueNetnsName } from '../helpers/netns';

describe('network namespaces', () => {
  it('creates, lists, opens and deletes a named namespace like ip netns', async () => {
    requireRoot();
    const name = uniqueNetnsName('named');
    await createNetns(name);
    try {
      expect(await listNetns()).toContain(name);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(name);
      expect(netnsExists(name)).toBe(true);
      // ip sees the same namespace: a link made by ip is visible to nlkit
      execFileSync('ip', ['-n', name, 'link', 'add', 'brx', 'type', 'bridge']);
      const h = await open({ netns: name });
      expect((await h.links.list()).map((l) => l.name).sort()).toEqual(['brx', 'lo']);
      h.close();
      await expect(createNetns(name)).rejects.toMatchObject({ code: 'EEXIST' });
      expect(await createNetns(name, { existOk: true })).toBe(false);
      await expect(createNetns(name, { existsOk: true } as never)).rejects.toBeInstanceOf(ValidationError);
    } finally {
      expect(await deleteNetns(name)).toBe(true);
    }
    expect(await listNetns()).not.toContain(name);
    expect(netnsExists(name)).toBe(false);
    const missing = await deleteNetns(name).catch((e) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ code: 'ENOENT', what: 'network namespace' });
    expect(await deleteNetns(name, { missingOk: true })).toBe(false);
    await expect(deleteNetns(name, { missingok: true } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('has sync forms', () => {
    requireRoot();
    const name = uniqueNetnsName('sync');
    expect(createNetnsSync(name)).toBe(true);
    try {
      expect(netnsExists(name)).toBe(true);
      expect(createNetnsSync(name, { existOk: true })).toBe(false);
    } finally {
      expect(deleteNetnsSync(name)).toBe(true);
    }
    expect(netnsExists(name)).toBe(false);
    expect(() => deleteNetnsSync(name)).toThrow(NotFoundError);
    expect(deleteNetnsSync(name, { missingOk: true })).toBe(false);
  });

  it('opens namespaces by path, pid and fd, which all name the same inode', async () => {
    requireRoot();
    const name = uniqueNetnsName('refs');
    await createNetns(name);
    try {
      const byName = openNetnsSync(name);
      const byPath = openNetnsSync({ path: `/run/netns/${name}` });
      const byFd = openNetnsSync({ fd: byName.fd });
      expect(byPath.inode).toBe(byName.inode);
      expect(byFd.inode).toBe(byName.inode);
      const self = openNetnsSync({ pid: process.pid });
      expect(self.inode).toBe(fs.statSync('/proc/self/ns/net').ino);
      expect(self.inode).not.toBe(byName.inode);
      for (const ns of [byName, byPath, byFd, self]) ns.close();
    } finally {
      await deleteNetns(name);
    }
  });

  it('refuses names with path tricks and files that are not namespaces', async () => {
    await expect(createNetns('../etc')).rejects.toBeInstanceOf(ValidationError);
    expect(() => openNetnsSync({ path: 'relative/path' })).toThrow(ValidationError);
    expect(() => openNetnsSync({ path: '/etc/hostname' })).toThrow(/not a namespace file/);
    expect(() => openNetnsSync('does-not-exist-nlkit')).toThrow(NotFoundError);
  });

  it('keeps an anonymous namespace alive only through its fd', async () => {
    requireRoot();
    const ns = await createAnonymousNetns();
    const h = await open({ netns: ns });
    await h.links.add({ name: 'anon0', kind: 'bridge' });
    expect((await h.links.get('anon0')).kind).toBe('bridge');
    h.close();
    expect(ns.inode).not.toBe(fs.statSync('/proc/self/ns/net').ino);
    ns.close();
  });

  it('reads and writes sysctls inside a namespace without touching the host', async () => {
    requireRoot();
    const name = uniqueNetnsName('sysctl');
    await createNetns(name);
    const hostBefore = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    try {
      expect(await getSysctl(name, 'net.ipv4.ip_forward')).toBe('0');
      await setSysctl(name, 'net.ipv4.ip_forward', 1);
      expect(await getSysctl(name, 'net.ipv4.ip_forward')).toBe('1');
      const viaIp = execFileSync('ip', ['netns', 'exec', name, 'cat', '/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' });
      expect(viaIp.trim()).toBe('1');
      expect(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostBefore);
      await expect(getSysctl(name, 'net.ipv4.no_such_key')).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await deleteNetns(name);
    }
  });
});
