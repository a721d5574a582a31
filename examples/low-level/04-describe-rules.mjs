// Reading rules back as text: describeNftRule turns a listed rule (the
// kernel's expressions) into the statement nft would print, for logs and
// debugging — anonymous sets inline when given the table's sets.
// Run as root: node examples/low-level/04-describe-rules.mjs
import { describeNftRule, rule, not } from 'nlkit';
import { expectEqual, withNamespaces } from './lab.mjs';

await withNamespaces(['fw'], async ({ h }) => {
  const T = { family: 'inet', table: 'filter' };
  const F = { ...T, chain: 'input' };
  const tx = h.fw.nft.transaction();
  tx.addTable({ family: 'inet', name: 'filter' });
  tx.addChain({ ...T, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
  tx.addRule({
    ...F,
    rule: rule()
      .ct({ state: ['established', 'related'] })
      .accept(),
  });
  tx.addRule({ ...F, rule: rule().iifname('lo').accept() });
  tx.addRule({
    ...F,
    rule: rule()
      .tcp({ dport: [22, 80, 443] })
      .counter()
      .accept(),
    comment: 'web and ssh',
  });
  tx.addRule({
    ...F,
    rule: rule()
      .ip({ saddr: not('10.0.0.0/8') })
      .udp({ dport: '1000-2000' })
      .drop(),
  });
  tx.addRule({ ...F, rule: rule().limit({ rate: 10, per: 'second' }).log({ prefix: 'in: ' }) });
  tx.addRule({ ...F, rule: rule().reject({ with: 'tcp reset' }) });
  await tx.commit();

  const { rules, sets } = await h.fw.nft.ruleset.get(T);
  const text = rules.map((r) => describeNftRule(r, { sets }));
  for (const [i, r] of rules.entries()) console.log(`[handle ${r.handle}] ${text[i]}`);
  expectEqual(
    text,
    [
      'ct state established,related accept',
      'iifname "lo" accept',
      'tcp dport { 22, 80, 443 } counter packets 0 bytes 0 accept comment "web and ssh"',
      'ip saddr != 10.0.0.0/8 udp dport 1000-2000 drop',
      'limit rate 10/second log prefix "in: "',
      'meta l4proto tcp reject with tcp reset',
    ],
    'rules as text',
  );
});
