/** Schemas shared by every module's routes. */
import { z } from 'zod';
import { UUID_PATTERN } from '../ids.js';

/** Identifiers are lowercase UUIDs; anything else is `invalid_id` (400) before any lookup. */
export const Id = z.string().regex(UUID_PATTERN, 'must be a lowercase UUID');

export const WorkspaceParams = z.strictObject({ workspaceId: Id.describe('Workspace id.') });

/** Keyset pagination: an opaque cursor from the previous page and a page size. */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('Page size, 1–200.'),
  cursor: z.string().max(200).optional().describe('The nextCursor of the previous page.'),
};

export function page<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
  });
}

export const NoContent = z.undefined().describe('No content.');
