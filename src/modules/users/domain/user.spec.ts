import { AggregateSpecification } from '../../../../test/support/aggregate-specification';
import { DEFAULT_CREDIT_LIMIT, MAX_CREDIT_LIMIT, User } from './user';
import type { RegisterUser, UserSnapshot } from './user';
import { CreditReservationNotLoadedError, InvalidUserError, UserAlreadyDeactivatedError, UserDeactivatedError } from './user.errors';
import type { CreditRejectionReason } from './user.events';
import {
  CreditConsumedEvent,
  CreditRejectedEvent,
  CreditReleasedEvent,
  CreditReservedEvent,
  UserDeactivatedEvent,
  UserEmailChangedEvent,
  UserRegisteredEvent,
} from './user.events';

const USER_ID = '0b6f3c9e-6a1d-4c1e-9a53-2f4b8c7d1e01';
const ORDER_A = '5d1c7a40-0000-4000-8000-00000000000a';
const ORDER_B = '5d1c7a40-0000-4000-8000-00000000000b';
const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-02T12:30:00Z');

/** Every order these tests name. */
const TEST_ORDERS = [ORDER_A, ORDER_B, ...Array.from({ length: 7 }, (_, index) => `order-${index}`)];

/** As the repository loads a user for a credit step: with the reservation of the order (null without one), here of each test order. */
const users = AggregateSpecification.for({
  blank: () => new User(),
  restore: (snapshot, recorded) => User.restore(snapshot, Object.fromEntries(TEST_ORDERS.map((orderId) => [orderId, recorded.reservationOf(orderId)]))),
});

function registration(overrides: Partial<RegisterUser> = {}): RegisterUser {
  return { id: USER_ID, email: 'ada@example.com', name: 'Ada Lovelace', ...overrides };
}

function snapshotOf(overrides: Partial<UserSnapshot> = {}): UserSnapshot {
  return {
    id: USER_ID,
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    status: 'ACTIVE',
    creditLimit: DEFAULT_CREDIT_LIMIT,
    creditReserved: 0,
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

const userId = USER_ID;
const registered = (creditLimit = DEFAULT_CREDIT_LIMIT) =>
  new UserRegisteredEvent({ userId, email: 'ada@example.com', name: 'Ada Lovelace', creditLimit, registeredAt: now.toISOString() });
const deactivated = (at = now) => new UserDeactivatedEvent({ userId, deactivatedAt: at.toISOString() });
const reserved = (orderId: string, amount: number, creditReserved: number, at = now) =>
  new CreditReservedEvent({ userId, orderId, amount, creditReserved, reservedAt: at.toISOString() });
const rejected = (orderId: string, amount: number, reason: CreditRejectionReason, at = now) =>
  new CreditRejectedEvent({ userId, orderId, amount, reason, rejectedAt: at.toISOString() });
const released = (orderId: string, amount: number, creditReserved: number, at = now) =>
  new CreditReleasedEvent({ userId, orderId, amount, creditReserved, releasedAt: at.toISOString() });

describe('User', () => {
  it('the events of a registered user load as its row', () => {
    expect(users.load(registered()).snapshot()).toStrictEqual(snapshotOf());
    expect(users.load(registered(), deactivated()).snapshot()).toStrictEqual(snapshotOf({ status: 'DEACTIVATED', version: 2 }));
  });

  describe('register', () => {
    it('raises UserRegisteredEvent with a normalized email, a trimmed name and the default credit limit', () => {
      users
        .given()
        .when(() => User.register(registration({ email: '  Ada@Example.COM ', name: '  Ada Lovelace \n' }), now))
        .then(new UserRegisteredEvent({ userId, email: 'ada@example.com', name: 'Ada Lovelace', creditLimit: 100_000, registeredAt: '2026-01-01T00:00:00.000Z' }));
    });

    it('reaches an ACTIVE state with nothing reserved, created and updated at the given time', () => {
      const user = User.register(registration({ email: ' ADA@example.com', name: ' Ada ' }), now);
      expect(user.id).toBe(USER_ID);
      expect(user.status).toBe('ACTIVE');
      expect(user.snapshot()).toEqual(snapshotOf({ name: 'Ada', creditLimit: 100_000, version: 1 }));
    });

    it('keeps an explicit credit limit, including the bounds 0 and the maximum', () => {
      expect(User.register(registration({ creditLimit: 250_000 }), now).snapshot().creditLimit).toBe(250_000);
      expect(User.register(registration({ creditLimit: 0 }), now).getUncommittedEvents()[0]).toMatchObject({ creditLimit: 0 });
      expect(User.register(registration({ creditLimit: MAX_CREDIT_LIMIT }), now).snapshot().creditLimit).toBe(MAX_CREDIT_LIMIT);
    });

    it.each([
      ['has no @', 'ada.example.com'],
      ['has no domain dot', 'ada@example'],
      ['contains a space', 'ada lovelace@example.com'],
      ['is blank', '   '],
      ['is longer than 254 characters', `${'a'.repeat(250)}@example.com`],
    ])('refuses an email that %s', (_case, email) => {
      users.given().when(() => User.register(registration({ email }), now)).thenThrows(InvalidUserError, { code: 'INVALID_USER', kind: 'invalid' });
    });

    it.each([['empty', ''], ['only whitespace', ' \t\n '], ['longer than 200 characters', 'x'.repeat(201)]])('refuses a name that is %s', (_case, name) => {
      users.given().when(() => User.register(registration({ name }), now)).thenThrows(InvalidUserError, { code: 'INVALID_USER' });
    });

    it.each<[string, Record<string, unknown>]>([
      ['a name that is an array', { name: ['Ada'] }],
      ['a name that is a number', { name: 42 }],
      ['an email that is an object', { email: { address: 'ada@example.com' } }],
    ])('refuses %s with InvalidUserError, not a TypeError', (_case, overrides) => {
      users.given().when(() => User.register({ ...registration(), ...overrides } as unknown as RegisterUser, now)).thenThrows(InvalidUserError);
    });

    it('accepts a name of exactly 200 characters once trimmed', () => {
      expect(User.register(registration({ name: ` ${'x'.repeat(200)} ` }), now).snapshot().name).toBe('x'.repeat(200));
    });

    it.each([
      ['negative', -1],
      ['not an integer', 100.5],
      ['above the maximum', MAX_CREDIT_LIMIT + 1],
      ['not a number', Number.NaN],
      ['infinite', Number.POSITIVE_INFINITY],
    ])('refuses a credit limit that is %s', (_case, creditLimit) => {
      users.given().when(() => User.register(registration({ creditLimit }), now)).thenThrows(InvalidUserError, { code: 'INVALID_USER' });
    });
  });

  describe('changeEmail', () => {
    it('raises UserEmailChangedEvent carrying the previous email and the normalized new one', () => {
      users
        .given(registered())
        .when((user) => user.changeEmail('  Ada.King@Example.org ', later))
        .then(new UserEmailChangedEvent({ userId, previousEmail: 'ada@example.com', email: 'ada.king@example.org', changedAt: '2026-01-02T12:30:00.000Z' }))
        .withState({ email: 'ada.king@example.org', createdAt: now, updatedAt: later });
    });

    it('changing to the same email, whatever its case and surrounding spaces, raises nothing', () => {
      users.given(registered()).when((user) => user.changeEmail('  ADA@Example.com ', later)).thenNothingHappened();
    });

    it('refuses an invalid email and raises nothing', () => {
      users.given(registered()).when((user) => user.changeEmail('not-an-email', later)).thenThrows(InvalidUserError, { code: 'INVALID_USER' });
    });

    it('changing the email of a deactivated user is refused', () => {
      users
        .given(registered(), deactivated())
        .when((user) => user.changeEmail('new@example.com', later))
        .thenThrows(UserDeactivatedError, { code: 'USER_DEACTIVATED', kind: 'conflict' });
    });

    it('a user deactivated in the same unit of work can no longer change its email', () => {
      const user = User.register(registration(), now);
      user.deactivate(now);
      expect(() => user.changeEmail('new@example.com', later)).toThrow(UserDeactivatedError);
      expect(user.getUncommittedEvents().map((event) => event.constructor)).toEqual([UserRegisteredEvent, UserDeactivatedEvent]);
    });
  });

  describe('deactivate', () => {
    it('raises UserDeactivatedEvent and reaches DEACTIVATED', () => {
      const { aggregate } = users
        .given(registered())
        .when((user) => user.deactivate(later))
        .then(new UserDeactivatedEvent({ userId, deactivatedAt: '2026-01-02T12:30:00.000Z' }))
        .withState({ status: 'DEACTIVATED', updatedAt: later, createdAt: now });
      expect(aggregate.status).toBe('DEACTIVATED');
    });

    it('deactivating a deactivated user is refused', () => {
      users
        .given(registered(), deactivated())
        .when((user) => user.deactivate(later))
        .thenThrows(UserAlreadyDeactivatedError, { code: 'USER_ALREADY_DEACTIVATED', kind: 'conflict' });
    });

    it('deactivating twice in the same unit of work is refused after the first event', () => {
      const user = users.load(registered());
      user.deactivate(now);
      expect(() => user.deactivate(later)).toThrow(UserAlreadyDeactivatedError);
      expect(user.getUncommittedEvents()).toHaveLength(1);
      expect(user.snapshot().updatedAt).toEqual(now);
    });
  });

  describe('version', () => {
    it('a new user has version 0 and its snapshot counts the pending registration', () => {
      const user = User.register(registration(), now);
      expect(user.version).toBe(0);
      expect(user.snapshot().version).toBe(1);
    });

    it('snapshot().version counts every pending event on top of the persisted version', () => {
      const user = User.register(registration(), now);
      user.changeEmail('ada.king@example.org', later);
      user.deactivate(later);
      expect(user.version).toBe(0);
      expect(user.getUncommittedEvents()).toHaveLength(3);
      expect(user.snapshot().version).toBe(3);
    });

    it('markPersisted() advances the version by the pending events and clears them', () => {
      const user = User.register(registration(), now);
      user.changeEmail('ada.king@example.org', later);
      user.markPersisted();
      expect(user.version).toBe(2);
      expect(user.getUncommittedEvents()).toHaveLength(0);
      expect(user.snapshot()).toMatchObject({ version: 2, email: 'ada.king@example.org' });
    });

    it('markPersisted() with nothing pending keeps the version', () => {
      const user = users.load(registered());
      user.markPersisted();
      expect(user.version).toBe(1);
      expect(user.snapshot().version).toBe(1);
    });

    it('restore() keeps the version and the state of the row, with nothing pending', () => {
      const row = snapshotOf({ version: 7, creditLimit: 5_000, creditReserved: 1_200, updatedAt: later });
      const user = User.restore(row, { [ORDER_A]: 1_200, [ORDER_B]: null });
      expect(user.version).toBe(7);
      expect(user.getUncommittedEvents()).toHaveLength(0);
      expect(user.snapshot()).toEqual(row);
      expect(user.reservationOf(ORDER_A)).toBe(1_200);
      expect(user.reservationOf(ORDER_B)).toBeNull();
    });

    it('a restored user refuses a credit step on an order whose reservation was not loaded with it', () => {
      const user = User.restore(snapshotOf({ creditReserved: 300 }), { [ORDER_A]: 300 });
      expect(() => user.reserveCredit(ORDER_B, 100, later)).toThrow(CreditReservationNotLoadedError);
      expect(() => user.releaseCredit(ORDER_B, later)).toThrow(CreditReservationNotLoadedError);
      expect(() => user.consumeCredit(ORDER_B, later)).toThrow(CreditReservationNotLoadedError);
      expect(user.getUncommittedEvents()).toHaveLength(0);
    });

    it('a restored user acts on the reservation loaded with it: released once, then a no-op', () => {
      const user = User.restore(snapshotOf({ creditReserved: 300 }), { [ORDER_A]: 300 });
      user.releaseCredit(ORDER_A, later);
      user.releaseCredit(ORDER_A, later);
      expect(user.getUncommittedEvents()).toEqual([released(ORDER_A, 300, 0, later)]);
      expect(user.reservationOf(ORDER_A)).toBeNull();
    });

    it('events raised after restore() number on from the restored version', () => {
      const user = User.restore(snapshotOf({ version: 7 }));
      user.deactivate(later);
      expect(user.version).toBe(7);
      expect(user.snapshot().version).toBe(8);
      user.markPersisted();
      expect(user.version).toBe(8);
    });
  });

  describe('credit', () => {
    /** A user with a limit of 1,000 and nothing reserved. */
    const registeredWithLimit = registered(1_000);

    it('reserving within the limit raises CreditReserved with the new total and holds the amount for the order', () => {
      users
        .given(registeredWithLimit)
        .when((user) => user.reserveCredit(ORDER_A, 600, later))
        .then(reserved(ORDER_A, 600, 600, later))
        .withState({ creditReserved: 600, updatedAt: later });
      expect(users.load(registeredWithLimit, reserved(ORDER_A, 600, 600)).reservationOf(ORDER_A)).toBe(600);
    });

    it('reserving exactly up to the limit is allowed', () => {
      users
        .given(registeredWithLimit, reserved(ORDER_A, 400, 400))
        .when((user) => user.reserveCredit(ORDER_B, 600, later))
        .then(reserved(ORDER_B, 600, 1_000, later))
        .withState({ creditReserved: 1_000 });
    });

    it('reserving beyond the limit raises CreditRejected "insufficient credit" and reserves nothing', () => {
      users
        .given(registeredWithLimit, reserved(ORDER_A, 600, 600))
        .when((user) => user.reserveCredit(ORDER_B, 401, later))
        .then(rejected(ORDER_B, 401, 'insufficient credit', later))
        .withState({ creditReserved: 600 });
    });

    it('a deactivated user gets no credit: CreditRejected "customer deactivated"', () => {
      users
        .given(registeredWithLimit, deactivated())
        .when((user) => user.reserveCredit(ORDER_A, 1, later))
        .then(rejected(ORDER_A, 1, 'customer deactivated', later))
        .withState({ creditReserved: 0 });
    });

    it('reserving twice for one order is a no-op the second time (a redelivered saga step)', () => {
      users
        .given(registeredWithLimit, reserved(ORDER_A, 300, 300))
        .when((user) => user.reserveCredit(ORDER_A, 300, later))
        .thenNothingHappened()
        .withState({ creditReserved: 300 });
    });

    it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses to reserve the amount %p', (amount) => {
      users.given(registeredWithLimit).when((user) => user.reserveCredit(ORDER_A, amount, later)).thenThrows(InvalidUserError);
    });

    it("releasing gives the order's amount back and forgets the reservation", () => {
      const { aggregate } = users
        .given(registeredWithLimit, reserved(ORDER_A, 300, 300), reserved(ORDER_B, 400, 700))
        .when((user) => user.releaseCredit(ORDER_A, later))
        .then(released(ORDER_A, 300, 400, later))
        .withState({ creditReserved: 400 });
      expect([aggregate.reservationOf(ORDER_A), aggregate.reservationOf(ORDER_B)]).toEqual([null, 400]);
    });

    it('releasing an order without a reservation (never reserved, or released already) is a no-op', () => {
      users.given(registeredWithLimit, reserved(ORDER_A, 300, 300), released(ORDER_A, 300, 0)).when((user) => {
          user.releaseCredit(ORDER_A, later);
          user.releaseCredit(ORDER_B, later);
        })
        .thenNothingHappened()
        .withState({ creditReserved: 0 });
    });

    it('a deactivated user can still be given credit back', () => {
      users
        .given(registeredWithLimit, reserved(ORDER_A, 300, 300), deactivated())
        .when((user) => user.releaseCredit(ORDER_A, later))
        .then(released(ORDER_A, 300, 0, later))
        .withState({ creditReserved: 0 });
    });

    it('consuming turns the reservation into a charge: CreditConsumed, the amount leaves creditReserved', () => {
      users.given(registeredWithLimit, reserved(ORDER_A, 300, 300)).when((user) => {
          user.consumeCredit(ORDER_A, later);
          user.consumeCredit(ORDER_A, later);
        })
        .then(new CreditConsumedEvent({ userId, orderId: ORDER_A, amount: 300, creditReserved: 0, consumedAt: later.toISOString() }))
        .withState({ creditReserved: 0 });
    });

    it('creditReserved never exceeds the limit, whatever the sequence of reservations and releases', () => {
      const user = users.load(registeredWithLimit);
      const amounts = [250, 500, 300, 100, 900, 50, 400];
      amounts.forEach((amount, index) => {
        user.reserveCredit(`order-${index}`, amount, later);
        if (index % 3 === 2) user.releaseCredit(`order-${index - 1}`, later);
        expect(user.snapshot().creditReserved).toBeLessThanOrEqual(1_000);
      });
      const held = amounts.map((_, index) => user.reservationOf(`order-${index}`) ?? 0);
      expect(user.snapshot().creditReserved).toBe(held.reduce((sum, amount) => sum + amount, 0));
    });
  });
});
