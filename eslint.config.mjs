// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A module reaches another only through its index.ts (its public face); shared code reaches none. */
const moduleBoundary = (other) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          regex: `(^|/)modules/${other}/.+|^\\.\\./(\\.\\./)*${other}/.+`,
          message: `import the ${other} module only through its index.ts`,
        },
      ],
    },
  ],
});

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
  { files: ['src/modules/orders/**/*.ts'], rules: moduleBoundary('users') },
  { files: ['src/modules/users/**/*.ts'], rules: moduleBoundary('orders') },
  {
    files: ['src/event-store/**/*.ts', 'src/http/**/*.ts', 'src/shared/**/*.ts', 'src/database/**/*.ts', 'src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)modules/', message: 'shared building blocks import no feature module' }] }],
    },
  },
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
);
