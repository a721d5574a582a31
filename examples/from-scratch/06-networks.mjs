// Step 6: everything above (and more) with the high-level API: a network,
// containers attached in one call each, outbound NAT, isolation, and a
// published port — all in nlkit's own nftables table, all undone on delete.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nlkit from 'nlkit';
import { fetchText, uplink, withLab } from './lab.mjs';

await withLab(['host', 'internet'], async ({ ns, h }) => {
  await uplink({ ns, h });

  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-example-'));
  const nets = await nlkit.networks({ host: ns.host, stateDir });
  const c1 = `${ns.host}-c1`;
  const c2 = `${ns.host}-c2`;
  try {
    await nets.create({ name: 'web', subnet: '10.88.0.0/24' });
    const a1 = await nets.attach('web', { sandbox: c1, create: true }); // creates the namespace too
    const a2 = await nets.attach('web', { sandbox: c2, create: true });
    console.log('attached:', a1.ipv4, a2.ipv4, 'gateway', a1.gateway);

    const server = await nlkit.listenTcp({ netns: c1, port: 80 }, (s) => s.end(`c1 answers ${s.remoteAddress}\n`));
    await nets.publish({ network: 'web', hostPort: 8080, containerPort: 80, to: c1 });
    console.log('internet -> host:8080:', (await fetchText(ns.internet, '192.0.2.1', 8080)).trim());
    console.log('c2 -> host:8080 (hairpin):', (await fetchText(c2, '192.0.2.1', 8080)).trim());
    const web = await nets.get('web'); // the network with its attachments (find() would give undefined for none)
    console.log('attachments:', web.attachments.map((a) => `${a.id} ${a.ipv4}`).join(', '));
    console.log('published:', (await nets.publications.list({ network: 'web' })).map((p) => p.key).join(', '));
    console.log('drift:', JSON.stringify(await nets.check()));
    server.close();
  } finally {
    await nets.delete('web'); // detaches (deleting c1 and c2, which attach created), removes rules
    nets.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
