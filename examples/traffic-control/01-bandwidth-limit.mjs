// A per-container bandwidth limit, as the CNI bandwidth plugin sets it: a TBF
// on the container's interface caps what it sends. Two throw-away namespaces
// joined by a veth; one TCP flow measured before and after.
import * as nlkit from 'nlkit';

const tag = `tc${process.pid}`;
const ns = { c1: `${tag}-c1`, c2: `${tag}-c2` };

/** Sends from c1 to c2 for `ms` milliseconds; returns the megabits per second c2 read. */
async function throughput(ms) {
  let received = 0;
  const server = await nlkit.listenTcp({ netns: ns.c2, host: '10.0.0.2', port: 0 }, (s) => s.on('data', (d) => (received += d.length)).on('error', () => {}));
  const client = await nlkit.connectTcp({ netns: ns.c1, host: '10.0.0.2', port: server.address().port });
  client.on('error', () => {});
  const chunk = Buffer.alloc(256 * 1024);
  let sending = true;
  const pump = () => {
    while (sending && client.write(chunk));
  };
  client.on('drain', pump);
  pump();
  await new Promise((r) => setTimeout(r, 300)); // past the initial burst
  const start = received;
  await new Promise((r) => setTimeout(r, ms));
  sending = false;
  client.destroy();
  server.close();
  return ((received - start) * 8) / (ms * 1000);
}

const handles = [];
try {
  for (const name of Object.values(ns)) await nlkit.createNetns(name);
  const c1 = await nlkit.open({ netns: ns.c1 });
  const c2 = await nlkit.open({ netns: ns.c2 });
  handles.push(c1, c2);
  await c1.links.add({ name: 'eth0', kind: 'veth', up: true, peer: { name: 'eth0', netns: ns.c2 } });
  await c2.links.set('eth0', { up: true });
  await c1.addresses.add('eth0', '10.0.0.1/24');
  await c2.addresses.add('eth0', '10.0.0.2/24');

  console.log(`unshaped: ${(await throughput(500)).toFixed(0)} Mbit/s`);

  // `tc qdisc replace dev eth0 root tbf rate 8mbit burst 64kb latency 100ms`
  await c1.qdiscs.replace({ link: 'eth0', kind: 'tbf', options: { rate: '8mbit', burst: '64kb', latency: '100ms' } });
  const q = await c1.qdiscs.get({ link: 'eth0', parent: 'root' });
  console.log(`qdisc ${q.kind} ${q.handle} rate ${q.options.rate / 1e6} Mbit/s burst ${q.options.burst} B limit ${q.options.limit} B`);
  console.log(`limited to 8 Mbit/s: ${(await throughput(1500)).toFixed(1)} Mbit/s`);

  // Lifting the limit: the device's default qdisc comes back.
  await c1.qdiscs.delete({ link: 'eth0', parent: 'root' });
  console.log('after delete:', (await c1.qdiscs.list({ link: 'eth0' })).map((x) => x.kind).join(', '));
} finally {
  for (const h of handles) h.close();
  for (const name of Object.values(ns)) await nlkit.deleteNetns(name, { missingOk: true });
}
