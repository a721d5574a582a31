'use strict';
/** Fresh process: add N /32 routes through link INDEX with every call in flight, then delete them (route-churn). */
require('../lib/fresh-child').freshChild(async (nlkit, [ns, n, index]) => {
  const h = await nlkit.open({ netns: ns });
  const list = [];
  for (let i = 0; i < Number(n); i++) list.push({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link: Number(index) });
  return {
    work: async () => {
      await Promise.all(list.map((r) => h.routes.add(r)));
      await Promise.all(list.map((r) => h.routes.delete(r)));
    },
    close: () => h.close(),
  };
});
