import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { ApiKey, ApiKeyParams, CreateApiKeyBody, CreatedApiKey } from './schemas.js';
import type { ApiKeysService } from './service.js';

const tags = ['API keys'];

export function apiKeysRoutes(keys: ApiKeysService): FastifyPluginAsyncZod {
  return async (app) => {
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
