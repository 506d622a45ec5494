import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { callerOf } from '../../platform/http/context.js';
import { WorkspaceParams } from '../../platform/http/schemas.js';
import { KeyStatus, OwnKeyBody, RetireBody } from './schemas.js';
import type { KeysService } from './service.js';

const tags = ['Encryption keys'];

export function keysRoutes(keys: KeysService): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/keys';

    app.get(base, {
      config: { access: 'workspace', scope: 'keys:manage' },
      schema: { tags, summary: "The workspace's encryption keys: provider, versions, rows under each, rotation", params: WorkspaceParams, response: { 200: KeyStatus } },
      handler: async (request) => keys.status(callerOf(request)),
    });

    app.post(`${base}/rotate`, {
      config: { access: 'workspace', scope: 'keys:manage' },
      schema: {
        tags,
        summary: 'Add a key version; content moves to it in the background, then older versions retire',
        params: WorkspaceParams,
        response: { 200: KeyStatus },
      },
      handler: async (request) => keys.rotate(callerOf(request)),
    });

    app.post(`${base}/retire`, {
      config: { access: 'workspace', scope: 'keys:manage' },
      schema: {
        tags,
        summary: 'Stop versions below minVersion from decrypting (refused while rows remain under them)',
        params: WorkspaceParams,
        body: RetireBody,
        response: { 200: KeyStatus },
      },
      handler: async (request) => keys.retire(callerOf(request), request.body.minVersion),
    });

    app.put(`${base}/own-key`, {
      config: { access: 'workspace', scope: 'keys:configure' },
      schema: {
        tags,
        summary: "Encrypt under the workspace's own KMS key (tried first); revoking it makes the workspace's content unreadable",
        params: WorkspaceParams,
        body: OwnKeyBody,
        response: { 200: KeyStatus },
      },
      handler: async (request) => keys.setOwnKey(callerOf(request), request.body),
    });

    app.delete(`${base}/own-key`, {
      config: { access: 'workspace', scope: 'keys:configure' },
      schema: { tags, summary: "Go back to the instance's root key", params: WorkspaceParams, response: { 200: KeyStatus } },
      handler: async (request) => keys.setOwnKey(callerOf(request), null),
    });
  };
}
