// Review of the services change path (svc-p99): a service whose virtual IP
// is also one of its external IPs, and a record reused across changes while
// another process changes its file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { services } from '../../lib';
import { useNetns } from '../helpers/netns';

describe('services changes (review2)', () => {
  const box = useNetns('review2svc');
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a virtual IP also listed as external IP: created, changed and removed without drift', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-review2-'));
    dirs.push(stateDir);
    const svcs = await services({ host: box.ns('review2svc'), stateDir });
    try {
      const eps = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ ip: `10.88.0.${i + from + 1}` }));
      await svcs.add({ name: 'web', vips: ['10.96.0.10'], externalIps: ['10.96.0.10'], ports: [{ port: 80, nodePort: 30080 }], endpoints: eps(3) });
      expect(await svcs.check()).toEqual([]);
      await svcs.set('web', { endpoints: eps(3, 2) });
      expect(await svcs.check()).toEqual([]);
      // Another process's change of the record (same service, another endpoint list) is read, not the record this one wrote.
      const file = path.join(stateDir, 'services', 'records', 'web.json');
      const other = await services({ host: box.ns('review2svc'), stateDir });
      try {
        await other.set('web', { endpoints: eps(2, 10) });
      } finally {
        other.close();
      }
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).endpoints.map((e: { ip: string }) => e.ip)).toEqual(['10.88.0.11', '10.88.0.12']);
      await svcs.set('web', { endpoints: eps(1, 20) });
      expect(await svcs.check()).toEqual([]);
      await svcs.delete('web');
      expect(await svcs.check()).toEqual([]);
    } finally {
      svcs.close();
    }
  });
});
