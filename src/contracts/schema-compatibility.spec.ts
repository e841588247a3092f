import type { JsonSchema } from './contract-schema';
import { readSnapshots } from './contract-snapshots';
import { compareContractSchemas } from './schema-compatibility';

// Each case edits a copy of a real published snapshot, never the contract itself.
const snapshots = readSnapshots();
const published = (type: string): JsonSchema => structuredClone(snapshots.get(type)!.schema);
const orderPlaced = () => published('com.example.orders.order-placed.v1');
const creditRejected = () => published('com.example.users.credit-rejected.v1');

type Props = Record<string, JsonSchema>;
const props = (schema: JsonSchema): Props => schema.properties as Props;
const lineProps = (schema: JsonSchema): Props => (props(schema).lines.items as JsonSchema).properties as Props;

function edited(original: JsonSchema, edit: (copy: JsonSchema) => void): JsonSchema {
  const copy = structuredClone(original);
  edit(copy);
  return copy;
}

describe('comparing a published contract schema with the current one', () => {
  it('finds nothing between a schema and itself', () => {
    expect(compareContractSchemas(orderPlaced(), orderPlaced())).toEqual({ breaking: [], additions: [] });
  });

  it.each<[string, () => JsonSchema, (copy: JsonSchema) => void, string]>([
    ['a field removed', orderPlaced, (s) => delete props(s).currency, 'data.currency: removed or renamed'],
    [
      'a field renamed',
      orderPlaced,
      (s) => {
        props(s).amount = props(s).total;
        delete props(s).total;
        s.required = (s.required as string[]).map((name) => (name === 'total' ? 'amount' : name));
      },
      'data.total: removed or renamed',
    ],
    ['a type changed', orderPlaced, (s) => (props(s).total = { type: 'string' }), 'data.total: type changed from "integer" to "string"'],
    [
      'a new required field',
      orderPlaced,
      (s) => {
        props(s).channel = { type: 'string' };
        (s.required as string[]).push('channel');
      },
      'data.channel: new required field',
    ],
    ['an enum narrowed', creditRejected, (s) => (props(s).reason.enum = ['insufficient credit']), 'data.reason: enum narrowed, ["customer deactivated"] no longer allowed'],
    ['an enum widened', creditRejected, (s) => (props(s).reason.enum as string[]).push('fraud suspected'), 'data.reason: enum widened by ["fraud suspected"]'],
    ['a minimum raised, in a nested line', orderPlaced, (s) => (lineProps(s).quantity.minimum = 2), 'data.lines[].quantity: minimum changed from 1 to 2 (constraint tightened'],
    ['a maximum length lowered', orderPlaced, (s) => (lineProps(s).sku.maxLength = 32), 'data.lines[].sku: maxLength changed from 64 to 32 (constraint tightened'],
    ['a bound added', orderPlaced, (s) => (props(s).total.maximum = 1_000_000), 'data.total: maximum added: 1000000 (constraint tightened'],
    ['a bound loosened', orderPlaced, (s) => (props(s).currency.minLength = 2), 'data.currency: minLength changed from 3 to 2 (constraint loosened'],
    ['a format added', orderPlaced, (s) => (props(s).currency.pattern = '^[A-Z]{3}$'), 'data.currency: pattern added: "^[A-Z]{3}$" (constraint tightened'],
    ['a format changed', orderPlaced, (s) => (props(s).orderId.format = 'uri'), 'data.orderId: format changed from "uuid" to "uri"'],
    ['a required field made optional', orderPlaced, (s) => (s.required = (s.required as string[]).filter((name) => name !== 'currency')), 'data.currency: no longer required'],
    ['an array made a single object', orderPlaced, (s) => (props(s).lines = props(s).lines.items as JsonSchema), 'data.lines: type changed from "array" to "object"'],
  ])('catches %s', (_, original, edit, expected) => {
    const { breaking, additions } = compareContractSchemas(original(), edited(original(), edit));
    expect(breaking).toContainEqual(expect.stringContaining(expected));
    expect(additions).toEqual([]);
  });

  it('catches an optional field made required', () => {
    const before = edited(orderPlaced(), (s) => {
      props(s).note = { type: 'string' };
    });
    const after = edited(before, (s) => (s.required as string[]).push('note'));
    expect(compareContractSchemas(before, after).breaking).toEqual(['data.note: now required (events published before may lack it)']);
  });

  it('accepts and reports a new optional field, also in a nested object', () => {
    const after = edited(orderPlaced(), (s) => {
      props(s).note = { type: 'string', maxLength: 500 };
      lineProps(s).giftWrapped = { type: 'boolean' };
    });
    expect(compareContractSchemas(orderPlaced(), after)).toEqual({
      breaking: [],
      additions: ['data.lines[].giftWrapped: new optional field', 'data.note: new optional field'],
    });
  });

  it('ignores a changed description and the order of required names and enum values', () => {
    const after = edited(creditRejected(), (s) => {
      props(s).reason.description = 'why the credit was refused';
      (props(s).reason.enum as string[]).reverse();
      (s.required as string[]).reverse();
    });
    expect(compareContractSchemas(creditRejected(), after)).toEqual({ breaking: [], additions: [] });
  });

  it('lists every breaking change of one edit', () => {
    const after = edited(orderPlaced(), (s) => {
      delete props(s).placedAt;
      lineProps(s).unitPrice = { type: 'number' };
    });
    expect(compareContractSchemas(orderPlaced(), after).breaking).toEqual([
      'data.lines[].unitPrice: type changed from "integer" to "number"',
      'data.placedAt: removed or renamed (consumers of this version read it)',
    ]);
  });
});
