// Shared by the low-level examples: throw-away namespaces, always deleted
// afterwards (also on failure), and a check that fails loudly.
import * as nlkit from 'nlkit';

/** Creates one namespace per label, opens a handle in each, runs `fn`, deletes them. */
export async function withNamespaces(labels, fn) {
  const ns = Object.fromEntries(labels.map((l) => [l, `ll${process.pid}-${l}`]));
  const h = {};
  try {
    for (const l of labels) {
      await nlkit.createNetns(ns[l]);
      h[l] = await nlkit.open({ netns: ns[l] });
      await h[l].links.set('lo', { up: true });
    }
    return await fn({ ns, h });
  } finally {
    for (const x of Object.values(h)) x.close();
    for (const l of labels) await nlkit.deleteNetns(ns[l], { missingOk: true });
  }
}

/** Throws unless `got` equals `want` (compared as JSON). */
export function expectEqual(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}
