import { isDeepStrictEqual } from 'node:util';
import type { JsonSchema, JsonValue } from './contract-schema';

/** What changed between a published contract schema and the one the code derives now. */
export interface SchemaComparison {
  /** Changes a consumer of the published version can trip over, each `path: what changed (why it breaks)`. */
  breaking: string[];
  /** Compatible changes (a new optional field), each `path: what was added`. */
  additions: string[];
}

/** Keywords that document and validate nothing. */
const ANNOTATIONS = new Set(['title', 'description', 'examples', 'example', '$comment', 'deprecated', 'readOnly', 'writeOnly']);
/** Bounds a larger value tightens. */
const LOWER_BOUNDS = new Set(['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties']);
/** Bounds a smaller value tightens. */
const UPPER_BOUNDS = new Set(['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties']);
/** Walked into rather than compared whole. */
const STRUCTURE = new Set(['type', 'enum', 'properties', 'required', 'items']);

const TIGHTENED = 'constraint tightened: events published before may not satisfy it';
const LOOSENED = 'constraint loosened: consumers of this version validate with the old rule and would refuse the new values';

/**
 * Compares a published version's payload schema with the one derived now, under full
 * compatibility: every event valid under one must be valid under the other, both ways, because
 * producers and consumers of one version deploy apart and events already stored are published
 * again (`republish-events`). So the one compatible change is a new optional property (a v1
 * consumer ignores properties it does not know); everything else on an existing property breaks:
 * removed or renamed, type changed, newly required or no longer required, an enum narrowed or
 * widened, a bound or format tightened or loosened, a new required property.
 */
export function compareContractSchemas(published: JsonSchema, current: JsonSchema, path = 'data'): SchemaComparison {
  const comparison: SchemaComparison = { breaking: [], additions: [] };
  compareAt(path, published, current, comparison);
  return comparison;
}

function compareAt(path: string, before: JsonSchema, after: JsonSchema, out: SchemaComparison): void {
  if (!isDeepStrictEqual(before.type, after.type)) {
    out.breaking.push(`${path}: type changed from ${show(before.type)} to ${show(after.type)}`);
    return; // what follows would only restate it
  }
  compareEnums(path, before.enum, after.enum, out);
  const keywords = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const keyword of keywords) {
    if (ANNOTATIONS.has(keyword) || STRUCTURE.has(keyword)) continue;
    compareKeyword(path, keyword, before[keyword], after[keyword], out);
  }
  compareProperties(path, before, after, out);
  if (isSchema(before.items) || isSchema(after.items)) {
    if (isSchema(before.items) && isSchema(after.items)) compareAt(`${path}[]`, before.items, after.items, out);
    else out.breaking.push(`${path}[]: items changed from ${show(before.items)} to ${show(after.items)}`);
  }
}

function compareEnums(path: string, before: JsonValue | undefined, after: JsonValue | undefined, out: SchemaComparison): void {
  if (isDeepStrictEqual(before, after)) return;
  if (!Array.isArray(after)) {
    out.breaking.push(`${path}: no longer restricted to ${show(before)} (${LOOSENED})`);
  } else if (!Array.isArray(before)) {
    out.breaking.push(`${path}: now restricted to ${show(after)} (${TIGHTENED})`);
  } else {
    const removed = before.filter((value) => !after.some((other) => isDeepStrictEqual(value, other)));
    const added = after.filter((value) => !before.some((other) => isDeepStrictEqual(value, other)));
    if (removed.length > 0) out.breaking.push(`${path}: enum narrowed, ${show(removed)} no longer allowed (events published before may carry them)`);
    if (added.length > 0) out.breaking.push(`${path}: enum widened by ${show(added)} (consumers of this version refuse values they do not know)`);
  }
}

function compareKeyword(path: string, keyword: string, before: JsonValue | undefined, after: JsonValue | undefined, out: SchemaComparison): void {
  if (isDeepStrictEqual(before, after)) return;
  const change = `${keyword} ${before === undefined ? `added: ${show(after)}` : after === undefined ? `removed (was ${show(before)})` : `changed from ${show(before)} to ${show(after)}`}`;
  if (LOWER_BOUNDS.has(keyword) || UPPER_BOUNDS.has(keyword)) {
    const raises = LOWER_BOUNDS.has(keyword);
    const tightened =
      after !== undefined && (before === undefined || (typeof before === 'number' && typeof after === 'number' && (raises ? after > before : after < before)));
    out.breaking.push(`${path}: ${change} (${tightened ? TIGHTENED : LOOSENED})`);
  } else {
    out.breaking.push(`${path}: ${change} (${before === undefined ? TIGHTENED : 'the rule changed: events valid under one are refused by the other'})`);
  }
}

function compareProperties(path: string, before: JsonSchema, after: JsonSchema, out: SchemaComparison): void {
  const beforeProperties = isSchema(before.properties) ? before.properties : {};
  const afterProperties = isSchema(after.properties) ? after.properties : {};
  const beforeRequired = new Set(stringsOf(before.required));
  const afterRequired = new Set(stringsOf(after.required));
  for (const [name, schema] of Object.entries(beforeProperties)) {
    const at = `${path}.${name}`;
    const now = afterProperties[name];
    if (now === undefined) {
      out.breaking.push(`${at}: removed or renamed (consumers of this version read it)`);
      continue;
    }
    if (beforeRequired.has(name) && !afterRequired.has(name)) out.breaking.push(`${at}: no longer required (consumers of this version rely on it)`);
    if (!beforeRequired.has(name) && afterRequired.has(name)) out.breaking.push(`${at}: now required (events published before may lack it)`);
    if (isSchema(schema) && isSchema(now)) compareAt(at, schema, now, out);
  }
  for (const name of Object.keys(afterProperties)) {
    if (name in beforeProperties) continue;
    if (afterRequired.has(name)) out.breaking.push(`${path}.${name}: new required field (events published before lack it)`);
    else out.additions.push(`${path}.${name}: new optional field`);
  }
}

function isSchema(value: JsonValue | undefined): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringsOf(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function show(value: JsonValue | undefined): string {
  return value === undefined ? 'none' : JSON.stringify(value);
}
