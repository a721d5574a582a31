'use strict';
/** Fresh process: load nlkit and open a handle in namespace NS (its rtnetlink socket), then exit (startup). */
require('../lib/fresh-child').freshChild(async () => ({
  work: async () => {
    const h = await require('nlkit').open({ netns: process.argv[2] });
    await h.links.get('lo');
    h.close();
  },
}));
