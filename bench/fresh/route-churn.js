'use strict';
/**
 * Fresh process: add N /32 routes through link INDEX with every call in
 * flight, then delete them (route-churn); with a 4th argument `bulk`, as one
 * routes.add(list) and one routes.delete(list).
 */
require('../lib/fresh-child').freshChild(async (nlkit, [ns, n, index, mode]) => {
  const h = await nlkit.open({ netns: ns });
  const list = [];
  for (let i = 0; i < Number(n); i++) list.push({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link: Number(index) });
  if (mode === 'bulk') {
    return {
      work: async () => {
        await h.routes.add(list);
        await h.routes.delete(list);
      },
      close: () => h.close(),
    };
  }
  return {
    work: async () => {
      await Promise.all(list.map((r) => h.routes.add(r)));
      await Promise.all(list.map((r) => h.routes.delete(r)));
    },
    close: () => h.close(),
  };
});
