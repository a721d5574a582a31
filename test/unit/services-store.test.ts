// The services store gives a change the record it last read or wrote (same
// object, so its layout is not made again) while the file still says the
// same, and a fresh record otherwise; `read()` (what get/list return) is
// always the caller's own copy.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
});
