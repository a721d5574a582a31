// Shared by the nftables examples: a small LAN in throw-away namespaces —
// "server" (bridge br0, 10.0.0.1) with clients "c1" (10.0.0.2) and "c2"
// (10.0.0.3) plugged into it — always deleted afterwards, also on failure.
import * as nlkit from 'nlkit';

export const ip = { server: '10.0.0.1', c1: '10.0.0.2', c2: '10.0.0.3' };

export async function withLan(fn) {
  const tag = `nft${process.pid}`;
  const names = ['server', 'c1', 'c2'];
  const ns = Object.fromEntries(names.map((n) => [n, `${tag}-${n}`]));
  const h = {};
  const servers = [];
  try {
    for (const n of names) {
      await nlkit.createNetns(ns[n]);
      h[n] = await nlkit.open({ netns: ns[n] });
      await h[n].links.set('lo', { up: true });
    }
    await h.server.links.add({ name: 'br0', kind: 'bridge', up: true });
    await h.server.addresses.add('br0', `${ip.server}/24`);
    for (const c of ['c1', 'c2']) {
      await h.server.links.add({ name: `veth-${c}`, kind: 'veth', master: 'br0', up: true, peer: { name: 'eth0', netns: ns[c] } });
      await h[c].links.set('eth0', { up: true });
      await h[c].addresses.add('eth0', `${ip[c]}/24`);
    }
    /** Starts TCP servers in "server" that answer "<port>". */
    const serve = async (...ports) => {
      for (const port of ports) servers.push(await nlkit.listenTcp({ netns: ns.server, port }, (s) => s.end(`${port}`)));
    };
    return await fn({ ns, h, serve });
  } finally {
    for (const s of servers) s.close();
    for (const x of Object.values(h)) x.close();
    for (const n of names) await nlkit.deleteNetns(ns[n], { missingOk: true });
  }
}

/** Connects from a namespace; resolves with what the server said, or the error code (ECONNREFUSED, ETIMEDOUT). */
export async function probe(netns, host, port) {
  try {
    const sock = await nlkit.connectTcp({ netns, host, port, timeoutMs: 500 });
    return await new Promise((resolve, reject) => {
      let data = '';
      sock.on('data', (d) => (data += d));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
  } catch (e) {
    if (!e.code) throw e;
    return e.code;
  }
}

/** Throws unless `got` equals `want` (compared as JSON). */
export function expectEqual(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}
