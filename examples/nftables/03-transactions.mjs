// Transactions: all or nothing. A transaction whose third command is wrong
// is refused as a whole (NftCommandError names the command), the firewall
// keeps working as before, and nothing of it is left behind. Then optimistic
// concurrency: commit only if nobody changed the ruleset since we read it.
// Run as root: node examples/nftables/03-transactions.mjs
import * as nlkit from 'nlkit';
import { expectEqual, ip, probe, withLan } from './lab.mjs';

const { rule } = nlkit;

await withLan(async ({ ns, h, serve }) => {
  await serve(80);
  const nft = h.server.nft;
  const T = { family: 'inet', table: 'filter' };
  const F = { ...T, chain: 'input' };

  const base = nft.transaction();
  base.addTable({ family: 'inet', name: 'filter' });
  base.addChain({ ...T, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
  base.addRule({ ...F, rule: rule().tcp({ dport: 80 }).counter().accept() });
  await base.commit();
  const gen0 = (await nft.generation.get()).id;

  // 1. Bad input never reaches the kernel: each command is encoded (and
  // checked) when it is added, so the mistake points at the line that made it.
  try {
    nft.transaction().addRule({ ...F, rule: rule().tcp({ dport: 70000 }).accept() });
    throw new Error('expected a ValidationError');
  } catch (e) {
    if (!(e instanceof nlkit.ValidationError)) throw e;
    console.log(`1. ${e.name}: ${e.message}`);
  }

  // 2. The kernel refuses command #2 (a jump to a chain that does not exist).
  const tx = nft.transaction();
  tx.insertRule({ ...F, rule: rule().tcp({ dport: 80 }).reject({ with: 'tcp reset' }) }); // #0 would close port 80
  tx.addSet({ ...T, name: 'admins', keyType: 'ipv4_addr' }, [{ key: ip.c1 }]); //             #1
  tx.addRule({ ...F, rule: rule().ip({ saddr: '@admins' }).jump('admin-only') }); //           #2 no such chain
  try {
    await tx.commit();
    throw new Error('expected the commit to fail');
  } catch (e) {
    if (!(e instanceof nlkit.NftCommandError)) throw e;
    console.log(
      `2. ${e.name}: command #${e.command} (${e.description}) ${e.code}${e.attribute ? `, at ${e.attribute}` : ''}${e.extack ? ` — ${e.extack}` : ''}`,
    );
    expectEqual([e.command, e.code], [2, 'ENOENT'], 'failing command');
  }
  // Nothing of it happened: no set, the same single rule, the same generation,
  // and port 80 still answers (command #0 would have closed it).
  expectEqual(
    (await nft.sets.list(T)).map((s) => s.name),
    [],
    'sets after the failed commit',
  );
  expectEqual((await nft.rules.list(F)).length, 1, 'rules after the failed commit');
  expectEqual((await nft.generation.get()).id, gen0, 'generation after the failed commit');
  expectEqual(await probe(ns.c1, ip.server, 80), '80', 'port 80 after the failed commit');
  console.log('   nothing applied: no set, 1 rule, generation unchanged, port 80 still open');

  // Fixed: add the chain in the same transaction, before the rule that jumps to it.
  const fixed = nft.transaction();
  fixed.addChain({ ...T, name: 'admin-only' });
  fixed.addRule({ ...T, chain: 'admin-only', rule: rule().accept() });
  fixed.addSet({ ...T, name: 'admins', keyType: 'ipv4_addr' }, [{ key: ip.c1 }]);
  fixed.insertRule({ ...F, rule: rule().ip({ saddr: '@admins' }).jump('admin-only') });
  const { results, generation } = await fixed.commit();
  console.log(`   fixed and committed: generation ${generation}, handles ${results.map((r) => r.handle ?? '-').join(', ')}`);

  // 3. Optimistic concurrency. We read the generation, someone else commits
  // (here another handle; it could be `nft` or another process), and our
  // commit, made conditional on what we read, is refused.
  const seen = (await nft.generation.get()).id;
  const other = await nlkit.open({ netns: ns.server });
  try {
    const theirs = other.nft.transaction();
    theirs.addRule({ ...F, rule: rule().tcp({ dport: 22 }).accept(), comment: 'added by someone else' });
    await theirs.commit();
  } finally {
    other.close();
  }
  const build = () => {
    const ours = nft.transaction();
    ours.addRule({ ...F, rule: rule().tcp({ dport: 443 }).accept(), comment: 'ours' });
    return ours;
  };
  try {
    await build().commit({ expectGeneration: seen });
    throw new Error('expected a GenerationMismatchError');
  } catch (e) {
    if (!(e instanceof nlkit.GenerationMismatchError)) throw e;
    console.log(`3. ${e.name}: ${e.message}`);
  }
  // The usual loop: re-read (decide again if needed), rebuild, commit on top of what was read.
  for (let attempt = 1; ; attempt++) {
    const now = (await nft.generation.get()).id;
    try {
      const r = await build().commit({ expectGeneration: now });
      console.log(`   retried on generation ${now}: committed as generation ${r.generation} (attempt ${attempt})`);
      break;
    } catch (e) {
      if (!(e instanceof nlkit.GenerationMismatchError) || attempt === 5) throw e;
    }
  }
  const comments = (await nft.rules.list(F)).map((r) => r.comment).filter(Boolean);
  expectEqual(comments, ['added by someone else', 'ours'], 'rule comments');
});
