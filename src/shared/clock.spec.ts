import { TimeOrderedUuidGenerator } from './clock';

describe('TimeOrderedUuidGenerator', () => {
  const ids = new TimeOrderedUuidGenerator();

  it('makes RFC 9562 version 7 UUIDs', () => {
    expect(ids.newId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts an id made later after one made earlier, as PostgreSQL compares uuids (byte by byte)', async () => {
    const earlier = ids.newId();
    await new Promise((resolve) => setTimeout(resolve, 2));
    const later = ids.newId();
    expect(earlier < later).toBe(true);
  });

  it('carries the time it was made in its first 48 bits (Unix milliseconds)', () => {
    const before = Date.now();
    const id = ids.newId();
    const after = Date.now();
    const madeAt = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(madeAt).toBeGreaterThanOrEqual(before);
    expect(madeAt).toBeLessThanOrEqual(after);
  });
});
