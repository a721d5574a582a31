// Proves that an installed nlkit's addon works: loads nlkit from the package
// directory given, lists the links of the current network namespace (run it
// under `unshare -n`, where that is just lo), and makes the addon throw a C++
// exception (a second listener on a port in use fails with EADDRINUSE), which
// must arrive as nlkit's SystemError. Prints JSON: { binary, links, bindError }.
// Usage: unshare -n node scripts/prebuild-smoke.cjs <package dir>
const { createRequire } = require('node:module');
const path = require('node:path');

async function main() {
  const pkgDir = path.resolve(process.argv[2]);
  const pkgRequire = createRequire(path.join(pkgDir, 'package.json'));
  // the binary node-gyp-build picks, the same way nlkit's loader does
  const binary = pkgRequire('node-gyp-build').path(pkgDir);
  const nlkit = pkgRequire(pkgDir);
  const h = await nlkit.open();
  const links = (await h.links.list()).map((l) => l.name);
  h.close();
  const server = await nlkit.listenTcp({ host: '127.0.0.1', port: 9 });
  let bindError;
  try {
    (await nlkit.listenTcp({ host: '127.0.0.1', port: 9 })).close();
  } catch (e) {
    bindError = { name: e.name, code: e.code };
  }
  server.close();
  console.log(JSON.stringify({ binary, links, bindError }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
