import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AUDIT_ACTOR_TYPES } from '../../platform/audit/entry.js';
import { tenantOf } from '../../platform/http/context.js';
import { Id, WorkspaceParams } from '../../platform/http/schemas.js';
import type { WorkspaceEvents } from './workspace.js';

export const AuditActorView = z
  .object({
    type: z.enum(AUDIT_ACTOR_TYPES),
    id: Id.nullable(),
    name: z.string().nullable().optional().describe('Staff: their name.'),
    role: z.string().nullable().optional().describe('Staff: the role they acted in.'),
  })
  .meta({ id: 'AuditActor' });

/** What an event says, the same in every chain's views (after who acted, before how it is chained). */
export const EVENT_FIELDS = {
  action: z.string(),
  outcome: z.enum(['success', 'failure', 'denied']),
  target: z.object({ type: z.string(), id: z.string() }).nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
};

const WorkspaceEventView = z
  .object({
    id: Id,
    seq: z.number().int().describe("The event's place in the workspace's audit chain."),
    actor: AuditActorView,
    ...EVENT_FIELDS,
    createdAt: z.string().describe('When it happened, ISO 8601 UTC with microseconds.'),
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
          seq: e.seq,
          actor: e.actor,
          action: e.action,
          outcome: e.outcome,
          target: e.target,
          ip: e.ip,
          userAgent: e.userAgent,
          requestId: e.requestId,
          details: e.details,
          createdAt: e.time,
        })),
      }),
    });
  };
}
