import { globSync } from 'node:fs';
import { join } from 'node:path';
import type { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { plainToInstance } from 'class-transformer';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { getMetadataStorage, validateSync, ValidationTypes } from 'class-validator';
import { createValidationPipe, RequestValidationError } from './request-validation';
import { isTypeRule } from './type-checks-first';

type RequestClass = new () => object;
interface RequestSource {
  requestClass: RequestClass;
  in: 'body' | 'query';
}

const root = join(__dirname, '../..');
const rulesOf = (requestClass: RequestClass) => getMetadataStorage().getTargetValidationMetadatas(requestClass, '', false, false);

/** The classes a route validates whole with `@Body()` or `@Query()`, found on every controller of the API and the consumer. */
function requestSourcesOf(controller: RequestClass): RequestSource[] {
  return Object.getOwnPropertyNames(controller.prototype).flatMap((method) => {
    const parameters: Record<string, { index: number; data?: unknown }> = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {};
    const types: unknown[] = Reflect.getMetadata('design:paramtypes', controller.prototype, method) ?? [];
    return Object.entries(parameters).flatMap(([key, { index, data }]) => {
      const kind = Number(key.split(':')[0]);
      const source = kind === RouteParamtypes.BODY ? 'body' : kind === RouteParamtypes.QUERY ? 'query' : undefined;
      const type = types[index];
      if (!source || data !== undefined || typeof type !== 'function' || rulesOf(type as RequestClass).length === 0) return [];
      return [{ requestClass: type as RequestClass, in: source }];
    });
  });
}

/** The request classes validated inside `source`'s (`@ValidateNested` with class-transformer's `@Type`), as the same source. */
function withNested(source: RequestSource, seen: Set<RequestClass>): RequestSource[] {
  if (seen.has(source.requestClass)) return [];
  seen.add(source.requestClass);
  const nested = rulesOf(source.requestClass)
    .filter((rule) => rule.type === ValidationTypes.NESTED_VALIDATION)
    .map((rule) => defaultMetadataStorage.findTypeMetadata(rule.target as RequestClass, rule.propertyName)?.typeFunction() as RequestClass);
  return [source, ...nested.flatMap((requestClass) => withNested({ requestClass, in: source.in }, seen))];
}

/** Values of every JSON type, a number-looking string among them: each is the wrong type for some property. */
const VALUES_OF_EVERY_TYPE: unknown[] = ['abc', '2', '', 12, 2.5, -1, true, null, {}, { a: 1 }, [], ['abc'], [12], [{}]];

/** Every rule's message for the value, none skipped (no stopAtFirstError), by rule name. */
function everyMessageFor(requestClass: RequestClass, property: string, value: unknown): Record<string, string> {
  const errors = validateSync(plainToInstance(requestClass, { [property]: value }), { stopAtFirstError: false, forbidUnknownValues: false });
  return errors.find((error) => error.property === property)?.constraints ?? {};
}

/** What the apps' validation pipe answers about the property. */
async function reportedFor(pipe: ValidationPipe, source: RequestSource, property: string, value: unknown): Promise<string[]> {
  const metadata: ArgumentMetadata = { type: source.in, metatype: source.requestClass };
  try {
    await pipe.transform({ [property]: value }, metadata);
    return [];
  } catch (error) {
    if (!(error instanceof RequestValidationError)) throw error;
    return error.fieldErrors.filter(({ field }) => field === property).map(({ message }) => message);
  }
}

describe('every request class the apps validate', () => {
  let sources: RequestSource[] = [];
  let pipe: ValidationPipe;

  beforeAll(async () => {
    pipe = createValidationPipe();
    const modules = await Promise.all(globSync('src/**/*.controller.ts', { cwd: root }).map((file) => import(join(root, file))));
    const controllers = modules
      .flatMap((exports: Record<string, unknown>) => Object.values(exports))
      .filter((exported): exported is RequestClass => typeof exported === 'function' && Reflect.hasMetadata(PATH_METADATA, exported));
    const seen = new Set<RequestClass>();
    sources = controllers.flatMap(requestSourcesOf).flatMap((source) => withNested(source, seen));
  });

  it('are found on the controllers of the API and the consumer, nested ones included', () => {
    expect(sources.map(({ requestClass }) => requestClass.name)).toEqual(
      expect.arrayContaining([
        'RegisterUserRequest',
        'ChangeUserEmailRequest',
        'PlaceOrderRequest',
        'OrderLineRequest',
        'CancelOrderRequest',
        'ListOrdersRequest',
        'ListLimitRequest',
        'StartRebuildRequest',
        'SkipEventRequest',
        'PauseSubscriptionRequest',
        'NotificationsRequest',
        'InboxEffectsRequest',
      ]),
    );
  });

  it('say the type of every property they validate (a rule isTypeRule knows), so a wrong type gets a message that names it', () => {
    const untyped = sources.flatMap(({ requestClass }) => {
      const byProperty = getMetadataStorage().groupByPropertyName(rulesOf(requestClass));
      return Object.entries(byProperty)
        .filter(([, rules]) => rules.some((rule) => rule.type === ValidationTypes.CUSTOM_VALIDATION) && !rules.some(isTypeRule))
        .map(([property]) => `${requestClass.name}.${property}`);
    });
    expect(untyped).toEqual([]);
  });

  it("answer a value of the wrong type with the type's message, never with a range, a length or a pattern", async () => {
    const misreported: string[] = [];
    for (const source of sources) {
      const byProperty = getMetadataStorage().groupByPropertyName(rulesOf(source.requestClass));
      for (const [property, rules] of Object.entries(byProperty)) {
        const typeRules = rules.filter(isTypeRule).map((rule) => rule.name!);
        for (const value of VALUES_OF_EVERY_TYPE) {
          const messages = everyMessageFor(source.requestClass, property, value);
          const typeMessages = typeRules.map((name) => messages[name]).filter((message) => message !== undefined);
          if (typeMessages.length === 0) continue; // the value has the property's type
          const reported = await reportedFor(pipe, source, property, value);
          if (reported.length !== 1 || !typeMessages.includes(reported[0])) {
            misreported.push(`${source.requestClass.name}.${property} = ${JSON.stringify(value)}: ${JSON.stringify(reported)}, not ${JSON.stringify(typeMessages)}`);
          }
        }
      }
    }
    expect(misreported).toEqual([]);
  });
});
