import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { ESLint, type Linter } from 'eslint';
import * as ts from 'typescript';

/** The architecture as eslint.boundaries.cjs defines it (the same rule `npx eslint .` enforces). */
interface Architecture {
  boundariesConfig(rootDir: string): Linter.Config[];
  foldersWithIndex(rootDir: string): string[];
  PLATFORM_FOLDERS: string[];
  CONSUMER_ALSO_USES: string[];
}

interface Violation {
  /** Importing file, relative to the project root. */
  file: string;
  message: string;
}

const PROJECT_ROOT = join(__dirname, '..');
const architecture = createRequire(__filename)(join(PROJECT_ROOT, 'eslint.boundaries.cjs')) as Architecture;

/** Every import under rootDir/src that crosses a boundary, found by the boundaries rule alone. */
async function boundaryViolations(rootDir: string): Promise<Violation[]> {
  const eslint = new ESLint({ cwd: rootDir, overrideConfigFile: true, overrideConfig: architecture.boundariesConfig(rootDir), allowInlineConfig: false });
  const results = await eslint.lintFiles(['src/**/*.ts']);
  return results.flatMap((result) =>
    result.messages.map((message) => ({ file: relative(rootDir, result.filePath), message: message.fatal ? `parse error: ${message.message}` : message.message })),
  );
}

/** Which feature module imports which (src/modules/<name> → names), from their non-spec files, resolved as tsc does. */
function moduleDependencies(rootDir: string): Map<string, Set<string>> {
  const modulesDir = join(rootDir, 'src', 'modules');
  const tsconfig = join(rootDir, 'tsconfig.json');
  const options = existsSync(tsconfig)
    ? ts.parseJsonConfigFileContent(ts.readConfigFile(tsconfig, ts.sys.readFile).config, ts.sys, rootDir).options
    : { moduleResolution: ts.ModuleResolutionKind.Node10 };
  const graph = new Map<string, Set<string>>();
  const modules = readdirSync(modulesDir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  for (const name of modules) {
    const dependencies = new Set<string>();
    const files = readdirSync(join(modulesDir, name), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'));
    for (const file of files.map((file) => join(modulesDir, name, file))) {
      for (const imported of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
        const resolved = ts.resolveModuleName(imported.fileName, file, options, ts.sys).resolvedModule?.resolvedFileName;
        const target = resolved === undefined ? undefined : relative(modulesDir, resolved).split(sep)[0];
        if (target !== undefined && target !== '..' && target !== name) dependencies.add(target);
      }
    }
    graph.set(name, dependencies);
  }
  return graph;
}

/** One cycle in the graph, as the path that closes it (`['a', 'b', 'a']`), or undefined when there is none. */
function cycleIn(graph: Map<string, Set<string>>): string[] | undefined {
  const done = new Set<string>();
  const visit = (node: string, path: string[]): string[] | undefined => {
    if (path.includes(node)) return [...path.slice(path.indexOf(node)), node];
    if (done.has(node)) return undefined;
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next, [...path, node]);
      if (cycle !== undefined) return cycle;
    }
    done.add(node);
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node, []);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

const temporaryTrees: string[] = [];

/** A throwaway project holding just these files (path → source). */
function projectWith(files: Record<string, string>): string {
  const rootDir = mkdtempSync(join(tmpdir(), 'architecture-'));
  temporaryTrees.push(rootDir);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(rootDir, path)), { recursive: true });
    writeFileSync(join(rootDir, path), source);
  }
  return rootDir;
}

afterEach(() => {
  for (const rootDir of temporaryTrees.splice(0)) rmSync(rootDir, { recursive: true, force: true });
});

// Two modules and the contracts, each publishing its index.ts, and a platform folder.
const BASE = {
  'src/modules/orders/index.ts': "export { Order } from './domain/order';\n",
  'src/modules/orders/domain/order.ts': 'export class Order {}\n',
  'src/modules/users/index.ts': 'export const USERS = 1;\n',
  'src/contracts/index.ts': "export { OrderPlacedV1 } from './order-events.v1';\n",
  'src/contracts/order-events.v1.ts': 'export class OrderPlacedV1 {}\n',
  'src/shared/clock.ts': 'export const now = () => 0;\n',
};

describe('architecture: the import graph of src', () => {
  it('crosses no boundary', async () => {
    expect(await boundaryViolations(PROJECT_ROOT)).toEqual([]);
  }, 180_000);

  it('the feature modules depend on each other without a cycle', () => {
    expect(cycleIn(moduleDependencies(PROJECT_ROOT))).toBeUndefined();
  });

  it('closes the modules and the contracts behind their index.ts', () => {
    expect(architecture.foldersWithIndex(PROJECT_ROOT)).toEqual(expect.arrayContaining(['src/contracts', 'src/modules/orders', 'src/modules/users']));
  });

  it('names platform folders and consumer files that exist (a rename does not silently widen the rule)', () => {
    const missing = [...architecture.PLATFORM_FOLDERS.map((folder) => `src/${folder}`), ...architecture.CONSUMER_ALSO_USES].filter(
      (path) => !existsSync(join(PROJECT_ROOT, path)),
    );
    expect(missing).toEqual([]);
  });
});

describe('architecture: the rule fails on a planted violation', () => {
  it('a module reaching into another module past its index.ts is reported', async () => {
    const rootDir = projectWith({ ...BASE, 'src/modules/users/credit.ts': "import { Order } from '../orders/domain/order';\nexport const o = Order;\n" });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/modules/users/credit.ts', message: expect.stringContaining('import src/modules/orders only through its index.ts') },
    ]);
  });

  it('an import through a tsconfig path alias is resolved and checked like a relative one', async () => {
    const rootDir = projectWith({
      ...BASE,
      'tsconfig.json': JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '@app/*': ['src/*'] } } }),
      'src/modules/users/credit.ts': "import { Order } from '@app/modules/orders/domain/order';\nexport const o = Order;\n",
    });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/modules/users/credit.ts', message: expect.stringContaining('import src/modules/orders only through its index.ts') },
    ]);
  });

  it('a module using another through its index.ts passes', async () => {
    const rootDir = projectWith({ ...BASE, 'src/modules/users/credit.ts': "import { Order } from '../orders';\nexport const o = Order;\n" });
    expect(await boundaryViolations(rootDir)).toEqual([]);
  });

  it('any folder is closed as soon as it publishes an index.ts', async () => {
    const files = {
      ...BASE,
      'src/event-store/aggregate-writer.ts': 'export class AggregateWriter {}\n',
      'src/modules/orders/persistence/orders.repository.ts': "import { AggregateWriter } from '../../../event-store/aggregate-writer';\nexport const w = AggregateWriter;\n",
    };
    expect(await boundaryViolations(projectWith(files))).toEqual([]);
    const published = projectWith({ ...files, 'src/event-store/index.ts': "export { AggregateWriter } from './aggregate-writer';\n" });
    expect(await boundaryViolations(published)).toEqual([
      { file: 'src/modules/orders/persistence/orders.repository.ts', message: expect.stringContaining('import src/event-store only through its index.ts') },
    ]);
  });

  it('the consumer reaching past the contracts and the platform is reported', async () => {
    const rootDir = projectWith({
      ...BASE,
      'src/messaging/broker-topology.ts': 'export const EXCHANGE = "events";\n',
      'src/messaging/relay/outbox-relay.ts': 'export class OutboxRelay {}\n',
      'src/consumer/inbox.ts': [
        "import { OrderPlacedV1 } from '../contracts';",
        "import { now } from '../shared/clock';",
        "import { EXCHANGE } from '../messaging/broker-topology';",
        "import { OutboxRelay } from '../messaging/relay/outbox-relay';",
        "import { USERS } from '../modules/users';",
        'export const all = [OrderPlacedV1, now, EXCHANGE, OutboxRelay, USERS];',
        '',
      ].join('\n'),
    });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/consumer/inbox.ts', message: expect.stringContaining('not src/messaging') },
      { file: 'src/consumer/inbox.ts', message: expect.stringContaining('not src/modules/users') },
    ]);
  });

  it('the monolith importing the consumer app is reported (its specs may read the consumer environment)', async () => {
    const rootDir = projectWith({
      ...BASE,
      'src/consumer/config/consumer-environment.ts': 'export const loadConsumerEnvironment = () => ({});\n',
      'src/config/environment.ts': "import { loadConsumerEnvironment } from '../consumer/config/consumer-environment';\nexport const e = loadConsumerEnvironment;\n",
      'src/config/environment.spec.ts': "import { loadConsumerEnvironment } from '../consumer/config/consumer-environment';\nexport const e = loadConsumerEnvironment;\n",
    });
    expect(await boundaryViolations(rootDir)).toEqual([{ file: 'src/config/environment.ts', message: expect.stringContaining('src/consumer is a separate app') }]);
  });

  it('two modules importing each other, even through their index.ts, are a cycle', () => {
    const rootDir = projectWith({ ...BASE, 'src/modules/users/orders-of-user.ts': "import { Order } from '../orders';\nexport const o = Order;\n", 'src/modules/orders/domain/credit.ts': "import { USERS } from '../../users';\nexport const u = USERS;\n" });
    expect(cycleIn(moduleDependencies(rootDir))).toEqual(['orders', 'users', 'orders']);
  });

  it('a platform folder importing a feature module is reported', async () => {
    const rootDir = projectWith({ ...BASE, 'src/shared/order-clock.ts': "import { Order } from '../modules/orders';\nexport const o = Order;\n" });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/shared/order-clock.ts', message: expect.stringContaining('src/shared is a building block: it imports no feature module') },
    ]);
  });

  it('a platform folder importing the event store or any folder outside the platform is reported', async () => {
    const rootDir = projectWith({
      ...BASE,
      'src/event-store/index.ts': "export { runId } from './run-id';\n",
      'src/event-store/run-id.ts': 'export const runId = () => "r";\n',
      'src/admission/admission-control.ts': 'export const LOAD_SHED_CODE = "LOAD_SHED";\n',
      'src/http/correlation-id.ts': [
        "import { runId } from '../event-store';",
        "import { LOAD_SHED_CODE } from '../admission/admission-control';",
        "export type R = typeof import('../event-store').runId;",
        'export const all = [runId, LOAD_SHED_CODE];',
        '',
      ].join('\n'),
    });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/http/correlation-id.ts', message: expect.stringContaining('src/http is platform: it imports only the platform folders and src/contracts, not src/event-store') },
      { file: 'src/http/correlation-id.ts', message: expect.stringContaining('src/http is platform: it imports only the platform folders and src/contracts, not src/admission') },
      { file: 'src/http/correlation-id.ts', message: expect.stringContaining('src/http is platform: it imports only the platform folders and src/contracts, not src/event-store') },
    ]);
  });

  it('a platform folder importing another platform folder or the contracts passes', async () => {
    const rootDir = projectWith({
      ...BASE,
      'src/http/correlation-id.ts': "import { now } from '../shared/clock';\nimport { OrderPlacedV1 } from '../contracts';\nexport const all = [now, OrderPlacedV1];\n",
      'src/logging/log-context.ts': "import { now } from '../shared/clock';\nexport type N = typeof import('../http/correlation-id').all;\nexport const n = now;\n",
    });
    expect(await boundaryViolations(rootDir)).toEqual([]);
  });

  it('the contracts importing anything else from src are reported', async () => {
    const rootDir = projectWith({ ...BASE, 'src/contracts/user-events.v1.ts': "import { now } from '../shared/clock';\nexport const t = now;\n" });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/contracts/user-events.v1.ts', message: expect.stringContaining('the contracts are data only') },
    ]);
  });

  it('a platform folder naming a feature module in an import type (typeof import(…)) is reported', async () => {
    const rootDir = projectWith({ ...BASE, 'src/shared/order-clock.ts': "export type O = typeof import('../modules/orders').Order;\n" });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/shared/order-clock.ts', message: expect.stringContaining('src/shared is a building block: it imports no feature module') },
    ]);
  });

  // Files outside src are elements too (type `outside`), so the policies see an import out of src.
  it('the consumer importing a file outside src is reported', async () => {
    const rootDir = projectWith({
      ...BASE,
      'scripts/relay-tools.ts': 'export const relay = 1;\n',
      'src/consumer/main.ts': "import { relay } from '../../scripts/relay-tools';\nexport const r = relay;\n",
    });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/consumer/main.ts', message: expect.stringContaining('src/consumer imports nothing outside src but the schema its app migrates') },
    ]);
  });

  it('a platform folder importing a file outside src is reported, its allowed schema import passes', async () => {
    const rootDir = projectWith({
      ...BASE,
      'test/support/fixtures.ts': 'export const fixture = 1;\n',
      'migrations/index.ts': 'export const migrations = [];\n',
      'src/shared/uses-a-fixture.ts': "import { fixture } from '../../test/support/fixtures';\nexport const f = fixture;\n",
      'src/database/database.module.ts': "import { migrations } from '../../migrations';\nexport const m = migrations;\n",
    });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/shared/uses-a-fixture.ts', message: expect.stringContaining('src/shared imports nothing outside src but the schema its app migrates') },
    ]);
  });

  it('a feature module importing a test helper or a script is reported; its spec may', async () => {
    const rootDir = projectWith({
      ...BASE,
      'test/support/fixtures.ts': 'export const fixture = 1;\n',
      'scripts/tools.ts': 'export const tool = 1;\n',
      'src/modules/orders/domain/order-fixture.ts': "import { fixture } from '../../../../test/support/fixtures';\nexport const f = fixture;\n",
      'src/modules/orders/domain/order-tool.ts': "import { tool } from '../../../../scripts/tools';\nexport const t = tool;\n",
      'src/modules/orders/domain/order.spec.ts': "import { fixture } from '../../../../test/support/fixtures';\nexport const f = fixture;\n",
    });
    expect(await boundaryViolations(rootDir)).toEqual([
      { file: 'src/modules/orders/domain/order-fixture.ts', message: expect.stringContaining('imports nothing outside src but the schema its app migrates') },
      { file: 'src/modules/orders/domain/order-tool.ts', message: expect.stringContaining('imports nothing outside src but the schema its app migrates') },
    ]);
  });
});
