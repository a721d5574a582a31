#!/usr/bin/env bash
# Runs every example under examples/ (as a user would: `node examples/X`),
# each inside the namespaces it creates, and fails if one fails or leaves a
# namespace behind.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(ls /run/netns 2>/dev/null | sort || true)
had_dir=$([ -d /run/netns ] && echo yes || echo no)
for f in examples/*.mjs examples/*/[0-9]*.mjs; do
  [ -e "$f" ] || continue
  echo "-- $f"
  timeout 120 node "$f" >/tmp/nlkit-example.out 2>&1 || { cat /tmp/nlkit-example.out; echo "example $f failed"; exit 1; }
  sed 's/^/   /' /tmp/nlkit-example.out | head -40
done
after=$(ls /run/netns 2>/dev/null | sort || true)
if [ "$before" != "$after" ]; then
  echo "examples left namespaces behind: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"
  exit 1
fi
# The first example's namespace made /run/netns (mounted on itself, as `ip netns add` does): on a machine
# that had none, take it away again, so /run is as before (umount -n: no /run/mount/utab either).
if [ "$had_dir" = no ] && [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
  umount -n /run/netns 2>/dev/null || true
  rmdir /run/netns
fi
