import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/netlink/errors';
import { AddressPool } from '../../lib/network/address-pool';
import { CorruptStateError } from '../../lib/network/errors';
import { AddressInUseError, Ipam, IpamExhaustedError } from '../../lib/network/ipam';

const dirs: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-ipam-'));
  dirs.push(d);
  return d;
}
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('AddressPool', () => {
  it('knows the usable host addresses of a subnet', () => {
    const p = new AddressPool('10.88.0.7/24');
    expect(p.subnet).toBe('10.88.0.0/24');
    expect(p.gateway).toBe('10.88.0.1');
    expect(p.usable('10.88.0.2')).toBe(true);
    expect(p.usable('10.88.0.0')).toBe(false);
    expect(p.usable('10.88.0.1')).toBe(false);
    expect(p.usable('10.88.0.255')).toBe(false);
    expect(p.usable('10.89.0.2')).toBe(false);
    expect(p.nextFree(() => false)).toBe('10.88.0.2');
    expect(p.nextFree(() => false, '10.88.0.254')).toBe('10.88.0.2'); // wraps
    expect(new AddressPool('fd00:88::/64').nextFree(() => false)).toBe('fd00:88::2');
    expect(new AddressPool('10.0.0.0/8').overlaps(new AddressPool('10.88.0.0/24'))).toBe(true);
    expect(new AddressPool('10.0.0.0/16').overlaps(new AddressPool('10.1.0.0/16'))).toBe(false);
    expect(() => new AddressPool('10.0.0.0/31')).toThrow(ValidationError);
    expect(() => new AddressPool('10.0.0.0/24', '10.1.0.1')).toThrow(/not inside/);
  });
});

describe('Ipam', () => {
  it('allocates round-robin, honours requests, is idempotent per owner, and releases', async () => {
    const ipam = new Ipam(tmpdir(), 'net1', [new AddressPool('10.88.0.0/29'), new AddressPool('fd00:88::/64')]);
    const a = await ipam.allocate('a');
    expect(a).toEqual({ ipv4: '10.88.0.2', ipv6: 'fd00:88::2' });
    expect(await ipam.allocate('a')).toEqual(a);
    expect(await ipam.allocate('b', { ipv4: '10.88.0.5' })).toEqual({ ipv4: '10.88.0.5', ipv6: 'fd00:88::3' });
    await expect(ipam.allocate('c', { ipv4: '10.88.0.5' })).rejects.toBeInstanceOf(AddressInUseError);
    await expect(ipam.allocate('c', { ipv4: '10.88.0.1' })).rejects.toBeInstanceOf(ValidationError);
    expect((await ipam.allocate('c')).ipv4).toBe('10.88.0.3');
    expect(await ipam.release('a')).toEqual(['10.88.0.2', 'fd00:88::2']);
    expect(Object.values(await ipam.list())).not.toContain('a');
  });

  it('refuses a lease file of the wrong shape (CorruptStateError): its addresses are never handed out again', async () => {
    const dir = tmpdir();
    const ipam = new Ipam(dir, 'n', [new AddressPool('10.66.0.0/29')]);
    expect((await ipam.allocate('a')).ipv4).toBe('10.66.0.2');
    const file = path.join(dir, 'n.json');
    for (const [text, reason] of [
      ['[]', /^leases is not an object$/], // read as no leases, 10.66.0.2 went to b as well
      ['{"version":1,"allocations":{"10.66.0.2":7}}', /^leases\.allocations\["10\.66\.0\.2"\] is not a string$/],
      ['{"version":1,"alloc', /^is not JSON/],
    ] as Array<[string, RegExp]>) {
      fs.writeFileSync(file, text, { mode: 0o600 });
      await expect(ipam.allocate('b')).rejects.toThrow(
        expect.objectContaining({ name: 'CorruptStateError', path: file, reason: expect.stringMatching(reason) }),
      );
      await expect(ipam.list()).rejects.toThrow(CorruptStateError);
      expect(fs.readFileSync(file, 'utf8')).toBe(text);
    }
  });

  it('reports exhaustion with a typed error', async () => {
    const ipam = new Ipam(tmpdir(), 'tiny', [new AddressPool('10.9.0.0/30')]);
    expect((await ipam.allocate('x')).ipv4).toBe('10.9.0.2');
    await expect(ipam.allocate('y')).rejects.toBeInstanceOf(IpamExhaustedError);
  });

  it('never hands out the same address to two processes allocating at once', async () => {
    const dir = tmpdir();
    const script = `
      const { Ipam } = require(${JSON.stringify(path.resolve('dist/network/ipam.js'))});
      const { AddressPool } = require(${JSON.stringify(path.resolve('dist/network/address-pool.js'))});
      const ipam = new Ipam(process.argv[1], 'shared', [new AddressPool('10.77.0.0/24')]);
      Promise.all(Array.from({ length: 60 }, (_, i) => ipam.allocate(process.argv[2] + i)))
        .then((l) => console.log(JSON.stringify(l.map((x) => x.ipv4))));
    `;
    expect(fs.existsSync('dist/network/ipam.js'), 'npm run build:ts first (npm test does)').toBe(true);
    const run = (tag: string) => promisify(execFile)(process.execPath, ['-e', script, dir, tag]);
    const [p1, p2] = await Promise.all([run('p'), run('q')]);
    const all = [...JSON.parse(p1.stdout), ...JSON.parse(p2.stdout)];
    expect(all).toHaveLength(120);
    expect(new Set(all).size).toBe(120);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'shared.json'), 'utf8')).allocations)).toHaveLength(120);
  });
});
