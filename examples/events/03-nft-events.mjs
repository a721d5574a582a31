// nftables ruleset events: every table, chain, set, element and rule change
// in a namespace, whoever made it, with a `generation` event closing each
// committed transaction — in the shape of every nlkit stream: { type, action }
// with action 'new' or 'del'. Then the overrun path: where the kernel dropped
// notifications the stream yields { type: 'overrun' } and goes on; with
// resyncOnOverrun it then delivers the whole ruleset again and { type: 'synced' }.
// Run as root: node examples/events/03-nft-events.mjs
import * as nlkit from 'nlkit';

const { rule } = nlkit;
const ns = `ev-nft-${process.pid}`;
await nlkit.createNetns(ns);
const h = await nlkit.open({ netns: ns });
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
  switch (e.type) {
    case 'table':
      return `${e.action} table ${e.table.name}`;
    case 'chain':
      return `${e.action} chain ${e.chain.name}`;
    case 'set':
      return `${e.action} set ${e.set.name}`;
    case 'elements':
      return `${e.action} elements ${e.set} {${e.elements.map((x) => x.key).join(',')}}`;
    case 'rule':
      return `${e.action} rule ${e.rule.chain}#${e.rule.handle}`;
    case 'object':
      return `${e.action} object ${e.object.name}`;
    case 'generation':
      return `generation ${e.generation.id}`;
    default:
      return e.type; // synced, overrun
  }
}
function assertEqual(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

try {
  // --- 1. a typed stream of ruleset changes --------------------------------
  const events = h.nft.events.subscribe();
  await events.ready; // joined: changes from here on are seen
  streams.push(events);
  let generations = 0;
  const reading = collect(events, (e) => e.type === 'generation' && ++generations === 3);

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
    if (e.type === 'elements' && prev?.type === 'elements' && prev.set === e.set && prev.action === e.action) prev.elements = [...prev.elements, ...e.elements];
    else merged.push(e.type === 'elements' ? { ...e } : e);
  }
  const generation = (await h.nft.generation.get()).id;
  assertEqual(
    merged.map(brief),
    [
      'new table web',
      'new chain input',
      'new set blocked',
      'new elements blocked {23,2323}',
      `new rule input#${ruleHandle}`,
      `generation ${generation - 2}`,
      'new elements blocked {445}',
      `generation ${generation - 1}`,
      `del rule input#${ruleHandle}`,
      `new rule input#${ruleHandle}`,
      `generation ${generation}`, // a replace is announced as del + new
    ],
    'events',
  );
  events.close();

  // --- 2. overrun: an event marks the gap, resyncOnOverrun re-delivers ----
  // This stream has a 1-byte receive buffer (the kernel rounds it up to its
  // minimum): when a big commit's notifications arrive faster than they are
  // read, the kernel drops some. The stream yields what it did receive, then
  // { type: 'overrun' } at the gap; with resyncOnOverrun it goes on with the
  // whole ruleset as 'new' events and { type: 'synced' }, then live events.
  const stream = h.nft.events.subscribe({ receiveBufferBytes: 1, resyncOnOverrun: true });
  await stream.ready; // joined: changes from here on are seen
  streams.push(stream);
  let resynced;
  let total = 0;
  for (let round = 0; round < 20 && !resynced; round++) {
    const big = h.nft.transaction();
    big.addChain({ ...T, name: `many${round}` });
    for (let i = 0; i < 500; i++)
      big.addRule({
        ...T,
        chain: `many${round}`,
        rule: rule()
          .ip({ saddr: `10.${round}.${i >> 8}.${i & 255}` })
          .drop(),
      });
    const { generation: g } = await big.commit();
    total += 500;
    let gap = -1;
    const got = await collect(stream, (e, seen) => {
      if (e.type === 'overrun') gap = seen.length - 1;
      return gap >= 0 ? e.type === 'synced' : e.type === 'generation' && (g === undefined || e.generation.id === g);
    });
    if (gap < 0) {
      console.log(`round ${round}: ${got.length} events, none lost`);
      continue;
    }
    // Everything between the (last) gap and synced is the current ruleset: state rebuilt from it is complete.
    resynced = got.slice(got.map((e) => e.type).lastIndexOf('overrun') + 1, -1);
    console.log(`round ${round}: overrun after ${gap} events; then the ruleset again in ${resynced.length} events, then synced`);
  }
  if (!resynced) throw new Error('expected the 1-byte stream to overrun within 20 rounds');
  const inMany = resynced.filter((e) => e.type === 'rule' && e.rule.chain.startsWith('many')).length;
  assertEqual(inMany, total, 'rules in the "many" chains delivered by the resync');
  const blocked = resynced.filter((e) => e.type === 'elements' && e.set === 'blocked').flatMap((e) => e.elements.map((x) => x.key));
  console.log(
    `resync: ${resynced.filter((e) => e.type === 'chain').length} chains, ${resynced.filter((e) => e.type === 'rule').length} rules, set blocked = {${blocked.join(',')}}`,
  );
  // ...and the same stream carries on with live changes (after whatever of the
  // big commit was still queued behind the gap).
  const after = collect(stream, (e) => e.type === 'elements' && e.action === 'del');
  const last = h.nft.transaction();
  last.deleteElements({ ...T, name: 'blocked' }, [{ key: 2323 }]);
  await last.commit();
  const tail = brief((await after).at(-1));
  assertEqual(tail, 'del elements blocked {2323}', 'live events after the resync');
  console.log(`live again: ${tail}`);
} finally {
  for (const s of streams) s.close();
  h.close();
  await nlkit.deleteNetns(ns, { missingOk: true });
}
