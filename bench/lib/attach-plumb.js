'use strict';
/**
 * The Go peer's attach plumbing (bench/peers/go-netlink.go `attach`) with
 * nlkit's low-level API, for an apples-to-apples row: per sandbox the
 * namespace file is opened and a fresh handle is made in it (Go:
 * netns.GetFromPath, netlink.NewHandleAt); on the host a veth is created with
 * its peer in the sandbox, enslaved to the bridge (looked up by name per
 * sandbox, as Go does) and up; in the sandbox: lo up, the address, eth0 up,
 * the default route. No IPAM, no state, no hairpin, like the Go peer.
 *
 * Requests that do not depend on each other are asked in the same tick (one
 * sendmsg; the kernel runs them in order), and the sandbox's handle is opened
 * while the host creates the veth. The sandbox's handle is short-lived
 * (`open({ shortLived: true })`: its socket made by its first round's pool
 * job, no socket object; `opts.shortLived: false` for the plain `open()`).
 *
 * The sandbox side is one round: eth0 is named by the peer's index that
 * `links.add()` resolves to (the kernel's echo of the create). The row's
 * earlier definition, two rounds with eth0's index read back by
 * `links.get('eth0')` in the first, is kept as `opts.readBack` (and is what a
 * build whose `links.add()` resolves to nothing runs).
 */

/**
 * Attaches one sandbox. `host` is a handle in the bridge's namespace (Go's
 * process lives there and uses the package handle); `sandbox` a namespace
 * name or path; `i` numbers the host end (`lv<i>`) and the address.
 */
async function plumbSandbox(nlkit, host, sandbox, i, opts = {}) {
  const bridge = opts.bridge ?? 'nlk-bench';
  const ns = nlkit.openNetnsSync(sandbox);
  try {
    const hostIf = `${opts.prefix ?? 'lv'}${i}`;
    const [sbOpen, added] = await Promise.allSettled([
      // shortLived: the socket is made by the first round's pool job (a build without the option makes it in open()).
      nlkit.open({ netns: ns, shortLived: opts.shortLived ?? true }),
      host.links.add({ name: hostIf, kind: 'veth', master: bridge, up: true, peer: { name: 'eth0', netns: ns } }),
    ]);
    if (sbOpen.status === 'rejected') throw sbOpen.reason;
    const sb = sbOpen.value;
    try {
      if (added.status === 'rejected') throw added.reason;
      const a = 201 + (i >> 8);
      const configure = (eth0, first = []) =>
        Promise.all([
          ...first,
          sb.addresses.add(eth0, `${opts.net16 ?? '10.78'}.${a}.${(i & 255) + 1}/16`),
          sb.links.set(eth0, { up: true }),
          sb.routes.add({ dst: 'default', gateway: opts.gateway ?? '10.78.0.1', dev: eth0 }),
        ]);
      const peerIndex = opts.readBack ? undefined : added.value?.peerIndex;
      if (peerIndex !== undefined) {
        // One round: lo up, then eth0's address, eth0 up and the route, in that order, by the echoed index.
        await configure(peerIndex, [sb.links.set('lo', { up: true })]);
      } else {
        // Round 1: eth0's index (for the address and the route), lo up. Round 2: address, up, route, in that order.
        const [eth0] = await Promise.all([sb.links.get('eth0'), sb.links.set('lo', { up: true })]);
        await configure(eth0.index);
      }
    } finally {
      sb.close();
    }
    return hostIf;
  } finally {
    ns.close();
  }
}

module.exports = { plumbSandbox };
