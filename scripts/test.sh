#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh Debian
# machine (as root), builds the addon from source and the TypeScript, then runs
# every test, the examples and the docs build. Fails on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v bridge >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v iptables-nft >/dev/null || need+=(iptables) # nft-interop: an xtables match as an expression nlkit keeps opaque
command -v setpriv >/dev/null || need+=(util-linux)
command -v make >/dev/null || need+=(make)
command -v g++ >/dev/null || need+=(g++)
command -v python3 >/dev/null || need+=(python3)
command -v readelf >/dev/null || need+=(binutils)
command -v conntrack >/dev/null || need+=(conntrack) # cross-checks conntrack listing and flush (and the conntrack-flush benchmark's peer)
command -v dig >/dev/null || need+=(dnsutils)   # cross-checks the DNS responder
command -v dnsperf >/dev/null || need+=(dnsperf) # DNS responder benchmark (bench/workloads/dns.js)
ls /lib/ld-musl-*.so.1 >/dev/null 2>&1 || need+=(musl) # check-prebuilds resolves the musl build's symbols
# the CNI conformance tests: libcni built with the packaged Go, the reference plugins (portmap and firewall use iptables)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/containernetworking/cni/libcni ] || need+=(golang-github-appc-cni-dev)
[ -x /usr/lib/cni/portmap ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v podman >/dev/null || need+=(podman) # a real engine with its CNI backend (test/integration/cni-podman.test.ts)
# the benchmark's peers (bench/peers, bench/README.md): libmnl in C, vishvananda/netlink in Go
pkg-config --exists libmnl 2>/dev/null || need+=(pkg-config libmnl-dev)
[ -d /usr/share/gocode/src/github.com/vishvananda/netlink ] || need+=(golang-go golang-github-vishvananda-netlink-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== npm ci (builds the native addon from source)"
npm ci --no-audit --no-fund
npx node-gyp rebuild >/dev/null
npm run --silent build:ts

echo "== prebuilt binaries (cross-built with Zig; ELF machine, symbol versions, exports, loading)"
node scripts/prebuild.mjs
node scripts/check-prebuilds.mjs --load

echo "== typecheck"
npm run --silent typecheck

echo "== lint (eslint.config.mjs) and formatting (.prettierrc.json)"
npm run --silent lint

echo "== import layers, cycles and file sizes (.dependency-cruiser.cjs, scripts/check-file-sizes.mjs)"
npm run --silent check:layers

echo "== tests"
report=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`)' "$report" || true
rm -f "$report"
[ "$status" -eq 0 ] || { echo "tests failed"; exit "$status"; }

if [ -f scripts/examples.sh ]; then
  echo "== examples"
  bash scripts/examples.sh
fi

if [ -f typedoc.json ]; then
  echo "== API docs (warnings are errors)"
  npx typedoc --treatWarningsAsErrors >/dev/null
  echo "== every public function has an @example"
  node scripts/doc-examples.mjs --strict
fi
echo "== all green"
