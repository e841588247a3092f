import { contractRules } from './contract-rules';
import { OrderPlacedV1 } from './index';
import { compareContractRules } from './rule-compatibility';

// Unit cases on rule lists; contract-snapshots.spec.ts covers them through edited copies of classes.
const published = () => contractRules(OrderPlacedV1);

describe("a contract's validation rules", () => {
  it('are read from the metadata storage by path, nested list elements included, sorted', () => {
    const rules = published();
    expect(Object.keys(rules)).toEqual(['currency', 'customerId', 'lines', 'lines[].quantity', 'lines[].sku', 'lines[].unitPrice', 'orderId', 'placedAt', 'total']);
    expect(rules.currency).toEqual([
      { rule: 'isLength', type: 'customValidation', constraints: [3, 3], each: false },
      { rule: 'isString', type: 'customValidation', constraints: [], each: false },
    ]);
    expect(rules.lines).toContainEqual({ rule: 'nestedValidation', type: 'nestedValidation', constraints: [], each: true, nested: 'OrderLineV1' });
    expect(JSON.stringify(contractRules(OrderPlacedV1))).toBe(JSON.stringify(rules));
  });
});

describe('comparing published rules with the current ones', () => {
  it('finds nothing between rules and themselves, whatever order they come in', () => {
    const reordered = Object.fromEntries(Object.entries(published()).map(([path, list]) => [path, [...list].reverse()]));
    expect(compareContractRules(published(), reordered)).toEqual([]);
  });

  it('names the property, the rule and what changed in it', () => {
    const current = published();
    current['lines[].sku'] = current['lines[].sku'].map((rule) => (rule.rule === 'isString' ? { ...rule, each: true } : rule));
    expect(compareContractRules(published(), current)).toEqual([
      expect.stringMatching(/^data\.lines\[\]\.sku: rule isString changed, each from false to true \(a published version's validation rules are frozen/),
    ]);
  });

  it('lists a rule added and one removed', () => {
    const current = published();
    current.total = [{ rule: 'isPositive', type: 'customValidation', constraints: [], each: false }];
    expect(compareContractRules(published(), current)).toEqual([
      expect.stringContaining('data.total: rule isInt removed (was {"type":"customValidation","constraints":[],"each":false})'),
      expect.stringContaining('data.total: rule min removed'),
      expect.stringContaining('data.total: rule isPositive added: {"type":"customValidation","constraints":[],"each":false}'),
    ]);
  });

  it('reports a property gone unless the schema comparison already named it or its parent', () => {
    const current = published();
    delete current.placedAt;
    delete current['lines[].sku'];
    expect(compareContractRules(published(), current)).toEqual([
      expect.stringContaining('data.lines[].sku: its rules isLength, isString are gone'),
      expect.stringContaining('data.placedAt: its rules isIso8601 are gone'),
    ]);
    expect(compareContractRules(published(), current, ['data.placedAt', 'data.lines'])).toEqual([]);
  });

  it('leaves a property the published version lacks to the schema comparison', () => {
    const current = { ...published(), note: [{ rule: 'isOptional', type: 'conditionalValidation', constraints: [], each: false }] };
    expect(compareContractRules(published(), current)).toEqual([]);
  });
});
