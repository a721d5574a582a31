// The easy path for integration tests: namespaces that the test creates,
// uniquely named per process, and always deleted afterwards (also on failure).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { createNetns, deleteNetns, open, type Handle } from '../../lib';

let counter = 0;

/** A unique namespace name for this test process: "nlt<pid>-<n>-<label>". */
export function uniqueNetnsName(label = 'ns'): string {
  return `nlt${process.pid}-${++counter}-${label}`;
}

/** Integration tests need root (CAP_NET_ADMIN + CAP_SYS_ADMIN); say so loudly instead of skipping. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('integration tests need root: run them as root (CI does), or run `npm run test:unit`');
  }
}

export interface Sandbox {
  /** The namespace names, in the order of the labels given. */
  names: string[];
  /** A handle per namespace, same order. */
  handles: Handle[];
  /** The namespace of a label. */
  ns(label: string): string;
  /** The handle of a label. */
  h(label: string): Handle;
}

/**
 * Creates one namespace per label before the tests of the enclosing describe
 * and deletes them after, whatever happened. Loopback is brought up.
 */
export function useNetns(...labels: string[]): Sandbox {
  const box: Sandbox = {
    names: [],
    handles: [],
    ns: (l) => box.names[labels.indexOf(l)],
    h: (l) => box.handles[labels.indexOf(l)],
  };
  beforeAll(async () => {
    requireRoot();
    for (const l of labels) {
      const name = uniqueNetnsName(l);
      await createNetns(name);
      box.names.push(name);
      const h = await open({ netns: name });
      box.handles.push(h);
      await h.links.set('lo', { up: true });
    }
  });
  afterAll(async () => {
    for (const h of box.handles) h.close();
    for (const n of box.names) await deleteNetns(n, { missingOk: true });
  });
  return box;
}

/** Runs `ip -j ARGS` inside a namespace and parses the JSON (tests only). */
export function ipJson<T = any>(netns: string, ...args: string[]): T {
  const out = execFileSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' });
  return JSON.parse(out || '[]') as T;
}

/** Runs `ip ARGS` inside a namespace (tests only). */
export function ip(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', netns, ...args], { encoding: 'utf8' });
}
