import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../../platform/http/context.js';
import { WorkspaceParams } from '../../platform/http/schemas.js';
import { AccessLogQuery, AuditEventView, AuditQuery, CheckpointView, ExportQuery, PublicKeysView, VerifyBody, VerifyReportView } from './schemas.js';
import type { AuditService } from './service.js';

const tags = ['Audit log'];

export function auditRoutes(audit: AuditService): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/audit';

    app.get('/api/v1/audit/public-keys', {
      config: { access: 'public' },
      schema: { tags, summary: 'The Ed25519 keys that sign audit checkpoints (every key that ever signed)', response: { 200: PublicKeysView } },
      handler: async () => audit.publicKeys(),
    });

    app.get(`${base}/events`, {
      config: { access: 'workspace', scope: 'audit:read' },
      schema: {
        tags,
        summary: "The workspace's audit log, newest first, filtered by time, actor and action",
        params: WorkspaceParams,
        querystring: AuditQuery,
        response: { 200: z.object({ data: z.array(AuditEventView), nextBefore: z.number().int().nullable() }) },
      },
      handler: async (request) => {
        const data = await audit.list(callerOf(request), request.query);
        return { data, nextBefore: data.length === request.query.limit ? (data.at(-1)?.seq ?? null) : null };
      },
    });

    app.get(`${base}/access-log`, {
      config: { access: 'workspace', scope: 'audit:read' },
      schema: {
        tags,
        summary: "Access transparency: every read or change by the operator's staff in this workspace, with the request that allowed it",
        params: WorkspaceParams,
        querystring: AccessLogQuery,
        response: { 200: z.object({ data: z.array(AuditEventView), nextBefore: z.number().int().nullable() }) },
      },
      handler: async (request) => {
        const data = await audit.accessLog(callerOf(request), request.query);
        return { data, nextBefore: data.length === request.query.limit ? (data.at(-1)?.seq ?? null) : null };
      },
    });

    app.get(`${base}/export`, {
      config: { access: 'workspace', scope: 'audit:read' },
      schema: {
        tags,
        summary: 'Export the audit log as JSON Lines (verifiable offline with `rampart audit verify`) or CSV',
        params: WorkspaceParams,
        querystring: ExportQuery,
      },
      handler: async (request, reply) => {
        const { format } = request.query;
        const stream = await audit.export(callerOf(request), request.query);
        const name = `audit-${request.params.workspaceId}.${format}`;
        return reply
          .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(stream);
      },
    });

    app.get(`${base}/checkpoints`, {
      config: { access: 'workspace', scope: 'audit:read' },
      schema: { tags, summary: "The chain's signed checkpoints, newest first", params: WorkspaceParams, response: { 200: z.object({ data: z.array(CheckpointView) }) } },
      handler: async (request) => ({ data: await audit.checkpoints(callerOf(request)) }),
    });

    app.post(`${base}/verify`, {
      config: { access: 'workspace', scope: 'audit:read' },
      schema: {
        tags,
        summary: 'Verify the chain (and a checkpoint you kept) now',
        params: WorkspaceParams,
        body: VerifyBody,
        response: { 200: VerifyReportView },
      },
      handler: async (request) => audit.verify(callerOf(request), request.body.checkpoint),
    });
  };
}
