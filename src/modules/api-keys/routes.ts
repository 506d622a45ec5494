import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import type { WorkspacesService } from '../workspaces/index.js';
import { ApiKey, ApiKeyParams, CreateApiKeyBody, CreatedApiKey, KeyWorkspace } from './schemas.js';
import type { ApiKeysService } from './service.js';

const tags = ['API keys'];

export function apiKeysRoutes(keys: ApiKeysService, workspaces: WorkspacesService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/v1/workspace', {
      config: { access: 'api_key' },
      schema: {
        tags,
        summary: "The calling API key's workspace, and the key as it acts now",
        description:
          'Answers a workspace API key only (`Authorization: Bearer rk_live_…`), whatever its scopes: a key learns which workspace it opens. A session, or an unknown, revoked or expired key, is `401 unauthenticated`.',
        response: { 200: KeyWorkspace },
      },
      handler: async (request) => {
        const caller = callerOf(request);
        return keys.own(caller, await workspaces.get(caller.tenant));
      },
    });

    const base = '/api/v1/workspaces/:workspaceId/api-keys';

    app.get(base, {
      config: { access: 'workspace', scope: 'api-keys:manage' },
      schema: { tags, summary: "The workspace's API keys (never their secrets)", params: WorkspaceParams, response: { 200: z.object({ data: z.array(ApiKey) }) } },
      handler: async (request) => ({ data: await keys.list(callerOf(request)) }),
    });

    app.post(base, {
      config: { access: 'workspace', scope: 'api-keys:manage', errors: ['scope_escalation'] },
      schema: {
        tags,
        summary: 'Create an API key with scopes you hold; its secret is in this response only',
        params: WorkspaceParams,
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey },
      },
      handler: async (request, reply) => reply.status(201).header('cache-control', 'no-store').send(await keys.create(callerOf(request), request.body)),
    });

    app.delete(`${base}/:keyId`, {
      config: { access: 'workspace', scope: 'api-keys:manage', errors: ['api_key_not_found'] },
      schema: { tags, summary: 'Revoke an API key (and the keys it created)', params: ApiKeyParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await keys.revoke(callerOf(request), request.params.keyId);
        return reply.status(204).send();
      },
    });
  };
}
