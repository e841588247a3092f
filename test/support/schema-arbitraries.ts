import fc from 'fast-check';

/** The subset of an OpenAPI 3 schema object that this API's request schemas use. */
export interface OpenApiSchema {
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: OpenApiSchema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
}

type Json = fc.JsonValue;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT32_MAX = 2 ** 31 - 1;

/**
 * fast-check arbitraries derived from OpenAPI schemas: `valid` values, and `invalid` ones that
 * break the schema at the node itself or at any depth below it (a wrong JSON type, an array in
 * place of an object and the reverse, a nested array, a missing required or an unknown member,
 * a number out of range or not an integer, a string too long or too short or off its pattern or
 * format, an array with too few or too many elements or one bad element). `invalid` builds
 * values meant to break the schema; the caller still checks each with a schema validator.
 */
export class SchemaArbitraries {
  /**
   * @param knownValues valid values to use for members of that name wherever they appear (ids
   *   that must exist, e.g. `customerId`), so that a body broken elsewhere is not refused for
   *   naming an unknown entity before it reaches the part under test.
   */
  constructor(
    private readonly schemas: Record<string, OpenApiSchema>,
    private readonly knownValues: Record<string, Json> = {},
  ) {}

  resolve(schema: OpenApiSchema): OpenApiSchema {
    if (!schema.$ref) return schema;
    const name = schema.$ref.replace('#/components/schemas/', '');
    const resolved = this.schemas[name];
    if (!resolved) throw new Error(`unknown schema ${schema.$ref}`);
    return this.resolve(resolved);
  }

  valid(reference: OpenApiSchema): fc.Arbitrary<Json> {
    const schema = this.resolve(reference);
    if (schema.enum) return fc.constantFrom(...(schema.enum as Json[]));
    switch (schema.type) {
      case 'object': {
        const properties = Object.entries(schema.properties ?? {});
        const model = Object.fromEntries(
          properties.map(([name, property]) => [name, Object.hasOwn(this.knownValues, name) ? fc.constant(this.knownValues[name]) : this.valid(property)]),
        );
        return fc.record(model, { requiredKeys: schema.required ?? [] }) as fc.Arbitrary<Json>;
      }
      case 'array': {
        const minLength = schema.minItems ?? 0;
        return fc.array(this.valid(schema.items ?? {}), { minLength, maxLength: Math.min(schema.maxItems ?? minLength + 2, minLength + 2) });
      }
      case 'string':
        return this.validString(schema);
      case 'integer':
        return fc.integer({ min: Math.max(schema.minimum ?? -INT32_MAX, -INT32_MAX), max: Math.min(schema.maximum ?? INT32_MAX, INT32_MAX) });
      case 'number':
        return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
      case 'boolean':
        return fc.boolean();
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  }

  invalid(reference: OpenApiSchema): fc.Arbitrary<Json> {
    const schema = this.resolve(reference);
    const broken = this.brokenConstraints(schema);
    // A wrong type weighs as much as half the other ways together, so shape confusions
    // (an array for an object…) stay frequent at every depth.
    const wrongTypeWeight = Math.max(1, Math.ceil(broken.reduce((sum, { weight }) => sum + weight, 0) / 2));
    return fc.oneof({ arbitrary: this.wrongType(schema), weight: wrongTypeWeight }, ...broken);
  }

  private validString(schema: OpenApiSchema): fc.Arbitrary<string> {
    const maxLength = schema.maxLength ?? 40;
    if (schema.format === 'uuid') return fc.uuid();
    if (schema.format === 'email') return fc.emailAddress().filter((email) => email.length <= maxLength);
    if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter((text) => text.length <= maxLength);
    return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(maxLength, 40) });
  }

  /** A value of another JSON type; for objects and arrays also the same data in the other shape. */
  private wrongType(schema: OpenApiSchema): fc.Arbitrary<Json> {
    const other = fc.jsonValue({ maxDepth: 2 }).filter((value) => !hasType(schema, value));
    switch (schema.type) {
      case 'object':
        // An array in place of the object: empty, of the valid object ([[…]] one level up), of arrays.
        return fc.oneof(other, fc.array(this.valid(schema), { maxLength: 2 }), fc.constant<Json>([[]]));
      case 'array':
        return fc.oneof(other, this.valid(schema).map((items) => ({ ...(items as Json[]) }) as Json), fc.constant({}));
      default:
        return fc.oneof(other, this.valid(schema).map((value) => [value]));
    }
  }

  private brokenConstraints(schema: OpenApiSchema): Array<fc.WeightedArbitrary<Json>> {
    switch (schema.type) {
      case 'object':
        return this.brokenObject(schema);
      case 'array':
        return this.brokenArray(schema);
      case 'string':
        return brokenString(schema).map((arbitrary) => ({ arbitrary, weight: 1 }));
      case 'integer':
      case 'number':
        return brokenNumber(schema).map((arbitrary) => ({ arbitrary, weight: 1 }));
      default:
        return [];
    }
  }

  /** Missing members, an unknown one, or a member broken (weighted higher: it reaches deeper). */
  private brokenObject(schema: OpenApiSchema): Array<fc.WeightedArbitrary<Json>> {
    const properties = schema.properties ?? {};
    const valid = this.valid(schema) as fc.Arbitrary<Record<string, Json>>;
    const withMember = (name: string, value: fc.Arbitrary<Json>) =>
      fc.tuple(valid, value).map(([object, member]) => ({ ...object, [name]: member }));
    const missing = (schema.required ?? []).map((name) =>
      valid.map((object) => Object.fromEntries(Object.entries(object).filter(([key]) => key !== name))),
    );
    const unknownName = fc.string({ minLength: 1, maxLength: 12 }).filter((name) => !Object.hasOwn(properties, name));
    const unknown = fc.tuple(valid, unknownName, fc.jsonValue({ maxDepth: 2 })).map(([object, name, value]) => ({ ...object, [name]: value }));
    const badMember = Object.entries(properties).map(([name, property]) => withMember(name, this.invalid(property)));
    return [
      ...missing.map((arbitrary) => ({ arbitrary, weight: 1 })),
      { arbitrary: unknown, weight: 1 },
      ...badMember.map((arbitrary) => ({ arbitrary, weight: 2 })),
    ];
  }

  /** One bad element among valid ones (weighted higher: it reaches deeper), too few, too many. */
  private brokenArray(schema: OpenApiSchema): Array<fc.WeightedArbitrary<Json>> {
    const item = schema.items ?? {};
    const broken: Array<fc.WeightedArbitrary<Json>> = [
      {
        arbitrary: fc
          .tuple(fc.array(this.valid(item), { maxLength: 2 }), this.invalid(item), fc.nat())
          .map(([items, bad, at]) => items.toSpliced(at % (items.length + 1), 0, bad)),
        weight: 3,
      },
    ];
    if (schema.minItems && schema.minItems > 0) {
      broken.push({ arbitrary: fc.array(this.valid(item), { maxLength: schema.minItems - 1 }), weight: 1 });
    }
    if (schema.maxItems !== undefined) {
      broken.push({ arbitrary: fc.array(this.valid(item), { minLength: schema.maxItems + 1, maxLength: schema.maxItems + 3 }), weight: 1 });
    }
    return broken;
  }
}

function brokenString(schema: OpenApiSchema): Array<fc.Arbitrary<Json>> {
  const broken: Array<fc.Arbitrary<Json>> = [];
  if (schema.maxLength !== undefined) {
    const over = schema.maxLength + 1;
    broken.push(fc.integer({ min: over, max: over + 5000 }).chain((length) => fc.string({ minLength: length, maxLength: length })));
    broken.push(fc.constant('x'.repeat(over)));
  }
  if (schema.minLength) broken.push(fc.string({ maxLength: schema.minLength - 1 }));
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    broken.push(fc.string({ maxLength: 8 }).filter((text) => !pattern.test(text)));
  }
  if (schema.format === 'uuid') {
    broken.push(fc.string({ maxLength: 40 }).filter((text) => !UUID.test(text)));
    broken.push(fc.uuid().map((uuid) => `${uuid}0`));
  }
  if (schema.format === 'email') broken.push(fc.string({ maxLength: 30 }).filter((text) => !text.includes('@')));
  if (schema.enum) broken.push(fc.string({ maxLength: 12 }).filter((text) => !schema.enum?.includes(text)));
  return broken;
}

function brokenNumber(schema: OpenApiSchema): Array<fc.Arbitrary<Json>> {
  const broken: Array<fc.Arbitrary<Json>> = [fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -(2 ** 53) - 2)];
  if (schema.minimum !== undefined) broken.push(fc.integer({ min: 1, max: 1e9 }).map((below) => schema.minimum! - below));
  if (schema.maximum !== undefined) broken.push(fc.integer({ min: 1, max: 1e9 }).map((above) => schema.maximum! + above));
  if (schema.type === 'integer') {
    const min = Math.max(schema.minimum ?? -1e6, -1e6);
    const max = Math.min(schema.maximum ?? 1e6, 1e6);
    broken.push(fc.integer({ min, max: max - 1 }).chain((whole) => fc.double({ min: whole + 0.001, max: whole + 0.999, noNaN: true })));
  }
  return broken;
}

function hasType(schema: OpenApiSchema, value: Json): boolean {
  if (value === null) return schema.nullable === true;
  switch (schema.type) {
    case 'object':
      return typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
    case 'string':
    case 'boolean':
      return typeof value === schema.type;
    default:
      return true;
  }
}
