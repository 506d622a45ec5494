import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../../platform/http/context.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { AddDomainBody, Domain, DomainParams, DomainPatchBody } from './schemas.js';
import type { DomainsService } from './service.js';

const tags = ['sso'];

export function domainsRoutes(domains: DomainsService): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/domains';
    const config = { access: 'workspace', scope: 'sso:manage' } as const;

    app.get(base, {
      config,
      schema: { tags, summary: "The workspace's domains, verified or waiting for their DNS record", params: WorkspaceParams, response: { 200: z.object({ data: z.array(Domain) }) } },
      handler: async (request) => ({ data: await domains.list(callerOf(request)) }),
    });

    app.post(base, {
      config,
      schema: { tags, summary: 'Claim a domain; publish the TXT record shown, then verify', params: WorkspaceParams, body: AddDomainBody, response: { 201: Domain } },
      handler: async (request, reply) => reply.status(201).send(await domains.add(callerOf(request), request.body)),
    });

    app.post(`${base}/:domainId/verify`, {
      config: { ...config, errors: ['domain_not_found', 'domain_verification_failed', 'domain_claimed'] },
      schema: {
        tags,
        summary: 'Look up the TXT record now',
        description: 'Answers the verified domain, or `domain_verification_failed` with the record to publish, or `domain_claimed`.',
        params: DomainParams,
        response: { 200: Domain },
      },
      handler: async (request) => domains.verify(callerOf(request), request.params.domainId),
    });

    app.patch(`${base}/:domainId`, {
      config,
      schema: {
        tags,
        summary: 'Enforce single sign-on for the domain (or stop)',
        description: "Enforcing ends the sessions of the domain's accounts that did not begin with this workspace's SAML sign-in.",
        params: DomainParams,
        body: DomainPatchBody,
        response: { 200: Domain },
      },
      handler: async (request) => domains.setEnforcement(callerOf(request), request.params.domainId, request.body.ssoEnforced),
    });

    app.delete(`${base}/:domainId`, {
      config: { ...config, errors: ['domain_not_found'] },
      schema: { tags, summary: 'Remove a domain (its enforcement ends with it)', params: DomainParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await domains.remove(callerOf(request), request.params.domainId);
        return reply.status(204).send();
      },
    });
  };
}
