// Lint (in `npm test`): typescript-eslint's recommended rules, type-aware for the shipped code and
// the scripts (floating and misused promises, needless assertions: what tsc lets through), and
// without types for the tests, where tap's unawaited subtests are the norm and type-aware linting
// would double the time. Rules switched off say why.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const unusedVars = ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }];

export default tseslint.config(
  { ignores: ['dist/', '.tmp/', 'node_modules/', 'tap-snapshots/', '.ci/', 'data/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  {
    files: ['src/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'migrations/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Fastify plugins and route handlers are async by convention, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': unusedVars,
    },
  },
  {
    files: ['test/**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': unusedVars,
      // Tests read parsed JSON bodies and poke at them.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Input checks look for control characters on purpose (RFC 7643 strings, log lines, headers).
    rules: { 'no-control-regex': 'off' },
  },
  {
    // Migrations are frozen against the schema of their day, not today's Database type: Kysely's
    // documented Kysely<any>.
    files: ['migrations/**/*.ts', 'src/db/migrate.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The console's buttons and forms run async handlers; a failure they leave unhandled is shown
    // by main.ts's unhandledrejection listener, so handing a listener a promise is not a mistake.
    files: ['src/console/app/**/*.ts'],
    rules: { '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false, properties: false } }] },
  },
);
