// nftables ruleset events: every table, chain, set, element and rule change
// in a namespace, whoever made it, with a `generation` event closing each
// committed transaction. Then the overrun path: a stream whose receive
// buffer overflows throws NetlinkOverrunError; the consumer re-reads the
// ruleset and subscribes again.
// Run as root: node examples/events/03-nft-events.mjs
import * as nlkit from 'nlkit';

const { rule } = nlkit;
const ns = `ev-nft-${process.pid}`;
await nlkit.createNetns(ns);
const h = await nlkit.open({ netns: ns });
const tiny = await nlkit.open({ netns: ns, receiveBufferBytes: 1 }); // for part 2 only
const streams = [];
const T = { family: 'inet', table: 'web' };

/**
 * Reads events until `stop` returns true; gives up after 5 s. (It calls
 * next() rather than `for await`: leaving a for-await loop closes the stream.)
 */
async function collect(stream, stop) {
  const seen = [];
  const timer = setTimeout(() => stream.close(), 5000);
  try {
    for (;;) {
      const { value: e, done } = await stream.next();
      if (done) throw new Error(`stream ended early; saw: ${seen.map(brief).join(', ')}`);
      seen.push(e);
      if (stop(e, seen)) return seen;
    }
  } finally {
    clearTimeout(timer);
  }
}
function brief(e) {
  switch (e.kind) {
    case 'table': return `${e.change} table ${e.table.name}`;
    case 'chain': return `${e.change} chain ${e.chain.name}`;
    case 'set': return `${e.change} set ${e.set.name}`;
    case 'elements': return `${e.change} elements ${e.set} {${e.elements.map((x) => x.key).join(',')}}`;
    case 'rule': return `${e.change} rule ${e.rule.chain}#${e.rule.handle}`;
    case 'object': return `${e.change} object ${e.object.name}`;
    case 'generation': return `generation ${e.generation.id}`;
  }
}
function assertEqual(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

try {
  // --- 1. a typed stream of ruleset changes --------------------------------
  const events = h.nft.events();
  streams.push(events);
  let generations = 0;
  const reading = collect(events, (e) => e.kind === 'generation' && ++generations === 3);

  const tx = h.nft.transaction(); // transaction 1: table, chain, a set with two ports, a rule using it
  tx.addTable({ family: 'inet', name: 'web' });
  tx.addChain({ ...T, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
  tx.addSet({ ...T, name: 'blocked', keyType: 'inet_service' }, [{ key: 23 }, { key: 2323 }]);
  tx.addRule({ ...T, chain: 'input', rule: rule().tcp({ dport: '@blocked' }).counter().drop() });
  const { results } = await tx.commit();
  const ruleHandle = results[3].handle;

  const more = h.nft.transaction(); // transaction 2: one more element
  more.addElements({ ...T, name: 'blocked' }, [{ key: 445 }]);
  await more.commit();

  const del = h.nft.transaction(); // transaction 3: replace the rule in place (same handle)
  del.replaceRule({ ...T, chain: 'input', handle: ruleHandle, rule: rule().tcp({ dport: '@blocked' }).drop() });
  await del.commit();

  const got = await reading;
  for (const e of got) console.log(`  ${brief(e)}`);
  // The kernel may announce a set's elements one per message or several at
  // once; merge consecutive element events before comparing.
  const merged = [];
  for (const e of got) {
    const prev = merged.at(-1);
    if (e.kind === 'elements' && prev?.kind === 'elements' && prev.set === e.set && prev.change === e.change) prev.elements = [...prev.elements, ...e.elements];
    else merged.push(e.kind === 'elements' ? { ...e } : e);
  }
  const generation = (await h.nft.generation()).id;
  assertEqual(merged.map(brief), [
    'add table web', 'add chain input', 'add set blocked', 'add elements blocked {23,2323}', `add rule input#${ruleHandle}`, `generation ${generation - 2}`,
    'add elements blocked {445}', `generation ${generation - 1}`,
    `delete rule input#${ruleHandle}`, `add rule input#${ruleHandle}`, `generation ${generation}`, // a replace is announced as delete + add
  ], 'events');
  events.close();

  // --- 2. overrun: the stream throws, the consumer re-reads ----------------
  // This stream belongs to a handle opened with a 1-byte receive buffer (the
  // kernel rounds it up to its minimum): when a big commit's notifications
  // arrive faster than they are read, the kernel drops some. The stream
  // delivers what it did receive, then throws NetlinkOverrunError.
  let stream = tiny.nft.events();
  streams.push(stream);
  let lost;
  let total = 0;
  for (let round = 0; round < 20 && !lost; round++) {
    const big = h.nft.transaction();
    big.addChain({ ...T, name: `many${round}` });
    for (let i = 0; i < 500; i++) big.addRule({ ...T, chain: `many${round}`, rule: rule().ip({ saddr: `10.${round}.${i >> 8}.${i & 255}` }).drop() });
    const { generation: g } = await big.commit();
    total += 500;
    try {
      const got = await collect(stream, (e) => e.kind === 'generation' && (g === undefined || e.generation.id === g));
      console.log(`round ${round}: ${got.length} events, none lost`);
    } catch (e) {
      if (!(e instanceof nlkit.NetlinkOverrunError)) throw e;
      lost = e;
      console.log(`round ${round}: ${e.name}: ${e.message}`);
    }
  }
  if (!lost) throw new Error('expected the tiny stream to overrun within 20 rounds');
  // The remedy: subscribe again first (here on the handle with the default
  // 4 MiB buffer), so that nothing falls between; then re-read the ruleset.
  stream = h.nft.events();
  streams.push(stream);
  const ruleset = await h.nft.listRuleset(T);
  const inMany = ruleset.rules.filter((r) => r.chain.startsWith('many')).length;
  assertEqual(inMany, total, 'rules in the "many" chains after re-reading');
  const blocked = ruleset.sets.find((x) => x.name === 'blocked').elements.map((x) => x.key);
  console.log(`re-read the ruleset: ${ruleset.chains.length} chains, ${ruleset.rules.length} rules, set blocked = {${blocked.join(',')}}`);
  // ...and the new stream carries on from there.
  const after = collect(stream, (e) => e.kind === 'generation');
  const last = h.nft.transaction();
  last.deleteElements({ ...T, name: 'blocked' }, [{ key: 2323 }]);
  await last.commit();
  const tail = (await after).map(brief);
  assertEqual(tail.slice(0, -1), ['delete elements blocked {2323}'], 'events after resubscribing');
  console.log(`new stream: ${tail.join(', ')}`);
} finally {
  for (const s of streams) s.close();
  tiny.close();
  h.close();
  await nlkit.deleteNetns(ns, { missingOk: true });
}
