// The suite's leave-nothing-behind check (test/helpers/global-setup.ts) must
// notice each kind of leftover, or it proves nothing.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diffHostState, removeNewNetnsDir, type HostState } from '../helpers/host-state';

const base: HostState = { links: ['1:lo', '2:eth0'], namespaces: ['theirs'], ruleset: '', run: ['/run/lock', '/run/netns'] };

describe('host state check', () => {
  it('finds nothing when nothing changed', () => {
    expect(diffHostState(base, { ...base })).toEqual([]);
  });

  it('reports links, namespaces, ruleset changes and files left in /run or /dev/shm', () => {
    const after: HostState = {
      links: ['1:lo', '2:eth0', '9:nlk-x'],
      namespaces: ['mine'],
      ruleset: 'table inet nlkit {}',
      run: ['/dev/shm/libpod_lock', '/run/lock', '/run/netns', '/run/nlkit', '/run/nlkit/host'],
    };
    expect(diffHostState(base, after)).toEqual([
      'links added to the root namespace: 9:nlk-x',
      'namespaces left under /run/netns: mine',
      'namespaces that existed before were removed: theirs',
      'the root nftables ruleset changed',
      'left in /run or /dev/shm: /dev/shm/libpod_lock, /run/nlkit, /run/nlkit/host',
    ]);
  });

  it('takes away a namespace directory the suite made, only when it is new and empty', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-hoststate-'));
    try {
      const dir = path.join(root, 'netns');
      fs.mkdirSync(dir);
      removeNewNetnsDir({ ...base, run: [] }, dir); // new and empty: removed
      expect(fs.existsSync(dir)).toBe(false);
      fs.mkdirSync(dir);
      removeNewNetnsDir({ ...base, run: [dir] }, dir); // there before: kept
      expect(fs.existsSync(dir)).toBe(true);
      fs.writeFileSync(path.join(dir, 'left'), '');
      removeNewNetnsDir({ ...base, run: [] }, dir); // a namespace left in it: kept, the diff reports it
      expect(fs.readdirSync(dir)).toEqual(['left']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
