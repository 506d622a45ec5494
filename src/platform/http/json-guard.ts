import { RampartError } from '../errors.js';

/** Deeper JSON than this is refused before validation (recursive validators would overflow). */
export const MAX_JSON_DEPTH = 64;

/**
 * Checks a parsed JSON body before schema validation, without recursion: nesting deeper than
 * MAX_JSON_DEPTH (recursive validators would overflow), and NUL characters in any key or string
 * (PostgreSQL text cannot hold them, and they truncate strings in other systems).
 */
export function assertSafeJson(body: unknown): void {
  const stack: Array<[unknown, number]> = [[body, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v === 'string') {
      if (v.includes('\u0000')) throw nul();
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) {
      throw new RampartError('validation_failed', { message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted.` });
    }
    if (Array.isArray(v)) {
      for (const child of v) stack.push([child, depth + 1]);
    } else {
      for (const [key, child] of Object.entries(v)) {
        if (key.includes('\u0000')) throw nul();
        stack.push([child, depth + 1]);
      }
    }
  }
}

function nul(): RampartError {
  return new RampartError('validation_failed', { message: 'Strings may not contain the NUL character.' });
}
