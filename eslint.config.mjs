// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Code outside src/event-store reaches it only through its index.ts (its public face). */
const eventStoreFace = {
  regex: '(^|/)event-store/.+',
  message: 'import the event store only through src/event-store/index.ts',
};

/** A module reaches another only through its index.ts (its public face); shared code reaches none. */
const moduleBoundary = (other) => ({
  regex: `(^|/)modules/${other}/.+|^\\.\\./(\\.\\./)*${other}/.+`,
  message: `import the ${other} module only through its index.ts`,
});

const noFeatureModule = { regex: '(^|/)modules/', message: 'shared building blocks import no feature module' };

/** One no-restricted-imports setting per file: ESLint keeps only the last one that matches, so each lists every pattern that applies. */
const restrictedImports = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

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
  { files: ['src/**/*.ts'], ignores: ['src/event-store/**'], rules: restrictedImports(eventStoreFace) },
  { files: ['src/modules/orders/**/*.ts'], rules: restrictedImports(moduleBoundary('users'), eventStoreFace) },
  { files: ['src/modules/users/**/*.ts'], rules: restrictedImports(moduleBoundary('orders'), eventStoreFace) },
  { files: ['src/event-store/**/*.ts'], rules: restrictedImports(noFeatureModule) },
  { files: ['src/http/**/*.ts', 'src/shared/**/*.ts', 'src/database/**/*.ts', 'src/config/**/*.ts'], rules: restrictedImports(noFeatureModule, eventStoreFace) },
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
