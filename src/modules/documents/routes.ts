import { create as contentDisposition } from 'content-disposition';
import { pipeline, Transform } from 'node:stream';
import fastifyMultipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { RampartError } from '../../platform/errors.js';
import { callerOf, requireMembership, tenantOf } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { humanBytes } from '../../platform/http/sizes.js';
import { documentName, mediaType } from './names.js';
import { DocumentPage, DocumentParams, DocumentView, ListDocumentsQuery, type DocumentViewT } from './schemas.js';
import type { DocumentsService } from './service.js';

const tags = ['documents'];

function sizeGuard(truncated: () => boolean, maxBytes: number): Transform {
  return new Transform({
    transform: (chunk: Buffer, _enc, done) => done(null, chunk),
    flush: (done) => done(truncated() ? documentTooLarge(maxBytes) : null),
  });
}

function documentTooLarge(maxBytes: number, cause?: unknown): RampartError {
  return new RampartError('payload_too_large', { message: `A document can be at most ${humanBytes(maxBytes)}.`, details: { limitBytes: maxBytes }, cause });
}

/** Errors from the multipart parser: limits keep their own codes; anything else is a bad body. */
function malformed(err: unknown, maxBytes: number): unknown {
  const code = (err as { code?: unknown }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return documentTooLarge(maxBytes, err);
  if (err instanceof RampartError || (typeof code === 'string' && code.startsWith('FST_'))) return err;
  return new RampartError('bad_request', { message: 'The multipart body is malformed.', cause: err });
}

/**
 * The headers a document's content goes out with: always an attachment, never run or cached
 * by the browser, whoever reads it.
 */
export function asAttachment(reply: FastifyReply, document: DocumentViewT): FastifyReply {
  return reply
    .header('content-type', document.contentType)
    .header('content-length', String(document.size))
    .header('content-disposition', contentDisposition(document.name, { type: 'attachment' }))
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('cache-control', 'private, no-store');
}

export function documentsRoutes(documents: DocumentsService, maxBytes: number): FastifyPluginAsyncZod {
  return async (app) => {
    // Multipart bodies are parsed here only: sent to any other route, they are 415.
    // preservePath: names arrive as sent, so path-like names are refused rather than silently cut.
    await app.register(fastifyMultipart, { throwFileSizeLimit: true, preservePath: true });
    const base = '/api/v1/workspaces/:workspaceId/documents';

    app.get(base, {
      config: { access: 'workspace', scope: 'documents:read' },
      schema: { tags, summary: 'List documents, oldest first', params: WorkspaceParams, querystring: ListDocumentsQuery, response: { 200: DocumentPage } },
      handler: async (request) => documents.list(tenantOf(request), request.query),
    });

    app.post(base, {
      config: { access: 'workspace', scope: 'documents:write' },
      schema: {
        tags,
        summary: `Upload a document (multipart/form-data, one part named "file", at most ${humanBytes(maxBytes)})`,
        params: WorkspaceParams,
        consumes: ['multipart/form-data'],
        response: { 201: DocumentView },
      },
      handler: async (request, reply) => {
        let part: MultipartFile | undefined;
        try {
          part = await request.file({ limits: { fileSize: maxBytes, files: 1, fields: 4, parts: 5 } });
        } catch (err) {
          throw malformed(err, maxBytes);
        }
        if (!part || part.fieldname !== 'file') {
          throw new RampartError('validation_failed', {
            message: 'Send the document as a multipart part named "file".',
            details: { issues: [{ path: 'body.file', message: 'required' }] },
          });
        }
        const name = documentName(part.filename);
        const membership = requireMembership(request);
        // An error the upload stream itself raised (before or after we listen) is the client's
        // malformed body, not ours.
        let streamError: unknown;
        const file = part.file;
        file.once('error', (err) => {
          streamError = err;
        });
        // Past the size limit the parser only truncates the stream; this makes that an error.
        const limited = pipeline(file, sizeGuard(() => file.truncated, maxBytes), () => {});
        try {
          const created = await documents.upload(callerOf(request), membership.region, {
            name,
            contentType: mediaType(part.mimetype),
            content: limited,
          });
          return await reply.status(201).send(created);
        } catch (err) {
          throw err === streamError || err === file.errored ? malformed(err, maxBytes) : err;
        }
      },
    });

    app.get(`${base}/:documentId`, {
      config: { access: 'workspace', scope: 'documents:read', errors: ['document_not_found'] },
      schema: { tags, summary: "A document's metadata", params: DocumentParams, response: { 200: DocumentView } },
      handler: async (request) => documents.get(tenantOf(request), request.params.documentId),
    });

    app.get(`${base}/:documentId/content`, {
      config: { access: 'workspace', scope: 'documents:read', errors: ['document_not_found'] },
      schema: { tags, summary: "Download a document's content (always as an attachment)", params: DocumentParams },
      handler: async (request, reply) => {
        const { document, content } = await documents.download(tenantOf(request), request.params.documentId);
        return asAttachment(reply, document).header('etag', `"sha256-${document.sha256}"`).send(content);
      },
    });

    app.delete(`${base}/:documentId`, {
      config: { access: 'workspace', scope: 'documents:write', errors: ['document_not_found'] },
      schema: { tags, summary: 'Delete a document', params: DocumentParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await documents.delete(callerOf(request), request.params.documentId);
        return reply.status(204).send();
      },
    });
  };
}
