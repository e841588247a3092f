/**
 * How deeply a request body's arrays and objects may nest. Every DTO of this API nests two
 * levels at most (an order, its lines); 32 leaves room for any future body. Deeper JSON is
 * refused before any pipe or validator walks it: those walk recursively, and a body of a few
 * hundred kilobytes of `[[[[…]]]]` overflowed their stack, a 500.
 */
export const MAX_JSON_NESTING = 32;

/**
 * Whether parsed JSON `value` nests arrays or objects more than `limit` levels deep (the body
 * itself is level 1). Walks with an explicit stack, so no input can overflow the call stack.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ node: unknown; level: number }> = [{ node: value, level: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { node, level } = next;
    if (node === null || typeof node !== 'object') continue;
    if (level > limit) return true;
    for (const child of Object.values(node)) pending.push({ node: child, level: level + 1 });
  }
  return false;
}
