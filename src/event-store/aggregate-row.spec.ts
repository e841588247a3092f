import { AggregateTable, rowChangeOf } from './aggregate-row';

const ORDERS: AggregateTable = { name: 'orders', key: 'id', insertOnly: ['customer_id', 'created_at'] };
const row = { id: 'o-1', customer_id: 'c-1', status: 'CONFIRMED', version: 2, created_at: 'then', updated_at: 'now' };

describe('rowChangeOf', () => {
  it('inserts a new aggregate\'s row with every column, in the row\'s order', () => {
    expect(rowChangeOf(ORDERS, row, 0)).toEqual({
      sql: 'INSERT INTO orders (id, customer_id, status, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING 1',
      params: ['o-1', 'c-1', 'CONFIRMED', 2, 'then', 'now'],
    });
  });

  it('updates all but the key and the insert-only columns, at the version the aggregate was loaded at', () => {
    expect(rowChangeOf(ORDERS, row, 1)).toEqual({
      sql: 'UPDATE orders SET status = $2, version = $3, updated_at = $4 WHERE id = $1 AND version = $5 RETURNING 1',
      params: ['o-1', 'CONFIRMED', 2, 'now', 1],
    });
  });

  it('gives one text per table and columns, whatever the values', () => {
    const other = { ...row, id: 'o-2', status: 'SHIPPED', version: 3 };
    expect(rowChangeOf(ORDERS, other, 2).sql).toBe(rowChangeOf(ORDERS, row, 1).sql);
  });

  it('refuses a column that is not a plain identifier', () => {
    expect(() => rowChangeOf(ORDERS, { ...row, 'status; DROP TABLE orders': 'x' }, 0)).toThrow(/plain SQL identifier/);
  });

  it('refuses a row without its key', () => {
    expect(() => rowChangeOf(ORDERS, { status: 'PENDING' }, 1)).toThrow(/key column id/);
  });
});
