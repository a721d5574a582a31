// A state file (state.json) or lease file (ipam/<net>.json) read again unchanged is not parsed and shape-checked
// again; one changed in any way is, even written in place with its size and mtime kept (its ctime moved).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AddressPool } from '../../lib/network/address-pool';
import { Ipam } from '../../lib/network/ipam';
import { StateStore } from '../../lib/network/state';
import * as shape from '../../lib/network/state-shape';
import { networkRecord as net } from '../helpers/network-record';

vi.mock('../../lib/network/state-shape', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/network/state-shape')>();
  return { ...real, parseStateFile: vi.fn(real.parseStateFile), parseLeaseFile: vi.fn(real.parseLeaseFile) };
});

/** A whole second, so that utimes() puts it back to the nanosecond. */
const PINNED = 1_700_000_000;

/** Sets `file`'s times to {@link PINNED}. */
const pinTimes = (file: string) => fs.utimesSync(file, PINNED, PINNED);

/** Rewrites `file` in place (same inode) with `text` of the same length, and puts its times back ({@link pinTimes}). */
async function rewriteInPlace(file: string, text: string): Promise<void> {
  const before = fs.statSync(file, { bigint: true });
  expect(BigInt(Buffer.byteLength(text))).toBe(before.size);
  await new Promise((r) => setTimeout(r, 20)); // past the timestamp granularity (a jiffy on kernels without fine-grained times)
  fs.writeFileSync(file, text);
  pinTimes(file);
  const after = fs.statSync(file, { bigint: true });
  expect([after.dev, after.ino, after.size, after.mtimeNs]).toEqual([before.dev, before.ino, before.size, before.mtimeNs]);
  expect(after.ctimeNs).not.toBe(before.ctimeNs); // what tells the two versions apart
}

describe('state files parsed once per version', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-read-once-'));
    vi.mocked(shape.parseStateFile).mockClear();
    vi.mocked(shape.parseLeaseFile).mockClear();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the state file: not parsed again unchanged; rewritten in place with its size and mtime kept, parsed and refused', async () => {
    const a = new StateStore(dir);
    await a.update((s) => void (s.networks.n = net('n')));
    pinTimes(path.join(dir, 'state.json'));
    const b = new StateStore(dir); // another process
    expect((await b.snapshot()).networks.n.masquerade).toBe(true);
    await b.snapshot();
    await b.edit((s) => expect(s.networks.n.masquerade).toBe(true));
    expect(shape.parseStateFile).toHaveBeenCalledTimes(1);

    const file = path.join(dir, 'state.json');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('"masquerade": true');
    await rewriteInPlace(file, text.replace('"masquerade": true', '"masquerade": 1234'));
    await expect(b.snapshot()).rejects.toThrow(
      expect.objectContaining({ name: 'CorruptStateError', reason: 'state.networks["n"].masquerade is not a boolean' }),
    );
    expect(shape.parseStateFile).toHaveBeenCalledTimes(2);
  });

  it('the lease file: not parsed again unchanged; changed by another writer (same size), parsed and used', async () => {
    const ipam = new Ipam(dir, 'n', [new AddressPool('10.66.0.0/29')]);
    expect((await ipam.allocate('a')).ipv4).toBe('10.66.0.2');
    expect((await ipam.allocate('b')).ipv4).toBe('10.66.0.3');
    expect(await ipam.release('a')).toEqual(['10.66.0.2']);
    expect(await ipam.list()).toEqual({ '10.66.0.3': 'b' });
    expect(shape.parseLeaseFile).toHaveBeenCalledTimes(0); // each read found what this process wrote

    const file = path.join(dir, 'n.json');
    pinTimes(file);
    await rewriteInPlace(file, fs.readFileSync(file, 'utf8').replace('"b"', '"c"'));
    expect(await ipam.list()).toEqual({ '10.66.0.3': 'c' });
    expect(shape.parseLeaseFile).toHaveBeenCalledTimes(1);
    expect((await ipam.allocate('c')).ipv4).toBe('10.66.0.3');
    pinTimes(file);
    await rewriteInPlace(file, fs.readFileSync(file, 'utf8').replace('"c"', '7  '));
    await expect(ipam.allocate('d')).rejects.toThrow(
      expect.objectContaining({ name: 'CorruptStateError', reason: 'leases.allocations["10.66.0.3"] is not a string' }),
    );
    // A failed update keeps nothing of what it read.
    await expect(ipam.list()).rejects.toThrow(expect.objectContaining({ name: 'CorruptStateError' }));
  });
});
