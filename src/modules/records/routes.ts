import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { callerOf, tenantOf } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import {
  Collection,
  COLLECTION_NAME_RULE_VIEW,
  CollectionList,
  CollectionParams,
  CreateCollectionBody,
  IfMatchHeaders,
  ListRecordsQuery,
  RecordBody,
  RecordPage,
  RecordParams,
  RecordView,
} from './schemas.js';
import { parseFilters, type RecordsService } from './service.js';

const tags = ['records'];
const PAGE_KEYS = new Set(['limit', 'cursor']);

function expectedVersion(headers: { 'if-match'?: string | undefined }): number | null {
  const raw = headers['if-match'];
  return raw === undefined ? null : Number(raw.replace(/^W\//, '').replaceAll('"', ''));
}

export function recordsRoutes(records: RecordsService): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/collections';

    app.get(base, {
      config: { access: 'workspace', scope: 'records:read' },
      schema: {
        tags,
        summary: 'Collections of a workspace, and the rule their names follow',
        params: WorkspaceParams,
        response: { 200: CollectionList },
      },
      handler: async (request) => ({ data: await records.listCollections(tenantOf(request)), nameRule: COLLECTION_NAME_RULE_VIEW }),
    });

    app.post(base, {
      config: { access: 'workspace', scope: 'records:write', errors: ['collection_exists'] },
      schema: { tags, summary: 'Create a collection', params: WorkspaceParams, body: CreateCollectionBody, response: { 201: Collection } },
      handler: async (request, reply) =>
        reply.status(201).send(await records.createCollection(callerOf(request), request.body.name)),
    });

    app.delete(`${base}/:collection`, {
      config: { access: 'workspace', scope: 'collections:manage', errors: ['collection_not_found'] },
      schema: { tags, summary: 'Delete a collection and its records', params: CollectionParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await records.deleteCollection(callerOf(request), request.params.collection);
        return reply.status(204).send();
      },
    });

    app.get(`${base}/:collection/records`, {
      config: { access: 'workspace', scope: 'records:read', errors: ['collection_not_found', 'invalid_cursor', 'invalid_filter'] },
      schema: {
        tags,
        summary: 'List records, oldest first; filter with filter[field]=value',
        params: CollectionParams,
        querystring: ListRecordsQuery,
        response: { 200: RecordPage },
      },
      handler: async (request) => {
        const { limit, cursor } = request.query;
        const filters = parseFilters(request.query, PAGE_KEYS);
        return records.list(tenantOf(request), request.params.collection, { limit, cursor, filters });
      },
    });

    app.post(`${base}/:collection/records`, {
      config: { access: 'workspace', scope: 'records:write', errors: ['collection_not_found'] },
      schema: { tags, summary: 'Create a record', params: CollectionParams, body: RecordBody, response: { 201: RecordView } },
      handler: async (request, reply) => {
        const created = await records.create(callerOf(request), request.params.collection, request.body.data);
        return reply.status(201).header('etag', `"${created.version}"`).send(created);
      },
    });

    app.get(`${base}/:collection/records/:recordId`, {
      config: { access: 'workspace', scope: 'records:read', errors: ['collection_not_found', 'record_not_found'] },
      schema: { tags, summary: 'A record', params: RecordParams, response: { 200: RecordView } },
      handler: async (request, reply) => {
        const found = await records.get(tenantOf(request), request.params.collection, request.params.recordId);
        return reply.header('etag', `"${found.version}"`).send(found);
      },
    });

    app.put(`${base}/:collection/records/:recordId`, {
      config: { access: 'workspace', scope: 'records:write', errors: ['collection_not_found', 'record_not_found', 'precondition_failed'] },
      schema: {
        tags,
        summary: 'Replace a record; with If-Match, only if it is still at that version',
        params: RecordParams,
        headers: IfMatchHeaders,
        body: RecordBody,
        response: { 200: RecordView },
      },
      handler: async (request, reply) => {
        const updated = await records.replace(
          callerOf(request),
          request.params.collection,
          request.params.recordId,
          request.body.data,
          expectedVersion(request.headers),
        );
        return reply.header('etag', `"${updated.version}"`).send(updated);
      },
    });

    app.delete(`${base}/:collection/records/:recordId`, {
      config: { access: 'workspace', scope: 'records:write', errors: ['collection_not_found', 'record_not_found', 'precondition_failed'] },
      schema: { tags, summary: 'Delete a record', params: RecordParams, headers: IfMatchHeaders, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await records.delete(callerOf(request), request.params.collection, request.params.recordId, expectedVersion(request.headers));
        return reply.status(204).send();
      },
    });
  };
}
