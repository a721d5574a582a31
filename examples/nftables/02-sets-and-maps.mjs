// Sets and maps: the rules stay fixed, the data changes. A named set of
// blocked addresses and a verdict map of open ports drive the server's
// firewall; one transaction then swaps their contents atomically, and the
// elements are read back typed.
// Run as root: node examples/nftables/02-sets-and-maps.mjs
import { rule } from 'nlkit';
import { expectEqual, ip, probe, withLan } from './lab.mjs';

await withLan(async ({ ns, h, serve }) => {
  await serve(80, 8080, 9000);
  const T = { family: 'inet', table: 'filter' };
  const F = { ...T, chain: 'input' };
  const blocked = { ...T, name: 'blocked' };
  const ports = { ...T, name: 'ports' };

  const tx = h.server.nft.transaction();
  tx.addTable({ family: 'inet', name: 'filter' });
  tx.addChain({ ...T, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
  // set blocked { type ipv4_addr; flags interval; elements = { 10.0.0.3 } }
  tx.addSet({ ...blocked, keyType: 'ipv4_addr', flags: ['interval'] }, [{ key: ip.c2 }]);
  // map ports { type inet_service : verdict; elements = { 80 : accept, 8080 : accept } }
  tx.addSet({ ...ports, keyType: 'inet_service', dataType: 'verdict' }, [
    { key: 80, verdict: { code: 'accept' } },
    { key: 8080, verdict: { code: 'accept' } },
  ]);
  tx.addRule({
    ...F,
    rule: rule()
      .ct({ state: ['established', 'related'] })
      .accept(),
  });
  tx.addRule({ ...F, rule: rule().ip({ saddr: '@blocked' }).tcp().reject({ with: 'tcp reset' }) }); // ip saddr @blocked reject
  tx.addRule({ ...F, rule: rule().vmap('tcp dport', '@ports') }); //                                  tcp dport vmap @ports
  tx.addRule({ ...F, rule: rule().tcp().reject({ with: 'tcp reset' }) }); //                          everything else: refused
  await tx.commit();

  const table = async () => {
    const out = {};
    for (const c of ['c1', 'c2'])
      for (const port of [80, 8080, 9000]) out[`${c}:${port}`] = (await probe(ns[c], ip.server, port)) === String(port) ? 'open' : 'refused';
    return out;
  };
  const show = (when, t) =>
    console.log(
      `${when}: open ${
        Object.keys(t)
          .filter((k) => t[k] === 'open')
          .join(' ') || 'nothing'
      }; the rest refused`,
    );
  const before = await table();
  show('before', before);
  expectEqual(before, { 'c1:80': 'open', 'c1:8080': 'open', 'c1:9000': 'refused', 'c2:80': 'refused', 'c2:8080': 'refused', 'c2:9000': 'refused' }, 'before');

  // New data, same rules, one atomic step: unblock c2, block a range that
  // holds c1 (interval sets take prefixes and ranges); close 80, open 9000.
  const handlesBefore = (await h.server.nft.rules.list(F)).map((r) => r.handle);
  const swap = h.server.nft.transaction();
  swap.deleteElements(blocked, [{ key: ip.c2 }]);
  swap.addElements(blocked, [{ key: '10.0.0.0-10.0.0.2' }]);
  swap.deleteElements(ports, [{ key: 80 }]);
  swap.addElements(ports, [{ key: 9000, verdict: { code: 'accept' } }]);
  await swap.commit();

  // Read back: keys come typed by the set's key type (ranges and prefixes in nft notation).
  const nowBlocked = (await h.server.nft.elements.list(blocked)).map((e) => e.key);
  const nowPorts = (await h.server.nft.elements.list(ports)).map((e) => `${e.key}:${e.verdict.code}`).sort();
  console.log('blocked =', nowBlocked, ' ports =', nowPorts);
  expectEqual(nowBlocked, ['10.0.0.0-10.0.0.2'], 'blocked set');
  expectEqual(nowPorts, ['8080:accept', '9000:accept'], 'ports map');

  const after = await table();
  show('after ', after);
  expectEqual(after, { 'c1:80': 'refused', 'c1:8080': 'refused', 'c1:9000': 'refused', 'c2:80': 'refused', 'c2:8080': 'open', 'c2:9000': 'open' }, 'after');

  // The rules were never touched: same handles as before the swap.
  const handlesAfter = (await h.server.nft.rules.list(F)).map((r) => r.handle);
  expectEqual(handlesAfter, handlesBefore, 'rule handles');
  console.log(`rules untouched: handles ${handlesAfter.join(', ')} before and after`);
});
