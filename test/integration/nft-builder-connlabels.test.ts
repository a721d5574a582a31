// ct label names against nft. nft reads the names from /etc/connlabel.conf;
// the test never writes under /etc: it writes its connlabel.conf into a
// temporary directory and runs nft in a private mount namespace (`unshare -m`)
// where that directory is overlaid on /etc. nlkit gets the same file through
// readConnlabels(path). The request nft sends for `ct label set web` (names
// resolved by nft) carries the same bytes as nlkit's for setCtLabel('web'),
// and nft, seeing the same file, lists nlkit's committed rules by name. On a
// packet (loopback of the test namespace), the label set by name is the one
// matched by that name.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, nft as nftApi, rule } from '../../lib';
import type { RuleBuilder } from '../../lib/nftables/builder/builder';
import { Attributes } from '../../lib/netlink/parser';
import { NFTA_RULE_EXPRESSIONS } from '../../lib/nftables/constants';
import { nftLoad } from '../helpers/nft';
import { attributeTree, nftRequest, nlkitExpressionBytes } from '../helpers/nft-request';
import { useNetns } from '../helpers/netns';

const CONNLABEL_CONF = '# labels of the test\n0 first\n3 web # front end\n0x64 big\n127 last\n';

describe('ct label names: parity with nft reading connlabel.conf', () => {
  const box = useNetns('cl');
  let dir = '';
  /**
   * Runs a command in a private mount namespace with the test's connlabel.conf over /etc. `mount -n`: without
   * it, util-linux records the mount in /run/mount/utab, and /run is the host's directory in that namespace
   * too (the suite's leak check found /run/mount left on a fresh machine).
   */
  const withConf = (argv: string[]) => ['unshare', '-m', 'sh', '-c', `mount -n -t overlay overlay -o lowerdir=${dir}:/etc /etc && exec "$@"`, 'sh', ...argv];
  const nftWithConf = (...args: string[]) => {
    const [cmd, ...rest] = withConf(['ip', 'netns', 'exec', box.ns('cl'), 'nft', ...args]);
    const r = spawnSync(cmd, rest, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-connlabel-'));
    fs.writeFileSync(path.join(dir, 'connlabel.conf'), CONNLABEL_CONF);
    nftLoad(box.ns('cl'), 'table inet t {\n  chain c {\n    type filter hook input priority filter; policy accept;\n  }\n}\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases = (labels: nftApi.CtLabelMap): Array<[string, RuleBuilder]> => [
    ['ct label set web', rule().setCtLabel('web', { labels })],
    ['ct label set last', rule().setCtLabel('last', { labels })],
    ['ct label big', rule().ct({ label: 'big', labels })],
    ['ct label first', rule().ct({ label: 'first', labels })],
  ];

  it('readConnlabels reads the file nft reads', () => {
    expect(nftApi.readConnlabels(path.join(dir, 'connlabel.conf'))).toEqual({ first: 0, web: 3, big: 100, last: 127 });
  });

  it.each([0, 1, 2, 3])('case %i: nlkit sends the bytes nft sends for the label name', (i) => {
    const [text, builder] = cases(nftApi.readConnlabels(path.join(dir, 'connlabel.conf')))[i];
    const fromNft = new Attributes(nftRequest(box.ns('cl'), 2566, ['add', 'rule', 'inet', 't', 'c', ...text.split(' ')], withConf).subarray(4)).get(
      NFTA_RULE_EXPRESSIONS,
    );
    expect(fromNft, text).toBeDefined();
    const ours = nlkitExpressionBytes(builder.build('inet', { setId: () => 1 }).expressions);
    expect(attributeTree(ours!), text).toEqual(attributeTree(fromNft!));
  });

  it('committed by nlkit, nft (with the same file) lists the rules by name; without it, by bit', async () => {
    // Without the rules nft added while its requests were captured.
    nftLoad(box.ns('cl'), 'flush chain inet t c\n');
    const tx = box.h('cl').nft.transaction();
    for (const [, builder] of cases(nftApi.readConnlabels(path.join(dir, 'connlabel.conf'))))
      tx.addRule({ family: 'inet', table: 't', chain: 'c', rule: builder });
    await tx.commit();
    const ruleLines = (text: string) =>
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('ct label'));
    expect(ruleLines(nftWithConf('list', 'chain', 'inet', 't', 'c'))).toEqual([
      'ct label set "web"',
      'ct label set "last"',
      'ct label "big"',
      'ct label "first"',
    ]);
    if (!fs.existsSync('/etc/connlabel.conf')) {
      const plain = spawnSync('ip', ['netns', 'exec', box.ns('cl'), 'nft', 'list', 'chain', 'inet', 't', 'c'], { encoding: 'utf8' }).stdout;
      expect(ruleLines(plain)).toEqual(['ct label set 3', 'ct label set 127', 'ct label 100', 'ct label 0']);
    }
  });

  it('on a real packet: the label set by name is the one matched by that name, not another', async () => {
    const h = box.h('cl');
    const labels = nftApi.readConnlabels(path.join(dir, 'connlabel.conf'));
    const lt = { family: 'inet', table: 'lt', chain: 'in' } as const;
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 'lt' });
    tx.addChain({ family: 'inet', table: 'lt', name: 'in', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
    tx.addRule({ ...lt, rule: rule().udp({ dport: 5555 }).setCtLabel('web', { labels }) });
    tx.addRule({ ...lt, rule: rule().udp({ dport: 5555 }).ct({ label: 'web', labels }).counter() });
    tx.addRule({ ...lt, rule: rule().udp({ dport: 5555 }).ct({ label: 'first', labels }).counter() });
    await tx.commit();
    // Loopback of the test namespace only; nobody listens (the kernel answers port unreachable).
    const sock = await bindUdp({ netns: box.ns('cl'), host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => sock.send('x', 5555, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    sock.close();
    const counted = async () => (await h.nft.rules.list(lt)).flatMap((r) => r.expressions.flatMap((e) => (e.type === 'counter' ? [Number(e.packets)] : [])));
    for (let i = 0; i < 40 && (await counted())[0] === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await counted()).toEqual([1, 0]);
  });
});
