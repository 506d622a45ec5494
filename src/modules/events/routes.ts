import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { tenantOf } from '../../platform/http/context.js';
import { Id, WorkspaceParams } from '../../platform/http/schemas.js';
import type { WorkspaceEvents } from './workspace.js';

const WorkspaceEventView = z
  .object({
    id: Id,
    actor: z.object({ type: z.enum(['account', 'api_key', 'system']), id: Id.nullable() }),
    action: z.string(),
    outcome: z.enum(['success', 'failure', 'denied']),
    target: z.object({ type: z.string(), id: z.string() }).nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'WorkspaceEvent' });

const EventsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100).describe('How many, newest first (1–500).'),
  action: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/).optional().describe('Only events of this action, e.g. access.denied.'),
});

export function workspaceEventsRoutes(events: WorkspaceEvents): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/v1/workspaces/:workspaceId/events', {
      config: { access: 'workspace', scope: 'audit:read' },
      schema: {
        tags: ['events'],
        summary: "The workspace's recent events: changes to roles, members, invitations and API keys, and refusals",
        params: WorkspaceParams,
        querystring: EventsQuery,
        response: { 200: z.object({ data: z.array(WorkspaceEventView) }) },
      },
      handler: async (request) => ({
        data: (await events.list(tenantOf(request), request.query)).map((e) => ({
          id: e.id,
          actor: { type: e.actor_type, id: e.actor_id },
          action: e.action,
          outcome: e.outcome,
          target: e.target_type && e.target_id ? { type: e.target_type, id: e.target_id } : null,
          ip: e.ip,
          userAgent: e.user_agent,
          requestId: e.request_id,
          details: e.details,
          createdAt: e.created_at.toISOString(),
        })),
      }),
    });
  };
}
