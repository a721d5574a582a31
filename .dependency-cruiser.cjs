/**
 * The import layers of lib/ (docs/architecture.md draws them), checked by
 * `npm run check:layers` in CI. Bottom to top:
 *
 *   native            lib/native           the addon's loader; imports nothing
 *   foundation        lib/netlink/errors.ts, errno.ts, render-value.ts   the typed errors, errno names, values in messages
 *   validate          lib/validate         input checks, shared by every layer
 *   system calls      lib/system, lib/netns            tun, flock, namespaces, sysctls
 *   netlink core      lib/netlink          framing, parser, connection, operations
 *   families          lib/rtnetlink, nftables, conntrack, genetlink, sockdiag
 *   handle            lib/handle.ts        binds the families to one namespace
 *   high level        lib/network, lib/sockets, lib/sidecar, lib/overlay, lib/dns, lib/services
 *   cli               lib/cli, lib/cni   the nlkit command, the CNI plugin
 *   package root      lib/index.ts (and subpath entry points lib/<folder>/index.ts)
 *
 * A layer imports only layers below it; only the netlink core, lib/system and
 * lib/netns call the addon; a family never imports another family; nothing
 * imports in a circle, not even `import type`. Every exception is in
 * EXCEPTIONS below with its reason.
 */

const NATIVE = '^lib/native/';
const FOUNDATION = '^lib/netlink/(errors|errno|render-value)\\.ts$';
const VALIDATE = '^lib/validate/';
const SYSTEM = '^lib/system/';
const NETNS = '^lib/netns/';
const CORE = '^lib/netlink/';
const FAMILIES = '^lib/(rtnetlink|nftables|conntrack|genetlink|sockdiag)/';
const HANDLE = '^lib/handle\\.ts$';
const HIGH_LEVEL = '^lib/(network|sockets|sidecar|overlay|dns|services)/';
const CLI = '^lib/(cli|cni)/';
const ROOT = '^lib/index\\.ts$';
/** Subpath entry points (`nlkit/netlink`, `nlkit/genetlink`) may check the platform like the root does. */
const ENTRY_POINTS = '^lib/(index|[a-z-]+/index)\\.ts$';

const any = (...paths) => paths.map((p) => `(${p})`).join('|');

/**
 * Known exceptions: rule name → modules (regex) exempt from it, and why.
 * Keep this list short; each entry says when it goes away.
 */
const EXCEPTIONS = {
  'native-only-below-the-families': [],
};

function exempt(rule) {
  const list = EXCEPTIONS[rule.name];
  if (!list) return rule;
  const from = { ...rule.from, pathNot: any(...[rule.from.pathNot, ...list.map((e) => e.from)].filter(Boolean)) };
  return { ...rule, from };
}

const rules = [
  {
    name: 'no-circular',
    comment: 'No import cycles, type-only imports included: a cycle hides which module is the lower one.',
    from: {},
    to: { circular: true },
  },
  {
    name: 'native-is-the-bottom',
    comment: 'lib/native only loads the addon and describes it.',
    from: { path: NATIVE },
    to: { path: '^lib/', pathNot: NATIVE },
  },
  {
    name: 'foundation-imports-nothing',
    comment: 'The typed errors and errno names are imported by every layer, so they import no other layer.',
    from: { path: FOUNDATION },
    to: { path: '^lib/', pathNot: FOUNDATION },
  },
  {
    name: 'validate-is-shared-bottom',
    comment: 'Input checks throw ValidationError and know nothing else of nlkit.',
    from: { path: VALIDATE },
    to: { path: '^lib/', pathNot: any(VALIDATE, FOUNDATION) },
  },
  {
    name: 'system-calls-below-netlink',
    comment: 'lib/system wraps the addon’s plain system calls; it needs only the addon, errors and validation.',
    from: { path: SYSTEM },
    to: { path: '^lib/', pathNot: any(SYSTEM, NATIVE, FOUNDATION, VALIDATE) },
  },
  {
    name: 'netns-is-shared-bottom',
    comment: 'Namespaces (open, create, delete, sysctls) are system calls too: below the netlink core, usable by every layer.',
    from: { path: NETNS },
    to: { path: '^lib/', pathNot: any(NETNS, NATIVE, FOUNDATION, VALIDATE, SYSTEM) },
  },
  {
    name: 'core-below-families',
    comment: 'The netlink core knows no family, handle or high-level module.',
    from: { path: CORE, pathNot: FOUNDATION },
    to: { path: '^lib/', pathNot: any(CORE, NATIVE, VALIDATE, NETNS, SYSTEM) },
  },
  {
    name: 'native-only-below-the-families',
    comment: 'Only the netlink core (sockets), lib/system and lib/netns call the addon; entry points may call assertLinux().',
    from: { path: '^lib/', pathNot: any(NATIVE, CORE, SYSTEM, NETNS, ENTRY_POINTS) },
    to: { path: NATIVE },
  },
  {
    name: 'families-are-independent',
    comment: 'A family (rtnetlink, nftables, conntrack, genetlink, sockdiag) never imports another family; shared code goes down a layer.',
    from: { path: FAMILIES },
    to: { path: FAMILIES, pathNot: '^lib/$1/' },
  },
  {
    name: 'families-below-handle',
    comment: 'Families are operation tables; the handle and the high level bind and combine them, never the reverse.',
    from: { path: FAMILIES },
    to: { path: any(HANDLE, HIGH_LEVEL, CLI, ROOT) },
  },
  {
    name: 'handle-below-high-level',
    comment: 'The handle binds families to a namespace; it does not know networks, sockets or the CLI.',
    from: { path: HANDLE },
    to: { path: any(HIGH_LEVEL, CLI, ROOT) },
  },
  {
    name: 'high-level-below-cli',
    comment: 'Networks and sockets are library code: they never import the CLI or the package root.',
    from: { path: HIGH_LEVEL },
    to: { path: any(CLI, ROOT) },
  },
  {
    name: 'nothing-imports-the-root',
    comment: 'lib/index.ts is the package root; modules import what they need from its source.',
    from: { path: '^lib/' },
    to: { path: ROOT },
  },
].map((r) => exempt({ severity: 'error', ...r }));

for (const name of Object.keys(EXCEPTIONS)) {
  if (!rules.some((r) => r.name === name)) throw new Error(`.dependency-cruiser.cjs: exception for unknown rule ${name}`);
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: rules,
  options: {
    includeOnly: '^lib/',
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: "no cycle, not even type-only".
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
