'use strict';
/**
 * The entry of the A/B scripts that re-run themselves as measuring children: `node SCRIPT --child ARGS...`
 * runs `child(...ARGS)` and prints what it resolves to as JSON (the parent parses it); anything else
 * runs `main()`.
 */
function childOrMain(child, main) {
  if (process.argv[2] !== '--child') return main();
  child(...process.argv.slice(3)).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

module.exports = { childOrMain };
