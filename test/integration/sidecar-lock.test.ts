// intercept() and remove() serialised across processes: two Node processes
// intercept the same pod namespace at once, again and again, with different
// options (different marks, routing tables, priorities, ports, exclusions);
// the pod ends with exactly one of the two interceptions, as that one alone
// writes it (table, policy rules, routes), and its check() is clean. The
// lock files go with the last holder.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intercept, ValidationError, type InterceptOptions } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';
import { nft } from '../helpers/nft';

const FIXTURE = path.join(__dirname, '../fixtures/intercept-race.cjs');
const ROUNDS = 12;

/** The pod's interception state as text and JSON without handles: equal for equal interceptions. */
function podState(netns: string): unknown {
  return {
    nft: nft(netns, 'list', 'ruleset'),
    rules4: ipJson(netns, '-4', 'rule'),
    rules6: ipJson(netns, '-6', 'rule'),
    routes4: ipJson(netns, '-4', 'route', 'show', 'table', 'all'),
    routes6: ipJson<Array<{ dst: string }>>(netns, '-6', 'route', 'show', 'table', 'all').filter((r) => !r.dst.startsWith('fe80::')),
  };
}

/** One racing process, driven line by line. */
class Racer {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private readonly waiters: Array<(l: string) => void> = [];
  stderr = '';

  constructor(opts: InterceptOptions) {
    this.child = spawn(process.execPath, [FIXTURE, JSON.stringify(opts), String(ROUNDS)]);
    this.child.stderr.on('data', (d) => (this.stderr += String(d)));
    readline.createInterface({ input: this.child.stdout }).on('line', (l) => (this.waiters.shift() ?? ((x: string) => this.lines.push(x)))(l));
  }

  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.child.once('exit', (code) => reject(new Error(`racer exited (${String(code)}): ${this.stderr}`)));
    });
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }
}

describe('intercept() across processes', () => {
  const box = useNetns('pod');
  let stateDir: string;
  const pod = () => box.ns('pod');
  const a = (): InterceptOptions => ({ netns: pod(), stateDir, mode: 'tproxy', outboundPort: 15101, exclude: { marks: [0x539] } });
  const b = (): InterceptOptions => ({
    netns: pod(),
    stateDir,
    mode: 'tproxy',
    outboundPort: 15201,
    inboundPort: 15206,
    mark: 2,
    table: 134,
    rulePriority: 31000,
    exclude: { uids: [1337], cidrs: ['10.0.0.0/8'] },
  });
  const alone: Record<'a' | 'b', unknown> = { a: undefined, b: undefined };
  let empty: unknown;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sidecar-lock-'));
    await box.h('pod').links.set('lo', { up: true });
    ip(pod(), 'rule', 'add', 'pref', '500', 'from', '10.62.0.99', 'lookup', '77'); // someone else's
    empty = podState(pod());
    for (const [key, opts] of [
      ['a', a()],
      ['b', b()],
    ] as const) {
      const i = await intercept(opts);
      alone[key] = podState(pod());
      await i.remove();
    }
    expect(podState(pod())).toEqual(empty);
    expect(alone.a).not.toEqual(alone.b);
  });
  afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('refuses a state directory that is not a path, before anything is written', async () => {
    await expect(intercept({ ...a(), stateDir: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(intercept({ ...a(), stateDir: 5 as never })).rejects.toMatchObject({ field: 'stateDir' });
    expect(podState(pod())).toEqual(empty);
  });

  it.each([
    ['other routing', () => b(), 'routing'],
    ['the same routing but other ports', (): InterceptOptions => ({ ...a(), outboundPort: 15301, inboundPort: 15306 }), 'ports or exclusions'],
  ] as const)(
    'an interception replaced by a later intercept() with %s leaves it in place: its remove() removes nothing, its reconcile() repairs nothing, its check() says so',
    async (_, replacement, what) => {
      const first = await intercept(a());
      const second = await intercept(replacement()); // replaces the first: its table (and its rules and routes, if they differ) go
      try {
        const replacedState = podState(pod());
        expect(replacedState).not.toEqual(alone.a);
        if (what === 'routing') expect(replacedState).toEqual(alone.b); // b() alone, routing included
        const replaced = [{ kind: 'table-replaced', detail: expect.stringMatching(new RegExp(`another intercept\\(\\) replaced it, with other ${what}$`)) }];
        expect(await first.check()).toEqual(replaced);
        expect(await first.reconcile()).toEqual(replaced);
        expect(podState(pod())).toEqual(replacedState);
        await first.remove();
        expect(podState(pod())).toEqual(replacedState);
        expect(await second.check()).toEqual([]);
      } finally {
        first.close();
        await second.remove();
      }
      expect(podState(pod())).toEqual(empty);
    },
  );

  it('an equal interception written since (same options) is taken as its own: its drift is repaired, remove() removes it', async () => {
    const first = await intercept(a());
    const second = await intercept(a()); // a new table, equal to the first's
    second.close();
    const table = () => nft(pod(), 'list', 'table', 'inet', 'nlkit-sidecar');
    expect(await first.check()).toEqual([]);
    // Drift made from outside on the table in place (its handle stays): repaired by the first.
    nft(pod(), 'flush', 'chain', 'inet', 'nlkit-sidecar', 'output');
    expect((await first.check()).map((d) => d.kind)).toContain('rule-missing');
    await first.reconcile();
    expect(await first.check()).toEqual([]);
    expect(table()).toContain('15101');
    await first.remove();
    expect(podState(pod())).toEqual(empty);
  });

  it('two processes racing with different options leave exactly one interception, as written alone, and its check() clean', async () => {
    const racers = [new Racer(a()), new Racer(b())];
    try {
      for (const r of racers) expect(await r.next()).toBe('ready');
      for (const r of racers) r.send('go');
      for (const r of racers) expect(await r.next()).toBe('done');
      const final = podState(pod());
      const winner = (final as { nft: string }).nft.includes('table=134') ? 1 : 0;
      expect(final).toEqual(winner === 1 ? alone.b : alone.a);
      for (const r of racers) r.send('check');
      const checks = await Promise.all(racers.map(async (r) => JSON.parse(await r.next()) as unknown[]));
      expect(checks[winner]).toEqual([]);
      expect(checks[1 - winner].length).toBeGreaterThan(0);
    } finally {
      for (const r of racers) r.child.kill();
    }
    // The last interception goes the usual way; no lock file stays behind.
    const last = await intercept(a());
    await last.remove();
    expect(podState(pod())).toEqual(empty);
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });
});
