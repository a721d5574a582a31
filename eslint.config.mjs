// Lint: typescript-eslint's strict, type-checked rules on the library, the
// recommended ones on tests, benchmarks and scripts. Formatting is prettier's
// job (.prettierrc.json), not eslint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'prebuilds/**', 'node_modules/**', 'docs/api/**', 'scripts/prebuild-toolchain/**', 'test/fuzz/corpus/**'] },
  // A disable that no longer suppresses anything is an error, so none outlives its reason.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  // Everything runs on Node: tests, benchmarks, scripts, examples, the CLI entry.
  { languageOptions: { globals: { ...globals.node } } },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    extends: [...tseslint.configs.recommended],
    rules: {
      // Tests read `ip -j`/`nft -j` JSON and call the API the way untyped JavaScript does (wrong types on purpose).
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['lib/**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked, ...tseslint.configs.stylisticTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Messages interpolate indexes, errnos, lengths, counters (number and bigint) and flags; their String() form is what we want.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void doSomething()` style callbacks (event handlers, resolve/reject) read better as arrow shorthands.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // A caught value is passed on as the rejection unchanged (`catch (e) { return Promise.reject(e) }`).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // The codebase writes `T[]` for simple element types and `Array<A | B>` for the rest.
      '@typescript-eslint/array-type': ['error', { default: 'array-simple' }],
      // An empty string means "absent" where we read strings (`alias || undefined`, `ipv4 || ipv6`).
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // Its fix writes `x!`, which no-non-null-assertion (kept, from the strict set) forbids.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // Destructuring a field away (`const { type: _t, ...rest } = x`) is how we drop it from a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['lib/network/**/*.ts'],
    rules: {
      // The host state is plain JSON dictionaries (name → record) persisted to disk; deleting a key is how an entry leaves them.
      '@typescript-eslint/no-dynamic-delete': 'off',
    },
  },
);
