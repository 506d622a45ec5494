import { z } from 'zod';
import { Id, page, PageQuery, WorkspaceParams } from '../../platform/http/schemas.js';

export const DocumentParams = WorkspaceParams.extend({ documentId: Id });
export const ListDocumentsQuery = z.strictObject(PageQuery);

export const DocumentView = z
  .object({
    id: Id,
    name: z.string(),
    contentType: z.string(),
    size: z.number().int().describe('Bytes.'),
    sha256: z.string().describe('Hex SHA-256 of the content.'),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Document' });

export const DocumentPage = page(DocumentView);
export type DocumentViewT = z.infer<typeof DocumentView>;
