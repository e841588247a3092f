import 'reflect-metadata';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { getMetadataStorage, type MetadataStorage, ValidationTypes } from 'class-validator';
import type { JsonValue } from './contract-schema';
import type { IntegrationEventContract } from './index';

/**
 * One class-validator rule on one property, as class-validator's metadata storage holds it,
 * made JSON: `rule` is the decorator's name (`isUuid`, `isOptional`, a custom constraint's name),
 * `type` class-validator's validation type (`customValidation` for most built-ins,
 * `conditionalValidation`, `nestedValidation`…), `constraints` the decorator's arguments
 * (`@IsUUID('4')` → `["4"]`, `@IsUUID()` → `[null]`), `each` whether it applies to each element.
 * Present only when set: `nested` (the class a `@ValidateNested` property holds, from
 * class-transformer's `@Type`), `validateIf` (the per-rule condition's source), `groups`, `always`.
 */
export interface ContractRule {
  [key: string]: JsonValue;
}

/**
 * Every property's rules, by its path inside `data` (`orderId`, `lines[].sku` for the
 * properties of each element of a nested array), each list sorted: what a snapshot records next
 * to the schema, because the schema does not show every rule (`@IsUUID()` and `@IsUUID('4')`
 * both derive `format: uuid`).
 */
export type ContractRules = Record<string, ContractRule[]>;

type Class = abstract new (...args: never[]) => object;
type ValidationMetadata = ReturnType<MetadataStorage['getTargetValidationMetadatas']>[number];

/**
 * The rules of a contract's `data`, read from class-validator's metadata storage as
 * `validateSync` sees them for the contract (inherited rules included, no groups), nested
 * classes walked into. Paths and rules are sorted, so equal rules give equal JSON.
 */
export function contractRules(contract: IntegrationEventContract): ContractRules {
  const rules: ContractRules = {};
  collect(contract, '', rules, [contract]);
  return Object.fromEntries(Object.entries(rules).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function collect(target: Class, prefix: string, out: ContractRules, seen: Class[]): void {
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(target, '', false, false);
  const byProperty = getMetadataStorage().groupByPropertyName(metadatas);
  for (const [property, list] of Object.entries(byProperty)) {
    const path = `${prefix}${property}`;
    out[path] = list.map(ruleOf).sort((a, b) => compareText(JSON.stringify(a), JSON.stringify(b)));
    const nested = list.find((metadata) => metadata.type === ValidationTypes.NESTED_VALIDATION);
    const nestedClass = nested && nestedClassOf(nested);
    // A class that holds itself (a tree) is recorded once, at its first path.
    if (nestedClass && !seen.includes(nestedClass)) {
      collect(nestedClass, `${path}${holdsMany(nested) ? '[]' : ''}.`, out, [...seen, nestedClass]);
    }
  }
}

function ruleOf(metadata: ValidationMetadata): ContractRule {
  const rule: ContractRule = {
    rule: ruleName(metadata),
    type: metadata.type,
    // isOptional's constraint is class-validator's own `value != null` check: its name says it all.
    constraints: metadata.name === 'isOptional' ? [] : (metadata.constraints ?? []).map(normalise),
    each: metadata.each === true,
  };
  if (metadata.type === ValidationTypes.NESTED_VALIDATION) rule.nested = nestedClassOf(metadata)?.name ?? null;
  if (metadata.validateIf) rule.validateIf = normalise(metadata.validateIf);
  if (metadata.groups?.length) rule.groups = [...metadata.groups].sort();
  if (metadata.always !== undefined) rule.always = metadata.always;
  return rule;
}

/** `@IsUUID()` → `isUuid`; `@Validate(Constraint)` → the constraint's registered name; `@ValidateIf` → `validateIf`. */
function ruleName(metadata: ValidationMetadata): string {
  if (metadata.name) return metadata.name;
  if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) return 'validateIf';
  if (metadata.constraintCls) {
    const registered = getMetadataStorage().getTargetValidatorConstraints(metadata.constraintCls)[0]?.name;
    return registered || metadata.constraintCls.name || metadata.type;
  }
  return metadata.type;
}

function nestedClassOf(metadata: ValidationMetadata): Class | undefined {
  const owner = metadata.target as Class;
  return defaultMetadataStorage.findTypeMetadata(owner, metadata.propertyName)?.typeFunction() as Class | undefined;
}

function holdsMany(metadata: ValidationMetadata): boolean {
  return metadata.each || Reflect.getMetadata('design:type', (metadata.target as Class).prototype, metadata.propertyName) === Array;
}

/**
 * A constraint as stable JSON: object keys sorted, `undefined` → null, a class → `{ class: name }`,
 * a function (a `@ValidateIf` condition) → `{ function: its source, whitespace collapsed }` (so
 * an edited condition shows; the same compiler writes `dist` and the tests' code), a RegExp →
 * `{ regexp: "/…/flags" }`, a Date → `{ date: ISO 8601 }`.
 */
function normalise(value: unknown): JsonValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'function') {
    const source = Function.prototype.toString.call(value);
    return /^class\b/.test(source) ? { class: value.name } : { function: source.replace(/\s+/g, ' ') };
  }
  if (value instanceof RegExp) return { regexp: String(value) };
  if (value instanceof Date) return { date: value.toISOString() };
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .sort(([a], [b]) => compareText(a, b))
        .map(([key, item]) => [key, normalise(item)]),
    );
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  return String(value); // bigint, symbol
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
