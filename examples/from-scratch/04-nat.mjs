// Step 4: outbound NAT. The "internet" has no route back to the container
// subnet; a masquerade rule in the host's nftables makes c1's traffic leave
// with the host's address.
import * as nlkit from 'nlkit';
import { bridgeWithC1, fetchText, uplink, withLab } from './lab.mjs';

await withLab(['host', 'c1', 'internet'], async ({ ns, h }) => {
  await bridgeWithC1({ ns, h }); // steps 2-3 (see 02-bridge.mjs, 03-routing.mjs)
  await uplink({ ns, h });
  const server = await nlkit.listenTcp({ netns: ns.internet, port: 80 }, (s) => s.end(`you are ${s.remoteAddress}\n`));

  const before = await fetchText(ns.c1, '192.0.2.2', 80).catch((e) => `no answer (${e.code})`);
  console.log('without NAT:', before.trim());

  // nft equivalent: add table ip nat; add chain ... postrouting; ip saddr 10.0.0.0/24 oifname != "br0" masquerade
  const tx = h.host.nft.transaction();
  tx.addTable({ family: 'ip', name: 'nat' });
  tx.addChain({ family: 'ip', table: 'nat', name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
  tx.addRule({ family: 'ip', table: 'nat', chain: 'postrouting', rule: nlkit.rule().ip({ saddr: '10.0.0.0/24' }).oifname(nlkit.not('br0')).masquerade() });
  await tx.commit();

  console.log('with NAT:', (await fetchText(ns.c1, '192.0.2.2', 80)).trim());
  server.close();
});
