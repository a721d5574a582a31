// Reading rules back: rules come back in chain order with their handles,
// comments and decoded expressions, so a program can find a rule, put a new
// one next to it, replace or delete it by handle — and copy a whole table to
// another namespace from what it read.
// Run as root: node examples/nftables/04-read-back.mjs
import { rule } from 'nlkit';
import { expectEqual, ip, probe, withLan } from './lab.mjs';

await withLan(async ({ ns, h, serve }) => {
  await serve(80, 8080);
  const nft = h.server.nft;
  const T = { family: 'inet', table: 'filter' };
  const F = { ...T, chain: 'input' };
  const order = async () => (await nft.rules.list(F)).map((r) => r.comment);

  const tx = nft.transaction();
  tx.addTable({ family: 'inet', name: 'filter' });
  tx.addChain({ ...T, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
  tx.addRule({ ...F, rule: rule().tcp({ dport: 80 }).accept(), comment: 'allow-80' });
  tx.addRule({ ...F, rule: rule().tcp().reject({ with: 'tcp reset' }), comment: 'refuse-rest' });
  await tx.commit();

  // Insert by position among the committed rules: index 1 = after the first.
  const ins = nft.transaction();
  ins.insertRule({ ...F, rule: rule().tcp({ dport: 8080 }).accept(), comment: 'allow-8080' }, { index: 1 });
  await ins.commit();
  expectEqual(await order(), ['allow-80', 'allow-8080', 'refuse-rest'], 'order after insert');
  console.log('after insert at index 1:', (await order()).join(' | '));
  expectEqual(await probe(ns.c1, ip.server, 8080), '8080', 'c1 -> 8080 once allowed');

  // Find a rule by what it is, then replace it in place by handle (same position).
  const rules = await nft.rules.list(F);
  const target = rules.find((r) => r.comment === 'allow-8080');
  console.log(`"allow-8080" is handle ${target.handle}; expressions: ${target.expressions.map((e) => e.type).join(', ')}`);
  const rep = nft.transaction();
  rep.replaceRule({ ...F, handle: target.handle, rule: rule().ip({ saddr: ip.c2 }).tcp({ dport: 8080 }).accept(), comment: 'allow-8080-from-c2' });
  await rep.commit();
  expectEqual(await order(), ['allow-80', 'allow-8080-from-c2', 'refuse-rest'], 'order after replace');
  const outcome = [await probe(ns.c1, ip.server, 8080), await probe(ns.c2, ip.server, 8080)];
  console.log(`after replace: c1 -> 8080 ${outcome[0]}, c2 -> 8080 ${outcome[1] === '8080' ? 'answered' : outcome[1]}`);
  expectEqual(outcome, ['ECONNREFUSED', '8080'], '8080 after replace');

  // Copy the table into c1's namespace from what was read: the decoded
  // expressions re-encode as they are (also ones nlkit has no type for).
  const src = await nft.ruleset.get({ family: 'inet' }); // this namespace's only table
  const copy = h.c1.nft.transaction();
  for (const t of src.tables) copy.addTable({ family: t.family, name: t.name });
  for (const c of src.chains) copy.addChain(c);
  for (const r of src.rules) copy.addRule({ family: r.family, table: r.table, chain: r.chain, expressions: r.expressions, comment: r.comment });
  await copy.commit();
  const json = (x) => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? String(v) : v));
  const strip = (rs) => rs.map(({ chain, comment, expressions }) => ({ chain, comment, expressions }));
  expectEqual(json(strip((await h.c1.nft.ruleset.get({ family: 'inet' })).rules)), json(strip(src.rules)), 'copied rules');
  console.log(`copied ${src.chains.length} chain and ${src.rules.length} rules into c1; they read back identical`);
  // ...and c1 now refuses what the copy refuses (c1 has nothing on 9999).
  expectEqual(await probe(ns.c2, ip.c1, 9999), 'ECONNREFUSED', 'c2 -> c1:9999');

  // Delete by handle.
  const del = nft.transaction();
  del.deleteRule({ ...F, handle: (await nft.rules.list(F)).find((r) => r.comment === 'refuse-rest').handle });
  await del.commit();
  expectEqual(await order(), ['allow-80', 'allow-8080-from-c2'], 'order after delete');
  console.log('after delete:', (await order()).join(' | '));
});
