/**
 * The SCIM 2.0 server at `/scim/v2/{workspaceId}/…` (its own plugin: SCIM's content type, its
 * error format, its bearer tokens), and the admin API of SCIM tokens under /api/v1.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, requestMeta } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { methodNotAllowed, notFound, SCIM_CONTENT_TYPE, sendScimError } from './errors.js';
import { resourceTypes, schemas, serviceProviderConfig } from './resources.js';
import { CreatedScimToken, CreateScimTokenBody, ListQuery, ResourceQuery, ScimToken, ScimTokenParams, validate } from './schemas.js';
import { etagMatches, type ResourceResult, type ScimCaller, type ScimService } from './service.js';

export const SCIM_PREFIX = '/scim/v2';

/** The SCIM base URL of a workspace, for the identity provider's configuration. */
export function scimBaseUrl(baseUrl: string, workspaceId: string): string {
  return `${baseUrl}${SCIM_PREFIX}/${workspaceId}`;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** On SCIM routes: the workspace and SCIM token the request authenticated as. */
    scim: ScimCaller | null;
  }
}

/** SCIM routes are described by the SCIM discovery endpoints, not the /api OpenAPI document. */
const config = { access: 'scim' as const };
const hidden = { config, schema: { hide: true } };

function callerOfScim(request: FastifyRequest): ScimCaller {
  if (!request.scim) throw notFound();
  return request.scim;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function idParam(request: FastifyRequest): string {
  return (request.params as Record<string, string | undefined>)['id'] ?? '';
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];

/**
 * The methods an endpoint does not have answer 405 with `Allow` (RFC 9110 §15.5.6) and the SCIM
 * error body. Decided before the body is read (a malformed body changes nothing) and after the
 * token (a caller without one learns nothing).
 */
function otherMethods(app: FastifyInstance, url: string, allowed: readonly Method[]): void {
  const refuse = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', allowed.join(', '));
    throw methodNotAllowed();
  };
  app.route({ method: METHODS.filter((m) => !allowed.includes(m)), url, ...hidden, onRequest: refuse, handler: refuse });
}

function sendResource(reply: FastifyReply, result: ResourceResult, status = 200): FastifyReply {
  reply.header('etag', result.etag);
  if (status === 201) reply.header('location', result.location);
  return reply.status(status).send(result.resource);
}

export function scimRoutes(scim: ScimService, options: { baseUrl: () => string; bodyLimit: number }): FastifyPluginAsync {
  return async (app) => {
    // SCIM's media type, parsed as JSON is (prototype-poisoning refused); application/json too.
    app.addContentTypeParser(SCIM_CONTENT_TYPE, { parseAs: 'string', bodyLimit: options.bodyLimit }, app.getDefaultJsonParser('error', 'error'));
    app.setErrorHandler((err, request, reply) => sendScimError(request, reply, err));
    app.setNotFoundHandler((request, reply) => sendScimError(request, reply, notFound()));
    app.decorateRequest('scim', null);

    // Before the body is read: the token, in the path's workspace (src/modules/scim/service.ts).
    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.config.access !== 'scim') return;
      const workspaceId = (request.params as Record<string, string | undefined>)['workspaceId'] ?? '';
      const meta = requestMeta(request);
      const { tenant, actor } = await scim.authenticate(workspaceId, header(request, 'authorization'), meta);
      request.scim = { tenant, actor, meta, base: scimBaseUrl(options.baseUrl(), workspaceId) };
    });
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.header('cache-control', 'no-store');
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', `${SCIM_CONTENT_TYPE}; charset=utf-8`);
      return payload;
    });

    const ws = '/:workspaceId';

    // --- discovery ---------------------------------------------------------------------------------
    app.get(`${ws}/ServiceProviderConfig`, hidden, async (request) => serviceProviderConfig(`${callerOfScim(request).base}/ServiceProviderConfig`));
    app.get(`${ws}/ResourceTypes`, hidden, async (request) => {
      const all = resourceTypes(callerOfScim(request).base);
      return { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all };
    });
    app.get(`${ws}/ResourceTypes/:id`, hidden, async (request) => {
      const found = resourceTypes(callerOfScim(request).base).find((r) => r['id'] === idParam(request));
      if (!found) throw notFound();
      return found;
    });
    app.get(`${ws}/Schemas`, hidden, async (request) => {
      const all = schemas(callerOfScim(request).base);
      return { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all };
    });
    app.get(`${ws}/Schemas/:id`, hidden, async (request) => {
      const found = schemas(callerOfScim(request).base).find((r) => r['id'] === idParam(request));
      if (!found) throw notFound();
      return found;
    });

    for (const url of ['ServiceProviderConfig', 'ResourceTypes', 'ResourceTypes/:id', 'Schemas', 'Schemas/:id']) otherMethods(app, `${ws}/${url}`, ['GET']);

    // --- Users and Groups --------------------------------------------------------------------------
    for (const kind of ['Users', 'Groups'] as const) {
      const users = kind === 'Users';
      app.get(`${ws}/${kind}`, hidden, async (request) => {
        const query = validate(ListQuery, request.query);
        return users ? scim.listUsers(callerOfScim(request), query) : scim.listGroups(callerOfScim(request), query);
      });
      app.post(`${ws}/${kind}`, hidden, async (request, reply) => {
        const caller = callerOfScim(request);
        return sendResource(reply, users ? await scim.createUser(caller, request.body) : await scim.createGroup(caller, request.body), 201);
      });
      app.get(`${ws}/${kind}/:id`, hidden, async (request, reply) => {
        const caller = callerOfScim(request);
        const projection = validate(ResourceQuery, request.query);
        const result = users ? await scim.getUser(caller, idParam(request), projection) : await scim.getGroup(caller, idParam(request), projection);
        const ifNoneMatch = header(request, 'if-none-match');
        if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, Number(/"(\d+)"/.exec(result.etag)?.[1]))) {
          return reply.status(304).header('etag', result.etag).send();
        }
        return sendResource(reply, result);
      });
      app.put(`${ws}/${kind}/:id`, hidden, async (request, reply) => {
        const caller = callerOfScim(request);
        const ifMatch = header(request, 'if-match');
        return sendResource(reply, users ? await scim.replaceUser(caller, idParam(request), request.body, ifMatch) : await scim.replaceGroup(caller, idParam(request), request.body, ifMatch));
      });
      app.patch(`${ws}/${kind}/:id`, hidden, async (request, reply) => {
        const caller = callerOfScim(request);
        const ifMatch = header(request, 'if-match');
        return sendResource(reply, users ? await scim.patchUser(caller, idParam(request), request.body, ifMatch) : await scim.patchGroup(caller, idParam(request), request.body, ifMatch));
      });
      app.delete(`${ws}/${kind}/:id`, hidden, async (request, reply) => {
        const caller = callerOfScim(request);
        const ifMatch = header(request, 'if-match');
        await (users ? scim.deleteUser(caller, idParam(request), ifMatch) : scim.deleteGroup(caller, idParam(request), ifMatch));
        return reply.status(204).send();
      });
      otherMethods(app, `${ws}/${kind}`, ['GET', 'POST']);
      otherMethods(app, `${ws}/${kind}/:id`, ['GET', 'PUT', 'PATCH', 'DELETE']);
    }
  };
}

const tags = ['SCIM'];

export function scimTokensRoutes(scim: ScimService, baseUrl: () => string): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/scim/tokens';

    app.get(base, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: { tags, summary: "The workspace's SCIM tokens (never the tokens themselves)", params: WorkspaceParams, response: { 200: z.object({ data: z.array(ScimToken) }) } },
      handler: async (request) => ({ data: await scim.listTokens(callerOf(request)) }),
    });

    app.post(base, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: {
        tags,
        summary: 'Create a SCIM token for the identity provider; the token is in this response only (at most 3 live: create the new one, then revoke the old)',
        params: WorkspaceParams,
        body: CreateScimTokenBody,
        response: { 201: CreatedScimToken },
      },
      handler: async (request, reply) => {
        const created = await scim.createToken(callerOf(request), request.body);
        return reply
          .status(201)
          .header('cache-control', 'no-store')
          .send({ ...created, baseUrl: scimBaseUrl(baseUrl(), request.params.workspaceId) });
      },
    });

    app.delete(`${base}/:tokenId`, {
      config: { access: 'workspace', scope: 'sso:manage', errors: ['scim_token_not_found'] },
      schema: { tags, summary: 'Revoke a SCIM token (it stops working at once)', params: ScimTokenParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await scim.revokeToken(callerOf(request), request.params.tokenId);
        return reply.status(204).send();
      },
    });
  };
}
