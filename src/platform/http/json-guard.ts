import { RampartError } from '../errors.js';

/** Deeper JSON than this is refused before validation (recursive validators would overflow). */
export const MAX_JSON_DEPTH = 64;

/** Depth of a parsed JSON value, measured without recursion. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) max = depth;
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

export function assertJsonDepth(body: unknown): void {
  if (jsonDepth(body) > MAX_JSON_DEPTH) {
    throw new RampartError('validation_failed', { message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted.` });
  }
}
