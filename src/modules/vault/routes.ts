import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { CreateSecretBody, RotateSecretBody, SecretParams, SecretView } from './schemas.js';
import type { VaultService } from './service.js';

const tags = ['Secrets vault'];

export function vaultRoutes(vault: VaultService): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/secrets';
    const one = `${base}/integrations/:integration/*`;

    app.get(base, {
      config: { access: 'workspace', scope: 'integrations:manage' },
      schema: { tags, summary: "The vault's secrets: paths, versions and times, never values", params: WorkspaceParams, response: { 200: z.object({ data: z.array(SecretView) }) } },
      handler: async (request) => ({ data: await vault.list(callerOf(request)) }),
    });

    app.post(base, {
      config: { access: 'workspace', scope: 'integrations:manage' },
      schema: { tags, summary: 'Store a secret (write-only: its value is never returned)', params: WorkspaceParams, body: CreateSecretBody, response: { 201: SecretView } },
      handler: async (request, reply) => reply.status(201).send(await vault.create(callerOf(request), request.body)),
    });

    app.get(one, {
      config: { access: 'workspace', scope: 'integrations:manage', errors: ['secret_not_found'] },
      schema: { tags, summary: "A secret's metadata", params: SecretParams, response: { 200: SecretView } },
      handler: async (request) => vault.get(callerOf(request), request.params.integration, request.params['*']),
    });

    app.put(one, {
      config: { access: 'workspace', scope: 'integrations:manage', errors: ['secret_not_found'] },
      schema: { tags, summary: 'Rotate a secret: a new value, a new version', params: SecretParams, body: RotateSecretBody, response: { 200: SecretView } },
      handler: async (request) => vault.rotate(callerOf(request), request.params.integration, request.params['*'], request.body.value),
    });

    app.delete(one, {
      config: { access: 'workspace', scope: 'integrations:manage', errors: ['secret_not_found'] },
      schema: { tags, summary: 'Delete a secret', params: SecretParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await vault.delete(callerOf(request), request.params.integration, request.params['*']);
        return reply.status(204).send();
      },
    });
  };
}
