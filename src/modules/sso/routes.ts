/**
 * SAML routes. The browser steps (login, the assertion consumer service) answer with redirects:
 * to the IdP, to the console signed in, to the second-factor page, or to the sign-in page with
 * a vague error code (the reason is in the workspace's SSO log, for its admins).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RampartError } from '../../platform/errors.js';
import { callerOf, requestMeta, tenantOf } from '../../platform/http/context.js';
import { bindingValue, clearCookie, setCrossSiteBindingCookie } from '../../platform/http/cookies.js';
import { NoContent, WorkspaceParams } from '../../platform/http/schemas.js';
import { sha256 } from '../../platform/ids.js';
import { startCookieSession, type AccountsService } from '../accounts/index.js';
import {
  AcsForm,
  AttemptsQuery,
  Connection,
  ConnectionBody,
  DiscoverBody,
  DiscoverResponse,
  LoginQuery,
  CreatedSetupLink,
  SamlParams,
  SetupLink,
  SetupLinkBody,
  SetupLinkParams,
  SetupPage,
  SetupSamlBody,
  SetupScimTokenBody,
  SetupTokenBody,
  SsoAttempt,
} from './schemas.js';
import { CreatedScimToken } from '../scim/schemas.js';
import type { SetupLinks } from './setup-links.js';
import { REQUEST_TTL_SECONDS, type AcsOutcome, type SsoService } from './service.js';

/**
 * Each pending SAML sign-in has its own cookie, named by its request id, holding the value that
 * binds it to the browser that started it. SameSite=None: the IdP's POST to the ACS is a
 * cross-site navigation, on which a Lax cookie is not sent. Per request, so several sign-ins
 * can be pending in one browser (two tabs, two workspaces) and a post for one never touches
 * another's (docs/decisions/0023).
 */
export const SAML_COOKIE_PREFIX = '__Host-rampart_saml_';
/** A browser holding this many pending sign-ins drops them all when it starts one more. */
export const MAX_PENDING_SAML = 8;

/** The cookie of the sign-in with this request id: 64 bits of its SHA-256, plenty within one browser. */
export function samlCookieName(requestId: string): string {
  return `${SAML_COOKIE_PREFIX}${sha256(requestId).toString('hex').slice(0, 16)}`;
}
const tags = ['sso'];
const Redirect = z.undefined().describe('A redirect; see the Location header.');

function logFailure(request: FastifyRequest, outcome: Extract<AcsOutcome, { kind: 'failed' }>): void {
  const entry = { code: outcome.code, reason: outcome.reason, detail: outcome.detail };
  if (outcome.reason === 'internal') request.log.error(entry, 'SAML response failed');
  else request.log.warn(entry, 'SAML response refused');
}

/** The ACS request as logged: never the body (it holds the assertion). */
function acsRequestLog(request: FastifyRequest) {
  return { method: request.method, url: request.url, host: request.host, remoteAddress: request.ip };
}

/** The urlencoded form parser, for the ACS only (a JSON API must never read forms: CSRF). */
function acceptForms(app: FastifyInstance, maxBytes: number): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: maxBytes }, (_request, body, done) => {
    const form: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(body as string)) {
      if (Object.hasOwn(form, key)) {
        done(new RampartError('validation_failed', { message: `${key} is given twice.` }), undefined);
        return;
      }
      form[key] = value;
    }
    done(null, form);
  });
}

export function ssoRoutes(sso: SsoService, setupLinks: SetupLinks, accounts: AccountsService, maxResponseBytes: number): FastifyPluginAsyncZod {
  return async (app) => {
    const base = '/api/v1/workspaces/:workspaceId/sso';

    app.get(`${base}/saml`, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: { tags, summary: "The workspace's SAML connection and Rampart's SP details", params: WorkspaceParams, response: { 200: Connection } },
      handler: async (request) => sso.get(tenantOf(request)),
    });

    app.put(`${base}/saml`, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: {
        tags,
        summary: 'Set up or replace the SAML connection',
        description: 'From IdP metadata XML, a metadata URL (fetched now), or entity id, SSO URL and certificates.',
        params: WorkspaceParams,
        body: ConnectionBody,
        response: { 200: Connection },
      },
      handler: async (request) => {
        const caller = callerOf(request);
        return sso.put(caller, request.body);
      },
    });

    app.delete(`${base}/saml`, {
      config: { access: 'workspace', scope: 'sso:manage', errors: ['sso_not_configured'] },
      schema: { tags, summary: 'Remove the SAML connection (stop enforcing SSO first)', params: WorkspaceParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await sso.remove(callerOf(request));
        return reply.status(204).send();
      },
    });

    app.get(`${base}/attempts`, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: { tags, summary: 'Recent SSO sign-in attempts, with the reason for each failure', params: WorkspaceParams, querystring: AttemptsQuery, response: { 200: z.object({ data: z.array(SsoAttempt) }) } },
      handler: async (request) => ({ data: await sso.attempts(tenantOf(request), request.query.limit) }),
    });

    app.get(`${base}/setup-links`, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: { tags, summary: 'Live setup links', params: WorkspaceParams, response: { 200: z.object({ data: z.array(SetupLink) }) } },
      handler: async (request) => ({ data: await setupLinks.list(callerOf(request)) }),
    });

    app.post(`${base}/setup-links`, {
      config: { access: 'workspace', scope: 'sso:manage' },
      schema: {
        tags,
        summary: "A time-limited link where the customer's IT admin configures SSO without an account",
        description: 'The URL (its token) is shown once. Through it the IdP can be set up; the default role and provisioning stay yours.',
        params: WorkspaceParams,
        body: SetupLinkBody,
        response: { 201: CreatedSetupLink },
      },
      handler: async (request, reply) => reply.status(201).send(await setupLinks.create(callerOf(request), request.body.expiresInHours)),
    });

    app.delete(`${base}/setup-links/:linkId`, {
      config: { access: 'workspace', scope: 'sso:manage', errors: ['not_found'] },
      schema: { tags, summary: 'Revoke a setup link', params: SetupLinkParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        await setupLinks.revoke(callerOf(request), request.params.linkId);
        return reply.status(204).send();
      },
    });

    app.post('/api/v1/sso/setup/view', {
      config: { access: 'public' },
      schema: { tags, summary: 'What a setup link opens: the SP values, the connection, the domains, per-IdP steps', body: SetupTokenBody, response: { 200: SetupPage } },
      handler: async (request) => setupLinks.page(request.body.token),
    });

    app.put('/api/v1/sso/setup/saml', {
      config: { access: 'public' },
      schema: { tags, summary: 'Set up the SAML connection through a setup link', body: SetupSamlBody, response: { 200: Connection } },
      handler: async (request) => {
        const { token, ...connection } = request.body;
        return setupLinks.putSaml(token, connection, requestMeta(request));
      },
    });

    app.post('/api/v1/sso/setup/scim-tokens', {
      config: { access: 'public' },
      schema: { tags, summary: 'Create a SCIM token through a setup link; the token is in this response only', body: SetupScimTokenBody, response: { 201: CreatedScimToken } },
      handler: async (request, reply) => reply.status(201).header('cache-control', 'no-store').send(await setupLinks.createScimToken(request.body.token, request.body.name, requestMeta(request))),
    });

    app.post('/api/v1/auth/sso/discover', {
      config: { access: 'public' },
      schema: { tags, summary: "Whether an email's domain signs in with a workspace's SSO, and where", body: DiscoverBody, response: { 200: DiscoverResponse } },
      handler: async (request) => sso.discover(request.body.email),
    });

    app.get('/api/v1/sso/saml/:workspaceId/metadata', {
      config: { access: 'public', errors: ['sso_not_configured'] },
      schema: { tags, summary: "Rampart's SAML service provider metadata for the workspace", params: SamlParams, produces: ['application/samlmetadata+xml'] },
      handler: async (request, reply) => reply.type('application/samlmetadata+xml; charset=utf-8').send(await sso.metadata(request.params.workspaceId)),
    });

    app.get('/api/v1/sso/saml/:workspaceId/login', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Start SAML sign-in (a browser navigation)',
        description: "Sets a short-lived binding cookie and redirects to the IdP; on failure, to `/sign-in?error=<code>`.",
        params: SamlParams,
        querystring: LoginQuery,
        response: { 302: Redirect },
      },
      handler: async (request, reply) => {
        try {
          const started = await sso.start(request.params.workspaceId, request.query.returnTo, requestMeta(request));
          // A bound on what a page can make a browser carry (cookies count against header limits).
          const pending = Object.keys(request.cookies).filter((name) => name.startsWith(SAML_COOKIE_PREFIX));
          if (pending.length >= MAX_PENDING_SAML) for (const name of pending) clearCookie(reply, name);
          setCrossSiteBindingCookie(reply, samlCookieName(started.requestId), started.binding, REQUEST_TTL_SECONDS);
          return reply.redirect(started.url, 302);
        } catch (err) {
          const code = err instanceof RampartError && err.expose ? err.code : 'sign_in_failed';
          if (!(err instanceof RampartError)) request.log.error({ err }, 'SAML sign-in could not start');
          return reply.redirect(`/sign-in?error=${code}`, 302);
        }
      },
    });

    await app.register(async (plugin) => {
      const acs = plugin.withTypeProvider<ZodTypeProvider>();
      acceptForms(acs, maxResponseBytes * 2);
      acs.post('/api/v1/sso/saml/:workspaceId/acs', {
        config: { access: 'public', crossSitePost: true },
        logSerializers: { req: acsRequestLog },
        bodyLimit: maxResponseBytes * 2,
        schema: {
          tags,
          summary: "The IdP's POST of a SAML response (a browser navigation)",
          description: 'Redirects (303) to the console signed in, to `/mfa#token=…&factors=…`, or to `/sign-in?error=<code>`.',
          params: SamlParams,
          consumes: ['application/x-www-form-urlencoded'],
          body: AcsForm,
          response: { 303: Redirect },
        },
        handler: async (request, reply) => {
          const outcome = await sso.acs(request.params.workspaceId, request.body, (requestId) => bindingValue(request, samlCookieName(requestId)), requestMeta(request));
          if (outcome.kind === 'failed') {
            logFailure(request, outcome);
            return reply.redirect(`/sign-in?error=${outcome.code}`, 303);
          }
          // Only the binding this response used goes; every other pending sign-in keeps its own.
          if (outcome.requestId !== null) clearCookie(reply, samlCookieName(outcome.requestId));
          const result = outcome.result;
          if (result.status === 'mfa_required') return reply.redirect(`/mfa#token=${result.mfaToken}&factors=${result.factors.join(',')}`, 303);
          await startCookieSession(accounts, request, reply, result.issued);
          return reply.redirect(outcome.returnTo, 303);
        },
      });
    });
  };
}
