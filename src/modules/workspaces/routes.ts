import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, requestMeta, requirePrincipal } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { CreateWorkspaceBody, DeleteWorkspaceBody, UpdateWorkspaceBody, Workspace } from './schemas.js';
import type { WorkspacesService } from './service.js';

const tags = ['workspaces'];

export function workspacesRoutes(workspaces: WorkspacesService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/v1/workspaces', {
      config: { access: 'account' },
      schema: { tags, summary: 'Workspaces I belong to', response: { 200: z.object({ data: z.array(Workspace) }) } },
      handler: async (request) => ({ data: await workspaces.listMine(requirePrincipal(request)) }),
    });

    app.post('/api/v1/workspaces', {
      config: { access: 'account' },
      schema: { tags, summary: 'Create a workspace; I become its owner', body: CreateWorkspaceBody, response: { 201: Workspace } },
      handler: async (request, reply) => reply.status(201).send(await workspaces.create(requirePrincipal(request), request.body, requestMeta(request))),
    });

    app.get('/api/v1/workspaces/:workspaceId', {
      config: { access: 'workspace', scope: 'workspace:read' },
      schema: { tags, summary: 'A workspace, with your roles and scopes there', params: WorkspaceParams, response: { 200: Workspace } },
      handler: async (request) => workspaces.describe(callerOf(request)),
    });

    app.patch('/api/v1/workspaces/:workspaceId', {
      config: { access: 'workspace', scope: 'settings:manage' },
      schema: {
        tags,
        summary: 'Rename a workspace or require MFA of its members',
        params: WorkspaceParams,
        body: UpdateWorkspaceBody,
        response: { 200: Workspace },
      },
      handler: async (request) => workspaces.update(callerOf(request), request.principal, request.body),
    });

    app.delete('/api/v1/workspaces/:workspaceId', {
      config: { access: 'workspace', scope: 'workspace:delete' },
      schema: {
        tags,
        summary: 'Delete a workspace and all its data (owner, confirmed by name)',
        params: WorkspaceParams,
        body: DeleteWorkspaceBody,
        response: { 204: NoContent },
      },
      handler: async (request, reply) => {
        await workspaces.delete(callerOf(request), request.body.confirm);
        return reply.status(204).send();
      },
    });
  };
}
