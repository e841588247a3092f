import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  Min,
  registerDecorator,
  Validate,
  ValidateIf,
  ValidateNested,
  type ValidationOptions,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { contractPayloadSchema } from './contract-schema';
import { contractRules } from './contract-rules';
import {
  checkContractSnapshots,
  type ContractSnapshot,
  planSnapshotWrites,
  readSnapshots,
  SNAPSHOT_COMMAND,
  snapshotFileName,
  writeSnapshot,
} from './contract-snapshots';
import { INTEGRATION_EVENT_CONTRACTS, type IntegrationEventContract, OrderLineV1, OrderPlacedV1, OrderShippedV1 } from './index';
import { compareContractSchemas } from './schema-compatibility';

const published = readSnapshots();

describe('the published contract versions (CI guard)', () => {
  it('every contract version matches the snapshot of what was published', () => {
    const check = checkContractSnapshots(INTEGRATION_EVENT_CONTRACTS, published);
    if (check.additions.length > 0) {
      console.warn(`Compatible additions, not yet in a snapshot (\`${SNAPSHOT_COMMAND}\` records them):\n  ${check.additions.join('\n  ')}`);
    }
    if (check.problems.length > 0) throw new Error(check.problems.join('\n\n'));
  });

  it('has a snapshot for every version in the registry and none besides', () => {
    expect([...published.keys()].sort()).toEqual([...INTEGRATION_EVENT_CONTRACTS.keys()].sort());
  });
});

// Copies of real contracts, edited here: the real ones stay as published.

/** OrderShippedV1 with `total` a number instead of an integer and `shippedAt` gone. */
class OrderShippedV1Edited {
  static readonly type = OrderShippedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsNumber() @Min(0) total: number;
}

/** OrderShippedV1 whose total gets an upper bound. */
class OrderShippedV1Bounded {
  static readonly type = OrderShippedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) @Max(1_000_000) total: number;
  @IsISO8601() shippedAt: string;
}

/** OrderPlacedV1 with a new optional field. */
class OrderPlacedV1WithNote extends OrderPlacedV1 {
  @IsOptional() @IsString() @Length(1, 500) note?: string;
}

/** A next version of OrderShipped, not published yet. */
class OrderShippedV2 {
  static readonly type = 'com.example.orders.order-shipped.v2';
  @IsUUID() orderId: string;
  @IsISO8601() shippedAt: string;
}

function withContract(contract: IntegrationEventContract, type = contract.type): Map<string, IntegrationEventContract> {
  return new Map([...INTEGRATION_EVENT_CONTRACTS, [type, contract]]);
}

describe('checking contracts against their snapshots', () => {
  it('refuses an incompatible edit of a v1 contract and says to publish v2 instead', () => {
    const { problems } = checkContractSnapshots(withContract(OrderShippedV1Edited), published);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('com.example.orders.order-shipped.v1 changed incompatibly since it was published');
    expect(problems[0]).toContain('data.total: type changed from "integer" to "number"');
    expect(problems[0]).toContain('data.shippedAt: removed or renamed');
    expect(problems[0]).toContain('publish a new version (v2) instead');
  });

  it('refuses a tightened constraint', () => {
    const { problems } = checkContractSnapshots(withContract(OrderShippedV1Bounded), published);
    expect(problems).toEqual([expect.stringContaining('data.total: maximum added: 1000000 (constraint tightened')]);
  });

  it('accepts a new optional field and reports it', () => {
    const check = checkContractSnapshots(withContract(OrderPlacedV1WithNote, OrderPlacedV1.type), published);
    expect(check.problems).toEqual([]);
    expect(check.additions).toEqual(['com.example.orders.order-placed.v1: data.note: new optional field']);
  });

  it('refuses a new contract version without a snapshot, naming the command that writes it', () => {
    const { problems } = checkContractSnapshots(withContract(OrderShippedV2), published);
    expect(problems).toEqual([
      `com.example.orders.order-shipped.v2: no snapshot of this contract version; run \`${SNAPSHOT_COMMAND}\` to write com.example.orders.order-shipped.v2.json and commit it`,
    ]);
    expect(SNAPSHOT_COMMAND).toBe('npm run contracts:snapshot');
  });

  it('refuses a published version whose contract is gone', () => {
    const contracts = new Map(INTEGRATION_EVENT_CONTRACTS);
    contracts.delete(OrderShippedV1.type);
    expect(checkContractSnapshots(contracts, published).problems).toEqual([
      expect.stringMatching(/^com\.example\.orders\.order-shipped\.v1: a snapshot of a published version whose contract is gone/),
    ]);
  });
});

describe('planning `npm run contracts:snapshot`', () => {
  it('writes nothing while every snapshot is up to date', () => {
    expect(planSnapshotWrites(INTEGRATION_EVENT_CONTRACTS, published)).toEqual({ writes: [], refused: [] });
  });

  it('writes the snapshot of a new version', () => {
    const plan = planSnapshotWrites(withContract(OrderShippedV2), published);
    expect(plan.writes.map(({ type, because }) => [type, because])).toEqual([['com.example.orders.order-shipped.v2', 'new version']]);
    expect(plan.refused).toEqual([]);
  });

  it('records a compatible addition in the published snapshot', () => {
    const plan = planSnapshotWrites(withContract(OrderPlacedV1WithNote, OrderPlacedV1.type), published);
    expect(plan.writes.map(({ type, because }) => [type, because])).toEqual([[OrderPlacedV1.type, 'compatible additions']]);
    expect(Object.keys((plan.writes[0].snapshot.schema.properties as object) ?? {})).toContain('note');
  });

  it('never writes over an incompatible change, and refuses it with the reason', () => {
    const plan = planSnapshotWrites(withContract(OrderShippedV1Edited), published);
    expect(plan.writes).toEqual([]);
    expect(plan.refused).toEqual([expect.stringContaining('publish a new version (v2) instead')]);
  });
});

// Changes of decorator options and custom rules: the derived schema stays the same, the rules do not.

/** A custom decorator made with registerDecorator, as a project would write one. */
function IsCurrencyCode(codes: string[], options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isCurrencyCode',
      target: object.constructor,
      propertyName,
      constraints: [codes],
      options,
      validator: { validate: (value: unknown) => typeof value === 'string' && codes.includes(value) },
    });
}

/** A custom constraint class used with @Validate. */
@ValidatorConstraint({ name: 'isWorkingDay' })
class IsWorkingDay implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && ![0, 6].includes(new Date(value).getUTCDay());
  }
}

/** OrderShippedV1 declared again, decorator for decorator: a copy with no change. */
class OrderShippedV1Unchanged {
  static readonly type = OrderShippedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) total: number;
  @IsISO8601() shippedAt: string;
}

class OrderShippedV1Uuid4 {
  static readonly type = OrderShippedV1.type;
  @IsUUID('4') orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) total: number;
  @IsISO8601() shippedAt: string;
}

class OrderShippedV1StrictDate {
  static readonly type = OrderShippedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) total: number;
  @IsISO8601({ strict: true }) shippedAt: string;
}

class OrderShippedV1CustomRule {
  static readonly type = OrderShippedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) total: number;
  @IsISO8601() @Validate(IsWorkingDay) shippedAt: string;
}

class OrderShippedV1Conditional {
  static readonly type = OrderShippedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) total: number;
  @ValidateIf((event: OrderShippedV1Conditional) => event.total > 0) @IsISO8601() shippedAt: string;
}

class OrderPlacedV1EachDropped {
  static readonly type = OrderPlacedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsString() @Length(3, 3) currency: string;
  @IsInt() @Min(0) total: number;
  // @IsObject({ each: true }) dropped: the schema cannot tell, consumers would now accept [[…]].
  @IsArray() @ValidateNested({ each: true }) @Type(() => OrderLineV1) @ArrayMinSize(1) lines: OrderLineV1[];
  @IsISO8601() placedAt: string;
}

describe('a change to a published property that the schema does not show', () => {
  it.each<[string, IntegrationEventContract, string[]]>([
    ['@IsUUID() made @IsUUID("4")', OrderShippedV1Uuid4, ['data.orderId: rule isUuid changed, constraints from [null] to ["4"]']],
    ['@IsISO8601() made @IsISO8601({ strict: true })', OrderShippedV1StrictDate, ['data.shippedAt: rule isIso8601 changed, constraints from [null] to [{"strict":true}]']],
    ['a custom constraint added with @Validate', OrderShippedV1CustomRule, ['data.shippedAt: rule isWorkingDay added: {"type":"customValidation","constraints":[],"each":false}']],
    ['a @ValidateIf added', OrderShippedV1Conditional, ['data.shippedAt: rule validateIf added: {"type":"conditionalValidation","constraints":[{"function":"(event) => event.total > 0"}]']],
    ['@IsObject({ each: true }) dropped from a list', OrderPlacedV1EachDropped, ['data.lines: rule isObject removed (was {"type":"customValidation","constraints":[],"each":true})']],
  ])('refuses %s, naming the property and the rule', (_, edited, expected) => {
    const { problems, additions } = checkContractSnapshots(withContract(edited), published);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${edited.type} changed incompatibly since it was published`);
    for (const line of expected) expect(problems[0]).toContain(line);
    expect(problems[0]).toContain('publish a new version (v2) instead');
    expect(additions).toEqual([]);
  });

  it.each([OrderShippedV1Uuid4, OrderShippedV1StrictDate, OrderPlacedV1EachDropped].map((edited) => [edited.name, edited]))('%s is a change the derived schema alone does not see', (_, edited) => {
    const publishedSchema = contractPayloadSchema(INTEGRATION_EVENT_CONTRACTS.get(edited.type)!);
    expect(compareContractSchemas(publishedSchema, contractPayloadSchema(edited))).toEqual({ breaking: [], additions: [] });
  });

  it('accepts the same contract declared again decorator for decorator', () => {
    expect(checkContractSnapshots(withContract(OrderShippedV1Unchanged), published)).toMatchObject({ problems: [], additions: [] });
  });
});

/** A contract published with @IsNumber() and a custom decorator, and its edited copies. */
class PriceQuotedV1 {
  static readonly type = 'com.example.pricing.price-quoted.v1';
  @IsNumber() @Min(0) price: number;
  @IsCurrencyCode(['EUR', 'USD']) currency: string;
  @ValidateIf((quote: PriceQuotedV1) => quote.price > 0) @IsString() quotedBy: string;
}
class PriceQuotedV1Decimals {
  static readonly type = PriceQuotedV1.type;
  @IsNumber({ maxDecimalPlaces: 2 }) @Min(0) price: number;
  @IsCurrencyCode(['EUR', 'USD']) currency: string;
  @ValidateIf((quote: PriceQuotedV1) => quote.price > 0) @IsString() quotedBy: string;
}
class PriceQuotedV1FewerCurrencies {
  static readonly type = PriceQuotedV1.type;
  @IsNumber() @Min(0) price: number;
  @IsCurrencyCode(['EUR']) currency: string;
  @ValidateIf((quote: PriceQuotedV1) => quote.price > 0) @IsString() quotedBy: string;
}
class PriceQuotedV1OtherCondition {
  static readonly type = PriceQuotedV1.type;
  @IsNumber() @Min(0) price: number;
  @IsCurrencyCode(['EUR', 'USD']) currency: string;
  @ValidateIf((quote: PriceQuotedV1) => quote.price >= 0) @IsString() quotedBy: string;
}
class PriceQuotedV1WithDiscount extends PriceQuotedV1 {
  @IsOptional() @IsNumber({ maxDecimalPlaces: 2 }) @Min(0) discount?: number;
}

const priceQuotedPublished = new Map<string, ContractSnapshot>([[PriceQuotedV1.type, { schema: contractPayloadSchema(PriceQuotedV1), rules: contractRules(PriceQuotedV1) }]]);
const priceQuotedAs = (contract: IntegrationEventContract) => checkContractSnapshots(new Map([[PriceQuotedV1.type, contract]]), priceQuotedPublished);

describe('rules of a contract published with @IsNumber(), a custom decorator and @ValidateIf', () => {
  it.each<[string, IntegrationEventContract, string]>([
    ['@IsNumber() made @IsNumber({ maxDecimalPlaces: 2 })', PriceQuotedV1Decimals, 'data.price: rule isNumber changed, constraints from [{}] to [{"maxDecimalPlaces":2}]'],
    ["a custom decorator's constraint narrowed", PriceQuotedV1FewerCurrencies, 'data.currency: rule isCurrencyCode changed, constraints from [["EUR","USD"]] to [["EUR"]]'],
    [
      "a @ValidateIf's condition changed",
      PriceQuotedV1OtherCondition,
      'data.quotedBy: rule validateIf changed, constraints from [{"function":"(quote) => quote.price > 0"}] to [{"function":"(quote) => quote.price >= 0"}]',
    ],
  ])('refuses %s', (_, edited, expected) => {
    expect(compareContractSchemas(contractPayloadSchema(PriceQuotedV1), contractPayloadSchema(edited))).toEqual({ breaking: [], additions: [] });
    const { problems } = priceQuotedAs(edited);
    expect(problems).toEqual([expect.stringContaining(expected)]);
    expect(problems[0]).toContain('publish a new version (v2) instead');
  });

  it('accepts the published class itself, and a new optional property with its own rules', () => {
    expect(priceQuotedAs(PriceQuotedV1)).toMatchObject({ problems: [], additions: [] });
    expect(priceQuotedAs(PriceQuotedV1WithDiscount)).toMatchObject({ problems: [], additions: [`${PriceQuotedV1.type}: data.discount: new optional field`] });
  });

  it("records the new optional property's rules when the snapshot command writes the addition", () => {
    const { writes } = planSnapshotWrites(new Map([[PriceQuotedV1.type, PriceQuotedV1WithDiscount]]), priceQuotedPublished);
    expect(writes.map(({ because }) => because)).toEqual(['compatible additions']);
    expect(writes[0].snapshot.rules?.discount.map(({ rule }) => rule)).toEqual(['isNumber', 'isOptional', 'min']);
  });
});

describe('a snapshot written before snapshots held rules (a bare schema)', () => {
  const legacy = (contract: IntegrationEventContract) => new Map([...published].map(([type, snapshot]) => [type, type === contract.type ? { schema: snapshot.schema, rules: null } : snapshot]));

  it('fails the check until the snapshot command records the rules', () => {
    expect(checkContractSnapshots(INTEGRATION_EVENT_CONTRACTS, legacy(OrderShippedV1)).problems).toEqual([
      `com.example.orders.order-shipped.v1: com.example.orders.order-shipped.v1.json records no validation rules (written before snapshots held them); run \`${SNAPSHOT_COMMAND}\` once to record the contract's current rules, check they are the published ones, and commit it`,
    ]);
  });

  it('is upgraded by the snapshot command with the current rules, the schema kept', () => {
    const plan = planSnapshotWrites(INTEGRATION_EVENT_CONTRACTS, legacy(OrderShippedV1));
    expect(plan.refused).toEqual([]);
    expect(plan.writes).toEqual([{ type: OrderShippedV1.type, because: 'rules recorded', snapshot: published.get(OrderShippedV1.type) }]);
  });

  it('is not upgraded over an incompatible schema change: that is refused', () => {
    const plan = planSnapshotWrites(withContract(OrderShippedV1Edited), legacy(OrderShippedV1));
    expect(plan.writes).toEqual([]);
    expect(plan.refused).toEqual([expect.stringContaining('publish a new version (v2) instead'), expect.stringContaining('records no validation rules')]);
  });

  it('is read from a file holding the bare schema, and written back as { schema, rules }', () => {
    const directory = mkdtempSync(join(tmpdir(), 'contract-snapshots-'));
    try {
      const { schema, rules } = published.get(OrderShippedV1.type)!;
      writeFileSync(join(directory, snapshotFileName(OrderShippedV1.type)), JSON.stringify(schema));
      expect(readSnapshots(directory).get(OrderShippedV1.type)).toEqual({ schema, rules: null });
      writeSnapshot(OrderShippedV1.type, { schema, rules }, directory);
      expect(Object.keys(JSON.parse(readFileSync(join(directory, snapshotFileName(OrderShippedV1.type)), 'utf8')) as object)).toEqual(['schema', 'rules']);
      expect(readSnapshots(directory).get(OrderShippedV1.type)).toEqual({ schema, rules });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
