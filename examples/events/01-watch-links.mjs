// Watching a namespace: subscribe with the current state first, keep a local
// mirror of links and IPv4 addresses up to date from the event stream, and
// check at the end that the mirror equals what the kernel lists.
// Run as root: node examples/events/01-watch-links.mjs
import * as nlkit from 'nlkit';

const ns = `ev-watch-${process.pid}`;
await nlkit.createNetns(ns); // a throw-away namespace: nothing else is touched
const h = await nlkit.open({ netns: ns });
let stream;
try {
  await h.links.add({ name: 'br0', kind: 'bridge' }); // exists before we subscribe

  // The socket joins its multicast groups (off the event loop) before the
  // state is dumped: once `ready` settles, whatever changes is queued, even
  // before we start reading.
  stream = h.events.subscribe({ groups: ['link', 'address'], family: 4, includeExisting: true });
  await stream.ready;
  await h.links.add({ name: 'veth0', kind: 'veth', peer: { name: 'veth1' } }); // made before reading: not lost

  const links = new Map(); // index -> name
  const addresses = new Map(); // "index cidr" -> cidr
  const apply = (ev) => {
    if (ev.type === 'link') {
      if (ev.action === 'new') links.set(ev.link.index, ev.link.name);
      else {
        links.delete(ev.link.index);
        // a link's addresses go with it
        for (const [k] of addresses) if (k.startsWith(`${ev.link.index} `)) addresses.delete(k);
      }
    } else if (ev.type === 'address') {
      const key = `${ev.address.link} ${ev.address.cidr}`;
      if (ev.action === 'new') addresses.set(key, ev.address.cidr);
      else addresses.delete(key);
    }
  };
  /** Reads events (applying each) until `done()` holds for the mirror; fails after 5 s. */
  const readUntil = async (what, done) => {
    const timer = setTimeout(() => stream.close(), 5000); // an ended stream makes the loop below fail
    try {
      for (;;) {
        const { value: ev, done: ended } = await stream.next();
        if (ended) throw new Error(`stream ended while waiting for ${what}`);
        apply(ev);
        if (ev.type === 'synced') console.log(`  -- synced: ${links.size} links (${[...links.values()].join(', ')})`);
        else if (ev.type === 'link') console.log(`  ${ev.action} link ${ev.link.name}${ev.action === 'new' ? ` (${ev.link.up ? 'up' : 'down'})` : ''}`);
        else if (ev.type === 'address') console.log(`  ${ev.action} address ${ev.address.cidr} on #${ev.address.link}`);
        if (done(ev)) return;
      }
    } finally {
      clearTimeout(timer);
    }
  };

  // The dump comes first, then "synced", then what was queued meanwhile: those
  // may repeat objects the dump already showed, so events are applied by key.
  console.log('initial state, then what happened since subscribing:');
  await readUntil('the initial state', (ev) => ev.type === 'synced');
  if (!links.has((await h.links.get('br0')).index)) throw new Error('br0 missing from the initial state');
  await readUntil('veth0', () => [...links.values()].includes('veth0'));

  console.log('live changes:');
  await h.links.set('veth0', { up: true });
  await h.addresses.add('veth0', '10.0.0.1/24');
  await h.addresses.add('br0', '10.9.0.1/24');
  await readUntil('both addresses', () => addresses.size === 2);
  await h.links.delete('veth0'); // takes veth1 and 10.0.0.1/24 with it
  await readUntil('the veth pair to go', () => ![...links.values()].some((n) => n.startsWith('veth')));
  await h.links.set('br0', { name: 'br-renamed' });
  await readUntil('the rename', () => [...links.values()].includes('br-renamed'));

  // The mirror, built from events only, must equal the kernel's own lists.
  const want = (await h.links.list()).map((l) => `${l.index}:${l.name}`).sort();
  const got = [...links].map(([i, n]) => `${i}:${n}`).sort();
  const wantAddrs = (await h.addresses.list({ family: 4 })).map((a) => `${a.link} ${a.cidr}`).sort();
  const gotAddrs = [...addresses.keys()].sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`links: mirror ${got} != kernel ${want}`);
  if (JSON.stringify(gotAddrs) !== JSON.stringify(wantAddrs)) throw new Error(`addresses: mirror ${gotAddrs} != kernel ${wantAddrs}`);
  console.log(`mirror matches the kernel: links ${[...links.values()].join(', ')}; addresses ${[...addresses.values()].join(', ')}`);
} finally {
  stream?.close();
  h.close();
  await nlkit.deleteNetns(ns, { missingOk: true });
}
