// The rule builder: a small input firewall for the "server" namespace, built
// with rule() instead of nft syntax, committed in one transaction, and tested
// with real connections from two client namespaces.
// Run as root: node examples/nftables/01-rule-builder.mjs
import { not, rule } from 'nlkit';
import { expectEqual, ip, probe, withLan } from './lab.mjs';

await withLan(async ({ ns, h, serve }) => {
  await serve(80, 23, 8080, 9000);
  const F = { family: 'inet', table: 'filter', chain: 'input' };

  const tx = h.server.nft.transaction();
  tx.addTable({ family: 'inet', name: 'filter' });
  // nft: add chain inet filter input { type filter hook input priority filter; policy drop; }
  tx.addChain({ family: 'inet', table: 'filter', name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'drop' });
  // ct state established,related accept
  tx.addRule({
    ...F,
    rule: rule()
      .ct({ state: ['established', 'related'] })
      .accept(),
  });
  // iifname "lo" accept
  tx.addRule({ ...F, rule: rule().iifname('lo').accept() });
  // ip saddr 10.0.0.0/24 tcp dport { 80, 443 } counter accept comment "web"   (an inline, anonymous set)
  tx.addRule({
    ...F,
    rule: rule()
      .ip({ saddr: '10.0.0.0/24' })
      .tcp({ dport: [80, 443] })
      .counter()
      .accept(),
    comment: 'web',
  });
  // tcp dport 23 reject with tcp reset   (refused at once instead of a timeout)
  tx.addRule({ ...F, rule: rule().tcp({ dport: 23 }).reject({ with: 'tcp reset' }) });
  // ip saddr 10.0.0.3 tcp dport 8080 accept   (only c2 may reach 8080)
  tx.addRule({ ...F, rule: rule().ip({ saddr: ip.c2 }).tcp({ dport: 8080 }).accept() });
  // ip saddr != 10.0.0.2 tcp dport 9000 reject with tcp reset; tcp dport 9000 accept   (everyone but c1 is refused)
  tx.addRule({
    ...F,
    rule: rule()
      .ip({ saddr: not(ip.c1) })
      .tcp({ dport: 9000 })
      .reject({ with: 'tcp reset' }),
  });
  tx.addRule({ ...F, rule: rule().tcp({ dport: 9000 }).accept() });
  const { results } = await tx.commit();
  console.log(
    `committed ${results.length} commands; rule handles ${results
      .filter((r) => r.description.startsWith('add rule'))
      .map((r) => r.handle)
      .join(', ')}`,
  );

  // Everything else falls to the policy: dropped, so the client times out.
  const outcome = {};
  for (const c of ['c1', 'c2']) for (const port of [80, 23, 8080, 9000]) outcome[`${c}:${port}`] = await probe(ns[c], ip.server, port);
  for (const [k, v] of Object.entries(outcome)) console.log(`  ${k.padEnd(8)} ${/^\d+$/.test(v) ? `answered ${v}` : v}`);
  expectEqual(
    outcome,
    {
      'c1:80': '80',
      'c1:23': 'ECONNREFUSED',
      'c1:8080': 'ETIMEDOUT',
      'c1:9000': '9000',
      'c2:80': '80',
      'c2:23': 'ECONNREFUSED',
      'c2:8080': '8080',
      'c2:9000': 'ECONNREFUSED',
    },
    'connection outcomes',
  );

  // Rules read back carry their live counters.
  const web = (await h.server.nft.rules.list(F)).find((r) => r.comment === 'web');
  const counter = web.expressions.find((e) => e.type === 'counter');
  console.log(`rule "web" (handle ${web.handle}): ${counter.packets} packets, ${counter.bytes} bytes`);
  if (!(counter.packets > 0n)) throw new Error('the web rule counted no packets');
});
