import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { callerOf } from '../../platform/http/context.js';
import { WorkspaceParams } from '../../platform/http/schemas.js';
import { WorkspaceOverview } from './schemas.js';
import type { OverviewService } from './service.js';

const tags = ['workspaces'];

export function overviewRoutes(overview: OverviewService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/v1/workspaces/:workspaceId/overview', {
      config: { access: 'workspace', scope: 'workspace:read' },
      schema: {
        tags,
        summary: "The workspace's security posture at a glance, with alerts",
        description:
          'Each part is null unless the caller holds the scope that reads its data (`members:read`, `sso:manage`, `keys:manage`, `staff-access:approve`, `audit:read`); alerts come only from the parts the caller may read.',
        params: WorkspaceParams,
        response: { 200: WorkspaceOverview },
      },
      handler: async (request) => overview.overview(callerOf(request)),
    });
  };
}
