import {
  getMetadataStorage,
  IS_ARRAY,
  IS_BOOLEAN,
  IS_DATE,
  IS_DATE_STRING,
  IS_EMAIL,
  IS_ENUM,
  IS_IN,
  IS_INT,
  IS_ISO8601,
  IS_NUMBER,
  IS_OBJECT,
  IS_STRING,
  IS_UUID,
} from 'class-validator';

type Storage = ReturnType<typeof getMetadataStorage>;
type Rule = ReturnType<Storage['getTargetValidationMetadatas']>[number];

/** Rules on what a value is (class-validator's "type checkers"). */
const TYPE_RULES: ReadonlySet<string> = new Set([IS_INT, IS_NUMBER, IS_STRING, IS_BOOLEAN, IS_ARRAY, IS_OBJECT, IS_DATE, IS_ENUM]);
/** Rules on which values a property takes at all: each refuses a value of another type, with a message that says what it must be. */
const FORM_RULES: ReadonlySet<string> = new Set([IS_UUID, IS_EMAIL, IS_IN, IS_DATE_STRING, IS_ISO8601]);

/** Whether a rule says what a property's value (or each element of it) must be, rather than a bound on a value of the right type. */
export function isTypeRule(rule: Pick<Rule, 'name'>): boolean {
  return rule.name !== undefined && (TYPE_RULES.has(rule.name) || FORM_RULES.has(rule.name));
}

/**
 * A property's rules in the order they must run: its type first, then its form (a UUID, an
 * email), then the element type of a list, then every other rule (ranges, lengths, patterns) in
 * the order class-validator holds them. Array.prototype.sort is stable.
 */
export function typeRulesFirst(rules: Rule[]): Rule[] {
  return [...rules].sort((a, b) => rankOf(a) - rankOf(b));
}

function rankOf(rule: Rule): number {
  if (!isTypeRule(rule)) return 4;
  const rank = TYPE_RULES.has(rule.name!) ? 0 : 1;
  return rule.each ? rank + 2 : rank;
}

const ordered = new WeakSet<Storage>();

/**
 * Makes class-validator check each property's type before its bounds, whatever the order of its
 * decorators. It runs a property's rules in the order they were registered, and decorators
 * register bottom-up: `@IsInt() @Min(1) @Max(100)` checks Max first. With `stopAtFirstError`
 * (request-validation.ts) only the first failure is reported, so `?limit=abc` was answered
 * "limit must not be greater than 100" and `"quantity": "2"` "quantity must not be greater than
 * 10000". Reordering here, where class-validator groups a class's rules by property, serves every
 * request class, nested ones included, with no rule for their authors to remember.
 */
export function checkTypesFirst(storage: Storage = getMetadataStorage()): void {
  if (ordered.has(storage)) return;
  ordered.add(storage);
  const group = storage.groupByPropertyName.bind(storage);
  storage.groupByPropertyName = (rules) => {
    const grouped = group(rules);
    for (const property of Object.keys(grouped)) grouped[property] = typeRulesFirst(grouped[property]);
    return grouped;
  };
}
