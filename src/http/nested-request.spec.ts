import { globSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, IS_OBJECT, IsOptional, IsString, validateSync, ValidationTypes } from 'class-validator';
import { NestedObject, NestedObjectArray } from './nested-request';

class Line {
  @IsOptional()
  @IsString()
  sku?: string;
}

class Basket {
  @NestedObjectArray(() => Line)
  lines: Line[];

  @NestedObject(() => Line)
  main: Line;
}

function errorsOf(plain: unknown): string[] {
  return validateSync(plainToInstance(Basket, plain) as object).map((error) => error.property);
}

describe('NestedObject / NestedObjectArray', () => {
  it.each([
    { name: 'an empty array in the list', body: { lines: [[]], main: {} }, field: 'lines' },
    { name: 'an array of objects in the list', body: { lines: [[{ sku: 'a' }]], main: {} }, field: 'lines' },
    { name: 'a number in the list', body: { lines: [1], main: {} }, field: 'lines' },
    { name: 'null in the list', body: { lines: [null], main: {} }, field: 'lines' },
    { name: 'an object instead of the list', body: { lines: { 0: {} }, main: {} }, field: 'lines' },
    { name: 'an array instead of the object', body: { lines: [], main: [{ sku: 'a' }] }, field: 'main' },
    { name: 'an empty array instead of the object', body: { lines: [], main: [] }, field: 'main' },
    { name: 'a string instead of the object', body: { lines: [], main: 'a' }, field: 'main' },
  ])('refuses $name', ({ body, field }) => {
    expect(errorsOf(body)).toContain(field);
  });

  it('accepts JSON objects where they belong', () => {
    expect(errorsOf({ lines: [{ sku: 'a' }, {}], main: { sku: 'b' } })).toEqual([]);
  });
});

describe('every nested property of every request DTO', () => {
  const root = join(__dirname, '../..');
  let requestClasses: Array<new () => object> = [];
  // Loads every request DTO of the app, so their decorators have registered their metadata.
  beforeAll(async () => {
    const modules = await Promise.all(globSync('src/**/*.request.ts', { cwd: root }).map((file) => import(join(root, file))));
    requestClasses = modules.flatMap((exports: Record<string, unknown>) =>
      Object.values(exports).filter((exported): exported is new () => object => typeof exported === 'function'),
    );
  });

  it('finds the request DTOs', () => {
    expect(requestClasses.length).toBeGreaterThanOrEqual(5);
  });

  it('requires a JSON object wherever it validates a nested DTO (declared with NestedObject / NestedObjectArray)', () => {
    const storage = getMetadataStorage();
    const unguarded = requestClasses.flatMap((requestClass) => {
      const metadata = storage.getTargetValidationMetadatas(requestClass, '', true, false);
      return metadata
        .filter((nested) => nested.type === ValidationTypes.NESTED_VALIDATION)
        .filter(
          (nested) =>
            !metadata.some(
              (rule) => rule.propertyName === nested.propertyName && rule.name === IS_OBJECT && Boolean(rule.each) === Boolean(nested.each),
            ),
        )
        .map((nested) => `${requestClass.name}.${nested.propertyName}`);
    });
    expect(unguarded).toEqual([]);
  });
});
