'use strict';
/** Fresh process: list (dump and decode) the main table's routes once (dump-routes). */
require('../lib/fresh-child').freshChild(async (nlkit, [ns, atLeast]) => {
  const h = await nlkit.open({ netns: ns });
  return {
    work: async () => {
      const routes = await h.routes.list();
      if (routes.length < Number(atLeast)) throw new Error(`listed ${routes.length} routes, expected at least ${atLeast}`);
    },
    close: () => h.close(),
  };
});
