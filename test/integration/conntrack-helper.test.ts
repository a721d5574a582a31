// A connection assigned a conntrack helper (here nft's `ct helper set` with
// the kernel's ftp helper) lists the helper's name, as `conntrack -L` shows
// `helper=ftp`.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { connectTcp, listenTcp } from '../../lib';
import { useNetns } from '../helpers/netns';

describe('conntrack helper', () => {
  const box = useNetns('ct');

  it('lists the helper of a flow, and none for the others', async () => {
    const ns = box.ns('ct');
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
      input: `table inet t {
        ct helper ftp-h { type "ftp" protocol tcp; }
        chain out { type filter hook output priority 0;
          tcp dport 2121 ct helper set "ftp-h"
        }
      }`,
    });
    const closers: Array<() => void> = [];
    try {
      for (const port of [2121, 2122]) {
        const server = await listenTcp({ netns: ns, host: '127.0.0.1', port }, (s) => s.on('data', () => s.end()));
        closers.push(() => server.close());
        const c = await connectTcp({ netns: ns, host: '127.0.0.1', port });
        closers.push(() => c.destroy());
      }
      const h = box.h('ct');
      const [ftp] = await h.conntrack.list({ protocol: 'tcp', original: { dport: 2121 } });
      const [plain] = await h.conntrack.list({ protocol: 'tcp', original: { dport: 2122 } });
      expect(ftp.helper).toBe('ftp');
      expect(ftp.status).toContain('helper');
      expect(plain).toBeDefined();
      expect(plain.helper).toBeUndefined();
      const cli = execFileSync('ip', ['netns', 'exec', ns, 'conntrack', '-L', '-p', 'tcp', '--dport', '2121'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(cli).toContain('helper=ftp');
    } finally {
      for (const c of closers) c();
    }
  });
});
