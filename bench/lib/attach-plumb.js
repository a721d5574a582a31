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
      // Round 1: eth0's index (for the address and the route), lo up. Round 2: address, up, route, in that order.
      const [eth0] = await Promise.all([sb.links.get('eth0'), sb.links.set('lo', { up: true })]);
      const a = 201 + (i >> 8);
      await Promise.all([
        sb.addresses.add(eth0.index, `${opts.net16 ?? '10.78'}.${a}.${(i & 255) + 1}/16`),
        sb.links.set(eth0.index, { up: true }),
        sb.routes.add({ dst: 'default', gateway: opts.gateway ?? '10.78.0.1', dev: eth0.index }),
      ]);
    } finally {
      sb.close();
    }
    return hostIf;
  } finally {
    ns.close();
  }
}

module.exports = { plumbSandbox };
