// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import architecture from './eslint.boundaries.cjs';


export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs', '!bench/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // Module boundaries, one generic rule for every folder under src: see eslint.boundaries.cjs.
  ...architecture.boundariesConfig(import.meta.dirname),
  {
    // Ids from requests enter lowercased (src/http/canonical-uuid.ts); the contracts validate what the consumer receives.
    files: ['src/**/*.ts'],
    ignores: ['src/http/canonical-uuid.ts', 'src/contracts/**', '**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportSpecifier[imported.name=/^(IsUUID|ParseUUIDPipe)$/]",
          message: 'take ids from requests with CanonicalUuid / CanonicalUuidPipe (src/http/canonical-uuid.ts): lowercase, whatever the client sent',
        },
      ],
    },
  },
  {
    // @fastify/otel ends a request span only as an answer goes out: a hijacked request's would stay open for good.
    files: ['src/**/*.ts'],
    ignores: ['src/tracing/unanswered-request.ts', '**/*.spec.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { property: 'hijack', message: 'leave a request unanswered with leaveUnanswered (src/tracing/unanswered-request.ts): it also ends its request span' },
      ],
    },
  },
  { files: ['test/**/*.ts', '**/*.spec.ts'], rules: { 'no-console': 'off' } },
  {
    // Plain Node scripts outside the TypeScript project: the recommended rules without type information.
    files: ['bench/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        console: 'readonly',
        fetch: 'readonly',
        process: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off' },
  },
  // The bench's unit tests run under jest (the unit project), which provides these.
  { files: ['bench/*.spec.mjs'], languageOptions: { globals: { describe: 'readonly', it: 'readonly', expect: 'readonly' } } },
);
