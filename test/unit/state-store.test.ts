// The network state store: publications go to a journal, the parsed state is
// kept in memory, and two stores on one directory (two processes) stay in step.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptStateError } from '../../lib/network/errors';
import { StateStore, type PublicationRecord } from '../../lib/network/state';
import { networkRecord as net } from '../helpers/network-record';

const pub = (port: number, ip = '10.0.0.2'): PublicationRecord => ({
  key: `tcp:*:${port}`,
  network: 'n',
  protocol: 'tcp',
  hostPort: port,
  backends: [{ id: 'c', ipv4: ip, port: 80, weight: 1 }],
});

describe('state store', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-state-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('appends publication changes to a journal that another store (process) reads', async () => {
    const a = new StateStore(dir);
    const b = new StateStore(dir);
    await a.update((s) => void (s.networks.n = net('n')));
    await a.edit((_s, e) => e.put(pub(8080)));
    await a.edit((_s, e) => e.put(pub(8081)));
    expect(fs.existsSync(path.join(dir, 'state.journal'))).toBe(true);
    expect(Object.keys((await b.snapshot()).publications).sort()).toEqual(['tcp:*:8080', 'tcp:*:8081']);
    await b.edit((_s, e) => e.remove('tcp:*:8080'));
    await b.edit((_s, e) => e.put(pub(8081, '10.0.0.3')));
    const seen = await a.snapshot();
    expect(Object.keys(seen.publications)).toEqual(['tcp:*:8081']);
    expect(seen.publications['tcp:*:8081'].backends[0].ipv4).toBe('10.0.0.3');
    expect(new StateStore(dir).read()).toEqual(seen);
  });

  it('refuses a state file or journal line of the wrong shape (CorruptStateError), also one appended since the last read', async () => {
    const a = new StateStore(dir);
    await a.update((s) => void (s.networks.n = net('n')));
    await a.edit((_s, e) => e.put(pub(8080)));
    const { journal } = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
    const file = path.join(dir, 'state.journal');
    // Another writer's line, read incrementally by a (which has the rest cached): refused, and refused again.
    fs.appendFileSync(file, JSON.stringify({ journal, kind: 'publication', key: 'tcp:*:1', publication: { ...pub(1), hostPort: 'x' } }) + '\n');
    const reason = /line 1 of those appended since it was last read: line\.publication\.hostPort is not a port number/;
    await expect(a.snapshot()).rejects.toThrow(expect.objectContaining({ name: 'CorruptStateError', path: file, reason: expect.stringMatching(reason) }));
    await expect(a.edit((_s, e) => e.remove('tcp:*:8080'))).rejects.toThrow(CorruptStateError);
    expect(() => new StateStore(dir).read()).toThrow(expect.objectContaining({ reason: expect.stringMatching(/^line 2: /) }));
    fs.rmSync(file);
    fs.writeFileSync(
      path.join(dir, 'state.json'),
      JSON.stringify({ version: 1, networks: { n: net('n') }, attachments: { n: { c: { network: 'n' } } }, publications: {} }),
    );
    expect(() => new StateStore(dir).read()).toThrow(expect.objectContaining({ reason: 'state.attachments["n"]["c"].id is missing' }));
    fs.writeFileSync(path.join(dir, 'state.json'), '{"version":1}');
    expect(() => new StateStore(dir).read()).toThrow(expect.objectContaining({ reason: 'state.networks is missing' }));
  });

  it('answers port overlap queries from its index, ranges included', async () => {
    const a = new StateStore(dir);
    await a.update(() => undefined);
    await a.edit((_s, e) => {
      e.put(pub(8080));
      e.put({ ...pub(9000), key: 'tcp:*:9000-9010', hostPortEnd: 9010 });
    });
    await a.edit((_s, e) => {
      expect(e.overlapping('tcp', 8080).map((p) => p.key)).toEqual(['tcp:*:8080']);
      expect(e.overlapping('udp', 8080)).toEqual([]);
      expect(e.overlapping('tcp', 9005).map((p) => p.key)).toEqual(['tcp:*:9000-9010']);
      expect(
        e
          .overlapping('tcp', 8000, 9000)
          .map((p) => p.key)
          .sort(),
      ).toEqual(['tcp:*:8080', 'tcp:*:9000-9010']);
    });
    await a.edit((_s, e) => e.remove('tcp:*:8080'));
    await a.edit((_s, e) => expect(e.overlapping('tcp', 8080)).toEqual([]));
  });

  it('ignores a line a dead writer left unfinished, and cuts it before appending', async () => {
    const a = new StateStore(dir);
    await a.update(() => undefined);
    await a.edit((_s, e) => e.put(pub(1)));
    fs.appendFileSync(path.join(dir, 'state.journal'), '{"journal":"x","kind":"publication","key":"tcp:*:2","publication":{');
    const b = new StateStore(dir);
    expect(Object.keys((await b.snapshot()).publications)).toEqual(['tcp:*:1']);
    await b.edit((_s, e) => e.put(pub(3)));
    expect(Object.keys(new StateStore(dir).read().publications)).toEqual(['tcp:*:1', 'tcp:*:3']);
  });

  it('folds the journal into the state file on other changes and when it grows, and drops stale journal lines', async () => {
    const a = new StateStore(dir);
    await a.update(() => undefined);
    // The journal holds at most max(1,024, publications) lines.
    for (let i = 1; i <= 1100; i++) await a.edit((_s, e) => e.put(pub(i)));
    for (let i = 0; i < 1100; i++) await a.edit((_s, e) => e.put(pub(1, `10.0.${i >> 8}.${i & 255}`)));
    const journal = path.join(dir, 'state.journal');
    expect(fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean).length).toBeLessThanOrEqual(1100);
    const back = new StateStore(dir).read();
    expect(Object.keys(back.publications)).toHaveLength(1100);
    expect(back.publications['tcp:*:1'].backends[0].ipv4).toBe('10.0.4.75');
    await a.update((s) => void delete s.publications['tcp:*:1']);
    expect(fs.existsSync(journal)).toBe(false);
    // A journal left by a writer that died between rewriting the state and removing it is stale.
    fs.writeFileSync(journal, JSON.stringify({ journal: 'old', kind: 'publication', key: 'tcp:*:1', publication: pub(1) }) + '\n');
    expect(Object.keys(new StateStore(dir).read().publications)).toHaveLength(1099);
    expect(Object.keys((await a.snapshot()).publications)).toHaveLength(1099);
  });

  it('reads a state file written before the journal existed', async () => {
    fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ version: 1, networks: {}, attachments: {}, publications: { 'tcp:*:5': pub(5) } }));
    const a = new StateStore(dir);
    expect(Object.keys((await a.snapshot()).publications)).toEqual(['tcp:*:5']);
    await a.edit((_s, e) => e.put(pub(6)));
    expect(Object.keys(new StateStore(dir).read().publications).sort()).toEqual(['tcp:*:5', 'tcp:*:6']);
  });

  it('writes journal lines with named fields', async () => {
    const a = new StateStore(dir);
    await a.update((s) => void (s.networks.n = net('n')));
    const att = {
      network: 'n',
      id: 'c',
      sandboxPath: '/run/netns/c',
      ownsSandbox: false,
      ifname: 'eth0',
      hostIfname: 'nv1',
      mac: '02:00:00:00:00:01',
      ipv4: '10.0.0.2',
    };
    await a.edit((_s, e) => {
      e.put(pub(8080));
      e.putAttachment(att);
    });
    await a.edit((_s, e) => {
      e.remove('tcp:*:8080');
      e.removeAttachment('n', 'c');
    });
    const lines = fs
      .readFileSync(path.join(dir, 'state.journal'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const id = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).journal;
    expect(lines).toEqual([
      { journal: id, kind: 'publication', key: 'tcp:*:8080', publication: pub(8080) },
      { journal: id, kind: 'attachment', network: 'n', id: 'c', attachment: att },
      { journal: id, kind: 'publication', key: 'tcp:*:8080' },
      { journal: id, kind: 'attachment', network: 'n', id: 'c' },
    ]);
    expect(fs.existsSync(path.join(dir, 'publications.journal'))).toBe(false);
  });

  it('keeps a state directory of nlkit 0.1 working: its publications.journal (one-letter fields) is read, then folded in', async () => {
    const att = (id: string) => ({
      network: 'n',
      id,
      sandboxPath: `/run/netns/${id}`,
      ownsSandbox: true,
      sandboxName: id,
      ifname: 'eth0',
      hostIfname: `nv${id}`,
      mac: '02:00:00:00:00:01',
      ipv4: '10.0.0.2',
    });
    // What 0.1 left: the state file with its journal id, and journal lines in the old form.
    fs.writeFileSync(
      path.join(dir, 'state.json'),
      JSON.stringify({ version: 1, networks: { n: net('n') }, attachments: { n: {} }, publications: { 'tcp:*:1': pub(1) }, journal: 'j1' }),
    );
    const old = [
      { j: 'j1', k: 'tcp:*:2', p: pub(2) },
      { j: 'j1', k: 'tcp:*:1' },
      { j: 'j1', n: 'n', a: 'c1', v: att('c1') },
      { j: 'j1', n: 'n', a: 'c2', v: att('c2') },
      { j: 'j1', n: 'n', a: 'c2' },
      { j: 'stale', k: 'tcp:*:9', p: pub(9) },
    ];
    fs.writeFileSync(path.join(dir, 'publications.journal'), old.map((l) => JSON.stringify(l) + '\n').join('') + '{"j":"j1","k":"tcp:*:3"');
    const expected = (st: ReturnType<StateStore['read']>) => {
      expect(Object.keys(st.publications)).toEqual(['tcp:*:2']);
      expect(Object.keys(st.attachments.n)).toEqual(['c1']);
      expect(st.attachments.n.c1).toEqual(att('c1'));
    };
    // Read without the lock: nothing is written.
    expected(new StateStore(dir).read());
    expect(fs.existsSync(path.join(dir, 'publications.journal'))).toBe(true);
    // The first locked access folds the old journal into the state file.
    const a = new StateStore(dir);
    expected(await a.snapshot());
    expect(fs.existsSync(path.join(dir, 'publications.journal'))).toBe(false);
    expected(new StateStore(dir).read());
    // New changes go to the new journal, in the new form.
    await a.edit((_s, e) => e.put(pub(4)));
    expect(fs.existsSync(path.join(dir, 'publications.journal'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'state.journal'), 'utf8'))).toMatchObject({ kind: 'publication', key: 'tcp:*:4' });
    expect(Object.keys(new StateStore(dir).read().publications).sort()).toEqual(['tcp:*:2', 'tcp:*:4']);
  });

  it('leaves the state unchanged when the change fails', async () => {
    const a = new StateStore(dir);
    await a.update(() => undefined);
    await a.edit((_s, e) => e.put(pub(1)));
    await expect(
      a.edit((_s, e) => {
        e.put(pub(2));
        throw new Error('kernel said no');
      }),
    ).rejects.toThrow('kernel said no');
    await expect(
      a.update((s) => {
        s.publications['tcp:*:9'] = pub(9);
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(Object.keys((await a.snapshot()).publications)).toEqual(['tcp:*:1']);
  });
});
