// ESLint flat config: typescript-eslint's recommended rules for src/ and test/, plus the one
// layering rule that keeps knowledge flowing one way (only commands import the CLI layer).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

export default tseslint.config(
  {ignores: ['dist/**', 'build/**', 'node_modules/**', 'oclif.manifest.json', 'test/fixtures/**/*.json']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The report page's script runs in the browser, with chart.js inlined before it.
    files: ['dashboards/**/*.js'],
    languageOptions: {globals: {...globals.browser, Chart: 'readonly'}},
  },
  {
    languageOptions: {globals: {...globals.node}},
    rules: {
      // An empty catch is how a best-effort read (a /proc or /sys file that may be absent) says
      // "absent is fine"; every other empty block is a mistake.
      'no-empty': ['error', {allowEmptyCatch: true}],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'},
      ],
    },
  },
)
