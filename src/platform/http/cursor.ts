import { RampartError } from '../errors.js';
import { isUuid } from '../ids.js';

/** Cursors are the last id of a page, base64url-encoded so clients treat them as opaque. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new RampartError('invalid_cursor');
  return id;
}

/** Given limit+1 rows, returns the page and the cursor to the next one. */
export function paginate<R extends { id: string }>(rows: R[], limit: number): { rows: R[]; nextCursor: string | null } {
  if (rows.length <= limit) return { rows, nextCursor: null };
  const pageRows = rows.slice(0, limit);
  return { rows: pageRows, nextCursor: encodeCursor((pageRows.at(-1) as R).id) };
}
