// ESLint flat config: typescript-eslint's recommended rules for src/ and test/, plus the one
// layering rule that keeps knowledge flowing one way (only commands import the CLI layer).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

// Library folders above src/host/ (results/ is not one of them: host/ records its HostInfo type).
const LIBRARY = ['check', 'gen', 'observe', 'report', 'scale', 'sessions', 'testbed', 'tune']

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
    // Knowledge flows one way: commands -> cli -> library folders -> host -> native. The library
    // gets what the CLI owns (the undo registry, an AbortSignal for Ctrl-C) through its options.
    files: ['src/**/*.ts'],
    ignores: ['src/commands/**', 'src/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/cli/*', '**/commands/*'],
              message:
                'only src/commands/ imports src/cli/ (and nothing imports commands): pass the registry, signal or value through the options',
            },
          ],
        },
      ],
    },
  },
  {
    // host/ sits below every library folder: they may use it, it uses none of them.
    files: ['src/host/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/cli/*', '**/commands/*', ...LIBRARY.map((f) => `**/${f}/*`)],
              message: 'src/host/ is below the library folders: it imports none of them',
            },
          ],
        },
      ],
    },
  },
  {
    // A function a reader cannot hold in view is cut into named phases (issue 24): 100 lines at
    // most in src/, exceptions annotated where they stand with their reason.
    files: ['src/**/*.ts'],
    rules: {'max-lines-per-function': ['error', {max: 100}]},
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
