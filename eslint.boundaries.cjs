// @ts-check
// The architecture, defined once: its elements and the dependency rule between them, enforced by
// `npx eslint .` (eslint.config.mjs) and proved by src/architecture.spec.ts (which also runs it
// over a planted violation). CommonJS so that both the ESM config and the jest test can load it.
const fs = require('node:fs');
const path = require('node:path');
const boundaries = require('eslint-plugin-boundaries');
const { parser } = require('typescript-eslint');

/**
 * Cross-cutting building blocks with no business knowledge: any folder may use them, and the
 * consumer (a separate app) may use nothing else but the contracts. They import only each other
 * and the contracts (never the event store), so the consumer loads none of the monolith through them.
 */
const PLATFORM_FOLDERS = ['shared', 'database', 'logging', 'http', 'config', 'auth', 'metrics', 'tracing'];

/** Building blocks the feature modules stand on: they import no feature module. */
const BUILDING_BLOCK_FOLDERS = [...PLATFORM_FOLDERS, 'event-store'];

/**
 * The broker's wire, shared by the monolith's publisher and the consumer, still inside
 * src/messaging beside the relay and the outbox (which the consumer must not reach), plus the
 * health answer both apps give. Each file imports only the contracts or the platform. Listed,
 * not allowed as whole folders; moving them into a platform folder removes this list.
 */
const CONSUMER_ALSO_USES = [
  'src/messaging/broker-topology.ts',
  'src/messaging/coalesced-socket-writes.ts',
  'src/messaging/dead-letters/dead-letter-queue.ts',
  'src/messaging/message-headers.ts',
  'src/messaging/queue-depth.ts',
  'src/messaging/returned-messages.ts',
  'src/health/respond-with-health.ts',
  // The consumer's own schema, which it migrates at start.
  'migrations/consumer/index.ts',
];

/** Every folder that publishes an index.ts (src/<folder> or src/modules/<module>), relative to rootDir. */
function foldersWithIndex(rootDir) {
  const childrenOf = (dir) =>
    fs.existsSync(path.join(rootDir, dir))
      ? fs.readdirSync(path.join(rootDir, dir), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => `${dir}/${entry.name}`)
      : [];
  return [...childrenOf('src'), ...childrenOf('src/modules')].filter((folder) => fs.existsSync(path.join(rootDir, folder, 'index.ts')));
}

/**
 * The flat-config entries that check the boundaries of the project at rootDir.
 *
 * The rule, for every file under src, specs included (the e2e tests under test/ are not checked:
 * they reach inside on purpose):
 * - a folder with an index.ts is imported from outside only through that index.ts (which folders
 *   have one is read from disk when the config loads, so a new index.ts closes its folder);
 * - the consumer imports only the contracts, the platform and CONSUMER_ALSO_USES, and nothing
 *   imports the consumer but its own files and specs (which may read its environment schema);
 * - the platform imports only the platform and the contracts (its specs may also read the
 *   consumer's environment);
 * - the building blocks (the platform and the event store) import no feature module;
 * - the contracts import nothing else in src;
 * - a file outside src (tests, scripts, migrations) is an element too, and no file under src but
 *   a spec imports one, except the schema its app migrates: src/database and src/cli the
 *   monolith's migrations/index.ts, the consumer its migrations/consumer/index.ts.
 *
 * @param {string} rootDir absolute path of the project (the folder holding src/)
 * @returns {import('eslint').Linter.Config[]}
 */
function boundariesConfig(rootDir) {
  const gated = foldersWithIndex(rootDir);
  const folder = (names) => ({ element: { type: 'folder', captured: { name: names } } });
  const anyOf = (names) => `{${names.join(',')}}`;
  const platform = folder(anyOf(PLATFORM_FOLDERS));
  return [
    {
      files: ['src/**/*.ts'],
      plugins: { boundaries },
      languageOptions: { parser },
      settings: {
        'boundaries/root-path': rootDir,
        // Every file of the project is an element, so that an import out of src (scripts, test,
        // migrations) meets the policies too; package imports are external, not files.
        'boundaries/include': ['**/*'],
        'boundaries/ignore': ['node_modules/**', 'dist/**'],
        // A type import in a type position (`typeof import('…')`) depends on its module like any import.
        'boundaries/additional-dependency-nodes': [{ selector: 'TSImportType > Literal', kind: 'type', name: 'import-type' }],
        // Resolves imports as tsc does (tsconfig paths, extensions), so no import escapes the rule unresolved.
        'import/resolver': { typescript: { project: path.join(rootDir, 'tsconfig.json') } },
        'boundaries/elements': [
          { type: 'module', pattern: 'src/modules/*', partialMatch: false, capture: ['name'] },
          { type: 'folder', pattern: 'src/*', partialMatch: false, capture: ['name'] },
          // What is left: the composition root (src/main.ts, src/app.module.ts, …).
          { type: 'app', pattern: 'src', partialMatch: false },
          // Everything outside src: the tests, scripts, migrations, configuration.
          { type: 'outside', pattern: '*', partialMatch: false },
        ],
      },
      rules: {
        'boundaries/dependencies': [
          'error',
          {
            default: 'allow',
            // The last matching policy decides.
            policies: [
              {
                from: folder('consumer'),
                disallow: { to: { element: { type: '*' } } },
                message: 'the consumer imports only src/contracts and the platform folders, not {{to.element.path}} (eslint.boundaries.cjs)',
              },
              {
                from: folder('consumer'),
                allow: { to: [folder('contracts'), platform, { file: { path: CONSUMER_ALSO_USES } }] },
              },
              {
                from: platform,
                disallow: { to: { element: { type: '*' } } },
                message: '{{from.element.path}} is platform: it imports only the platform folders and src/contracts, not {{to.element.path}}',
              },
              {
                from: platform,
                allow: { to: [folder('contracts'), platform] },
              },
              {
                // The monolith's schema, which the database platform migrates at start.
                from: folder('database'),
                allow: { to: { file: { path: 'migrations/index.ts' } } },
              },
              {
                // A platform spec may read the consumer's environment (the consumer runs on the same platform).
                from: { ...platform, file: { path: '**/*.spec.ts' } },
                allow: { to: folder('consumer') },
              },
              {
                from: folder(anyOf(BUILDING_BLOCK_FOLDERS)),
                disallow: { to: { element: { type: 'module' } } },
                message: '{{from.element.path}} is a building block: it imports no feature module ({{to.element.path}})',
              },
              {
                from: folder('contracts'),
                disallow: { to: { element: { type: '*' } } },
                message: 'the contracts are data only: they import nothing else from src ({{to.element.path}})',
              },
              {
                from: { file: { path: '!**/*.spec.ts' } },
                disallow: { to: folder('consumer') },
                message: 'src/consumer is a separate app: the monolith does not import it',
              },
              {
                // Code imports nothing from the tests, scripts or benchmarks; its specs may.
                from: { file: { path: '!**/*.spec.ts' } },
                disallow: { to: { element: { type: 'outside' } } },
                message: '{{from.element.path}} imports nothing outside src but the schema its app migrates, not {{to.element.path}}',
              },
              {
                // The database platform migrates at start; the CLIs migrate a database they create.
                from: folder('{database,cli}'),
                allow: { to: { file: { path: 'migrations/index.ts' } } },
              },
              {
                from: folder('consumer'),
                allow: { to: { file: { path: 'migrations/consumer/index.ts' } } },
              },
              ...gated.map((published) => ({
                disallow: { to: { element: { path: published, fileInternalPath: '!index.ts' } } },
                message: 'import {{to.element.path}} only through its index.ts, not {{to.element.path}}/{{to.element.fileInternalPath}}',
              })),
            ],
          },
        ],
      },
    },
  ];
}

module.exports = { boundariesConfig, foldersWithIndex, PLATFORM_FOLDERS, BUILDING_BLOCK_FOLDERS, CONSUMER_ALSO_USES };
