// Lint: typescript-eslint's strict, type-checked rules on the library, the
// recommended ones on tests, benchmarks and scripts. Formatting is prettier's
// job (.prettierrc.json), not eslint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'prebuilds/**', 'node_modules/**', 'docs/api/**', 'scripts/prebuild-toolchain/**', 'test/fuzz/corpus/**'] },
  js.configs.recommended,
  {
    files: ['lib/**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
);
