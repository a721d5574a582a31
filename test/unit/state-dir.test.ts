// The trust walk of a state directory, symbolic links and all, and the
// ownership marks; no network involved (root needed only for chown).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnsafeStateDirError } from '../../lib';
import { writeFileAtomic } from '../../lib/network/file-lock';
import { bridgeMark, parseMark, vethMark } from '../../lib/network/names';
import { ensureTrustedDir, ensureTrustedSubdir } from '../../lib/network/state-dir';

describe('state directory trust', () => {
  let base: string;
  beforeEach(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sdir-')));
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('creates missing directories 0700 and returns the real path, through trusted relative links', () => {
    fs.mkdirSync(path.join(base, 'real'), { mode: 0o700 });
    fs.symlinkSync('real/../real', path.join(base, 'rel'));
    expect(ensureTrustedDir(path.join(base, 'rel', 'a', 'b'))).toBe(path.join(base, 'real', 'a', 'b'));
    expect(fs.statSync(path.join(base, 'real', 'a')).mode & 0o7777).toBe(0o700);
    expect(fs.statSync(path.join(base, 'real', 'a', 'b')).mode & 0o7777).toBe(0o700);
  });

  it('checks a subdirectory of a trusted directory by itself: made 0700, refused if a link, writable by others or not a directory', () => {
    expect(ensureTrustedSubdir(base, 'ipam')).toBe(path.join(base, 'ipam'));
    expect(fs.statSync(path.join(base, 'ipam')).mode & 0o7777).toBe(0o700);
    expect(ensureTrustedSubdir(base, 'ipam')).toBe(path.join(base, 'ipam')); // already there
    fs.mkdirSync(path.join(base, 'elsewhere'), { mode: 0o700 });
    fs.symlinkSync('elsewhere', path.join(base, 'linked'));
    expect(() => ensureTrustedSubdir(base, 'linked')).toThrow(/symbolic link/);
    fs.mkdirSync(path.join(base, 'open'));
    fs.chmodSync(path.join(base, 'open'), 0o777);
    expect(() => ensureTrustedSubdir(base, 'open')).toThrow(UnsafeStateDirError);
    fs.writeFileSync(path.join(base, 'file'), '');
    expect(() => ensureTrustedSubdir(base, 'file')).toThrow(/is not a directory/);
  });

  it('refuses link loops and files in the way', () => {
    fs.symlinkSync('loop2', path.join(base, 'loop1'));
    fs.symlinkSync('loop1', path.join(base, 'loop2'));
    expect(() => ensureTrustedDir(path.join(base, 'loop1'))).toThrow(UnsafeStateDirError);
    fs.writeFileSync(path.join(base, 'file'), '');
    expect(() => ensureTrustedDir(path.join(base, 'file', 'x'))).toThrow(/is not a directory/);
  });

  it('checks the directory finally reached, not the last name walked', () => {
    const sticky = path.join(base, 'sticky');
    fs.mkdirSync(path.join(sticky, 'mine'), { recursive: true, mode: 0o700 });
    fs.chmodSync(sticky, 0o1777);
    expect(ensureTrustedDir(path.join(sticky, 'mine'))).toBe(path.join(sticky, 'mine')); // a sticky parent is fine
    // "sticky/mine/.." is the sticky directory itself, which others can write: not a state directory.
    fs.symlinkSync('sticky/mine/..', path.join(base, 'up'));
    expect(() => ensureTrustedDir(path.join(base, 'up'))).toThrow(/writable by others/);
  });

  it('writes atomically under a fresh random name each time, leaving no temporary file', () => {
    const file = path.join(base, 'f.json');
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, 'two');
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(fs.readdirSync(base)).toEqual(['f.json']);
  });
});

describe('ownership marks', () => {
  it('round-trip, with odd sandbox ids hashed', () => {
    expect(parseMark(bridgeMark('0123abcd', 'web'))).toEqual({ tag: '0123abcd', network: 'web' });
    expect(parseMark(vethMark('0123abcd', 'web', '/proc/42/ns/net'))).toEqual({ tag: '0123abcd', network: 'web', id: '/proc/42/ns/net' });
    expect(vethMark('0123abcd', 'web', 'a\nb')).toMatch(/^nlkit:0123abcd:web\/#[0-9a-f]{16}$/);
    expect(vethMark('0123abcd', 'web', 'x'.repeat(300)).length).toBeLessThan(256);
    for (const other of [undefined, '', 'uplink', 'nlkit:zz:web', 'nlkit:0123abcd:Web']) expect(parseMark(other)).toBeUndefined();
  });
});
