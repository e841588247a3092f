import 'reflect-metadata';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { ValidationTypes } from 'class-validator';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import type { IntegrationEventContract } from './index';

/** A JSON Schema (draft 07, the dialect of AsyncAPI 3's Schema Object), as plain JSON. */
export type JsonSchema = { [keyword: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * The JSON Schema of a contract's `data`, derived by `class-validator-jsonschema` from the same
 * class-validator decorators the consumer validates with, so the schema cannot drift from the
 * rules applied: `@IsInt() @Min(1)` → `{ type: 'integer', minimum: 1 }`, `@IsUUID()` →
 * `format: uuid`, `@IsIn([...])` → `enum`, every decorated property without `@IsOptional()` in
 * `required`. Nested classes (`@ValidateNested` + class-transformer's `@Type`) are written inline,
 * so each contract's schema stands alone (what a snapshot compares). Extra properties are not
 * refused (no `additionalProperties: false`): a consumer validating v1 accepts a field added
 * later, which is what makes an optional field a compatible change.
 */
export function contractPayloadSchema(contract: IntegrationEventContract): JsonSchema {
  return classSchema(contract);
}

const OPTIONS: Parameters<typeof targetConstructorToSchema>[1] = {
  classTransformerMetadataStorage: defaultMetadataStorage,
  additionalConverters: {
    // The library's own converter answers a `$ref` to a schema of the nested class; inline it.
    [ValidationTypes.NESTED_VALIDATION]: (meta) => {
      const owner = meta.target as Class;
      const nested = defaultMetadataStorage.findTypeMetadata(owner, meta.propertyName)?.typeFunction() as Class | undefined;
      if (!nested) throw new Error(`${owner.name}.${meta.propertyName}: @ValidateNested needs class-transformer's @Type(() => Class)`);
      return classSchema(nested);
    },
  },
};

type Class = abstract new (...args: never[]) => object;

function classSchema(target: Class): JsonSchema {
  return JSON.parse(JSON.stringify(targetConstructorToSchema(target, OPTIONS))) as JsonSchema;
}
