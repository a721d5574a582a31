// The services store gives a change the record it last read or wrote (same
// object, so its layout is not made again) while the file still says the
// same, and a fresh record otherwise; `read()` (what get/list return) is
// always the caller's own copy.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnsafeStateDirError } from '../../lib/netlink/errors';
import { CorruptStateError } from '../../lib/network/errors';
import { toServiceRecord } from '../../lib/services/spec';
import { ServiceStore } from '../../lib/services/store';
import { objectsOf } from '../../lib/services/table';

const web = (ip: string) => toServiceRecord({ name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80 }], endpoints: [{ ip }] });

describe('services store', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-p99-store-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives a change the record it wrote while the file is unchanged, a new one once someone else changed it', () => {
    const store = new ServiceStore(dir);
    const rec = web('10.0.0.2');
    store.write(rec);
    expect(store.readShared('web')).toBe(rec);
    expect(store.readShared('web')).toBe(rec);
    // Another process (another store on the same directory) changes the service.
    new ServiceStore(dir).write(web('10.0.0.3'));
    const changed = store.readShared('web');
    expect(changed).not.toBe(rec);
    expect(changed?.endpoints.map((e) => e.ip)).toEqual(['10.0.0.3']);
    expect(store.readShared('web')).toBe(changed);
    // A hand-edited file (same JSON, other spacing) is parsed again.
    fs.writeFileSync(path.join(dir, 'services', 'records', 'web.json'), JSON.stringify(changed, null, 1));
    const edited = store.readShared('web');
    expect(edited).not.toBe(changed);
    expect(edited).toEqual(changed);
    store.remove('web');
    expect(store.readShared('web')).toBeUndefined();
  });

  it("read() is always the caller's own copy", () => {
    const store = new ServiceStore(dir);
    store.write(web('10.0.0.2'));
    const shared = store.readShared('web');
    const mine = store.read('web');
    expect(mine).toEqual(shared);
    expect(mine).not.toBe(shared);
    mine?.endpoints.push({ ip: '10.0.0.9', weight: 1, ready: true, serving: true, terminating: false });
    expect(store.readShared('web')?.endpoints).toHaveLength(1);
  });

  it('lays a record out once: the same record object gives the same layout', () => {
    const rec = web('10.0.0.2');
    expect(objectsOf(rec)).toBe(objectsOf(rec));
    const copy = web('10.0.0.2');
    expect(objectsOf(copy)).not.toBe(objectsOf(rec));
    expect(objectsOf(copy)).toEqual(objectsOf(rec));
  });
  it('gives get/list plain objects, as the object literals did (a user compares, inspects or clones them)', () => {
    const store = new ServiceStore(dir);
    store.write(toServiceRecord({ name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80, nodePort: 30080 }], endpoints: [{ ip: '10.0.0.2' }] }));
    const expected = {
      name: 'web',
      vips: ['10.96.0.10'],
      externalIps: [],
      ports: [{ protocol: 'tcp', port: 80, targetPort: 80, nodePort: 30080 }],
      endpoints: [{ ip: '10.0.0.2', weight: 1, ready: true, serving: true, terminating: false, port: undefined }],
      affinitySeconds: undefined,
    };
    for (const rec of [store.read('web'), ...store.readAll().values()]) {
      expect(rec).toStrictEqual(expected);
      for (const o of [rec, rec!.ports[0], rec!.endpoints[0]]) expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
      expect(inspect(rec, { depth: 0 })).toMatch(/^\{/);
    }
  });

  it("throws CorruptStateError for a record file that is not its service's record, also after it gave the record out", () => {
    const store = new ServiceStore(dir);
    const rec = web('10.0.0.2');
    store.write(rec);
    const file = path.join(dir, 'services', 'records', 'web.json');
    for (const [text, reason] of [
      ['{"name":"web","vips":["10.96.0.10"],"externalIps":[],"ports":[{"protocol":"tcp","port":80,"targetPort":80}],"endpo', /^is not JSON/],
      [JSON.stringify({ ...rec, endpoints: 'none' }), /^record\.endpoints is not an array$/],
      [JSON.stringify({ ...rec, endpoints: [{ ...rec.endpoints[0], weight: 10001 }] }), /^record\.endpoints\[0\]\.weight is not a weight 0-10000$/],
      [JSON.stringify({ ...rec, affinitySeconds: 0 }), /^record\.affinitySeconds is not a number of seconds 1-86400$/],
      [JSON.stringify({ ...rec, externalIps: ['fd00:0::1'] }), /^record\.externalIps\[0\] is not in canonical form \("fd00:0::1", not "fd00::1"\)$/],
    ] as Array<[string, RegExp]>) {
      fs.writeFileSync(file, text);
      for (const read of [() => store.readShared('web'), () => store.read('web'), () => store.readAll()]) {
        let e: unknown;
        try {
          read();
        } catch (x) {
          e = x;
        }
        expect(e).toBeInstanceOf(CorruptStateError);
        expect((e as CorruptStateError).path).toBe(file);
        expect((e as CorruptStateError).reason).toMatch(reason);
      }
    }
    // A record an older nlkit wrote with a special address is a record (check() reports it), and without its optional fields.
    fs.writeFileSync(file, JSON.stringify({ ...rec, vips: ['127.0.0.1', 'ff02::1'], endpoints: [] }));
    expect(store.read('web')?.vips).toEqual(['127.0.0.1', 'ff02::1']);
  });

  it('refuses a services/ or records/ directory someone else could change: a symbolic link, group- or world-writable', () => {
    new ServiceStore(dir).write(web('10.0.0.2'));
    const services = path.join(dir, 'services');
    const records = path.join(services, 'records');
    // records/ a link to another directory (of records someone else chose): read as this host's services.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-p99-elsewhere-'));
    try {
      fs.renameSync(records, path.join(elsewhere, 'records'));
      fs.symlinkSync(path.join(elsewhere, 'records'), records);
      expect(() => new ServiceStore(dir)).toThrow(UnsafeStateDirError);
      fs.rmSync(records);
      fs.renameSync(path.join(elsewhere, 'records'), records);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
    for (const d of [services, records]) {
      fs.chmodSync(d, 0o770);
      expect(() => new ServiceStore(dir)).toThrow(/is writable by its group/);
      fs.chmodSync(d, 0o700);
    }
    expect(new ServiceStore(dir).read('web')?.endpoints[0].ip).toBe('10.0.0.2');
  });
});
