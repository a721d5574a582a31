// Shared by the "container networking from scratch" steps: every step runs in
// throw-away namespaces ("host", "c1", "c2", and "internet" for NAT) that are
// always deleted afterwards.
import * as nlkit from 'nlkit';

export async function withLab(names, fn) {
  const tag = `fs${process.pid}`;
  const ns = Object.fromEntries(names.map((n) => [n, `${tag}-${n}`]));
  const handles = {};
  try {
    for (const n of names) {
      await nlkit.createNetns(ns[n]);
      handles[n] = await nlkit.open({ netns: ns[n] });
      await handles[n].links.set('lo', { up: true });
    }
    return await fn({ ns, h: handles });
  } finally {
    for (const h of Object.values(handles)) h.close();
    for (const n of names) await nlkit.deleteNetns(ns[n], { missingOk: true });
  }
}

/** Connects to host:port from inside a namespace and returns what the server sent. */
export async function fetchText(netns, host, port) {
  const sock = await nlkit.connectTcp({ netns, host, port, timeoutMs: 2000 });
  return new Promise((resolve, reject) => {
    let data = '';
    sock.on('data', (d) => (data += d));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}
