// When notifications are lost, the stream says so: an `{ type: 'overrun' }`
// event at the place of the gap. Both ways it happens are provoked here, in a
// throw-away namespace, and both ways of recovering are shown:
//   A. the kernel drops notifications (a deliberately tiny receive buffer),
//      and the stream resyncs by itself (`resyncOnOverrun`);
//   B. the consumer falls behind (`maxQueued`), and resyncs by listing.
// Either way the consumer's mirror must end equal to the kernel's state.
// Run as root: node examples/events/02-resync.mjs
import * as nlkit from 'nlkit';

const ns = `ev-resync-${process.pid}`;
await nlkit.createNetns(ns);
const h = await nlkit.open({ netns: ns });
const streams = [];

/** Next event, or a clear failure instead of a hang. */
async function next(stream) {
  const timer = setTimeout(() => stream.close(), 5000);
  try {
    const r = await stream.next();
    if (r.done) throw new Error('the event stream ended unexpectedly');
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}
const sorted = (xs) => JSON.stringify([...xs].sort());

try {
  await h.links.add({ name: 'burst0', kind: 'bridge', up: true });

  // --- A. kernel overrun, automatic resync ---------------------------------
  // 1 byte is rounded up to the kernel's minimum (a few KiB): a burst of
  // address notifications cannot fit, so the kernel drops some (ENOBUFS).
  const a = h.events.subscribe({ groups: ['address'], family: 4, receiveBufferBytes: 1, resyncOnOverrun: true });
  await a.ready; // joined: changes from here on are seen
  streams.push(a);
  const mirror = new Set(); // "index cidr"
  let overruns = 0;
  let round = 0;
  for (; round < 20 && overruns === 0; round++) {
    // 100 addresses at once, then a marker address that closes the round.
    await Promise.all(Array.from({ length: 100 }, (_, i) => h.addresses.add('burst0', `10.${100 + round}.${i}.1/24`)));
    const marker = `10.99.${round}.1/32`;
    await h.addresses.add('burst0', marker);
    for (;;) {
      const ev = await next(a);
      if (ev.type === 'overrun') {
        overruns++;
        mirror.clear(); // what we derived is stale; the current state follows
        console.log(`A. round ${round}: overrun (the kernel dropped notifications); resyncing`);
        break;
      }
      if (ev.type === 'address')
        ev.action === 'new' ? mirror.add(`${ev.address.link} ${ev.address.cidr}`) : mirror.delete(`${ev.address.link} ${ev.address.cidr}`);
      if (ev.type === 'address' && ev.address.cidr === marker) {
        console.log(`A. round ${round}: every notification arrived`);
        break;
      }
    }
  }
  if (overruns === 0) throw new Error('no overrun in 20 rounds (expected one with a tiny receive buffer)');
  // resyncOnOverrun: the full current state follows as `new` events, then
  // `synced`, then live events again. (Should more be lost while the burst
  // drains, another overrun and another copy follow.) A last marker tells us
  // we have caught up.
  const idx = (await h.links.get('burst0')).index;
  const end = '10.98.0.1/32';
  await h.addresses.add('burst0', end);
  for (;;) {
    const ev = await next(a);
    if (ev.type === 'overrun') mirror.clear();
    if (ev.type === 'address')
      ev.action === 'new' ? mirror.add(`${ev.address.link} ${ev.address.cidr}`) : mirror.delete(`${ev.address.link} ${ev.address.cidr}`);
    // caught up: the marker came live, or with a completed copy of the state
    if (mirror.has(`${idx} ${end}`) && (ev.type === 'synced' || (ev.type === 'address' && ev.address.cidr === end))) break;
  }
  const kernel = (await h.addresses.list({ family: 4 })).map((x) => `${x.link} ${x.cidr}`);
  if (sorted(mirror) !== sorted(kernel)) throw new Error(`A: mirror (${mirror.size}) != kernel (${kernel.length}) after resync`);
  console.log(`A. resynced: the mirror holds the kernel's ${kernel.length} addresses exactly`);
  a.close();

  // --- B. slow consumer, resync by listing ---------------------------------
  // maxQueued: 3 — nlkit keeps at most 3 unread events before it drops the
  // backlog and reports an overrun (the default is 100,000).
  const b = h.events.subscribe({ groups: ['link'], maxQueued: 3 });
  await b.ready; // joined: changes from here on are seen
  streams.push(b);
  let alias = new Map((await h.links.list()).map((l) => [l.index, l.alias])); // state, then events
  for (let i = 0; i < 30; i++) await h.links.set('burst0', { alias: `change ${i}` }); // nobody reads meanwhile
  // The kernel has queued the 30 notifications; on a busy machine the subscription's
  // thread may not have read them all yet, so the consumer waits a moment before reading.
  await new Promise((resolve) => setTimeout(resolve, 200));
  let sawOverrun = false;
  for (;;) {
    const ev = await next(b);
    if (ev.type === 'overrun') {
      sawOverrun = true;
      // The remedy: list again, then keep applying the events that follow.
      alias = new Map((await h.links.list()).map((l) => [l.index, l.alias]));
      console.log('B. overrun (the consumer fell behind); re-listed links');
    } else if (ev.type === 'link') {
      alias.set(ev.link.index, ev.link.alias);
      if (ev.link.alias === 'change 29') break;
    }
  }
  if (!sawOverrun) throw new Error('B: expected an overrun with maxQueued: 3');
  const burst0 = await h.links.get('burst0');
  if (alias.get(burst0.index) !== burst0.alias) throw new Error(`B: mirror says ${alias.get(burst0.index)}, kernel ${burst0.alias}`);
  console.log(`B. mirror agrees with the kernel: burst0 alias "${burst0.alias}"`);
} finally {
  for (const s of streams) s.close();
  h.close();
  await nlkit.deleteNetns(ns, { missingOk: true });
}
