/**
 * Sign-in with an OpenID Connect provider. The browser-facing steps (start, callback) answer
 * with redirects, never JSON and never tokens in a query string: a session cookie and `/`, the
 * second-factor page with its token in the fragment, a link offer in the fragment, or the
 * sign-in page with an error code.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RampartError } from '../../platform/errors.js';
import { requestMeta, requirePrincipal } from '../../platform/http/context.js';
import { bindingValue, clearCookie, setBindingCookie } from '../../platform/http/cookies.js';
import { NoContent } from '../../platform/http/schemas.js';
import { startCookieSession, type AccountsService } from '../accounts/index.js';
import { CallbackQuery, Identity, IdentityParams, LinkAcceptBody, LinkStartResponse, OidcStatus } from './schemas.js';
import { FLOW_TTL_SECONDS, OFFER_TTL_SECONDS, type CallbackOutcome, type OidcService } from './service.js';

/** Holds the random value binding a flow (or a link offer) to the browser that started it. */
export const OIDC_COOKIE = '__Host-rampart_oidc';
const tags = ['auth'];
const Redirect = z.undefined().describe('A redirect (302); see the Location header.');

/** The error code a console page shows for a failed browser step. */
function codeOf(err: unknown): string {
  return err instanceof RampartError && err.expose ? err.code : 'sign_in_failed';
}

function logFailure(request: FastifyRequest, outcome: Extract<CallbackOutcome, { kind: 'failed' }>): void {
  const entry = { purpose: outcome.purpose, code: outcome.code, reason: outcome.reason, detail: outcome.detail };
  if (outcome.reason === 'internal') request.log.error({ ...entry, err: outcome.error }, 'OIDC callback failed');
  else request.log.warn(entry, 'OIDC callback refused');
}

/** The request as logged for the callback: everything but the query string. */
function callbackRequestLog(request: FastifyRequest) {
  return {
    method: request.method,
    url: `${request.url.split('?')[0] ?? ''}?[redacted]`,
    host: request.host,
    remoteAddress: request.ip,
  };
}

export function oidcRoutes(oidc: OidcService, accounts: AccountsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/v1/auth/oidc', {
      config: { access: 'public' },
      schema: { tags, summary: 'Whether sign-in with an OpenID Connect provider is available, and its name', response: { 200: OidcStatus } },
      handler: async () => ({ enabled: oidc.enabled(), displayName: oidc.displayName }),
    });

    app.get('/api/v1/auth/oidc/start', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Start signing in with the provider (a browser navigation)',
        description: "Sets a short-lived binding cookie and redirects to the provider's authorization page; on failure, to `/sign-in?error=<code>`.",
        response: { 302: Redirect },
      },
      handler: async (request, reply) => {
        try {
          const flow = await oidc.start('sign_in', null, requestMeta(request));
          setBindingCookie(reply, OIDC_COOKIE, flow.binding, FLOW_TTL_SECONDS);
          return reply.redirect(flow.url, 302);
        } catch (err) {
          if (err instanceof RampartError) request.log.warn({ code: err.code, detail: err.internal }, 'OIDC sign-in could not start');
          else request.log.error({ err }, 'OIDC sign-in could not start');
          return reply.redirect(`/sign-in?error=${codeOf(err)}`, 302);
        }
      },
    });

    app.post('/api/v1/auth/oidc/link/start', {
      config: { access: 'account', errors: ['provider_not_configured'] },
      schema: {
        tags,
        summary: 'Start linking a provider identity to my account',
        description: 'Sets a short-lived binding cookie; navigate the browser to the returned URL.',
        response: { 200: LinkStartResponse },
      },
      handler: async (request, reply) => {
        const flow = await oidc.start('link', requirePrincipal(request), requestMeta(request));
        setBindingCookie(reply, OIDC_COOKIE, flow.binding, FLOW_TTL_SECONDS);
        return { url: flow.url };
      },
    });

    app.get('/api/v1/auth/oidc/callback', {
      config: { access: 'public' },
      // The query holds the authorization code: this route's request log shows the path only.
      logSerializers: { req: callbackRequestLog },
      schema: {
        tags,
        summary: "The provider's redirect back (a browser navigation)",
        description:
          'Redirects to `/` signed in, to `/mfa#token=…&factors=…` when a second factor is required, to `/link#token=…` when the identity can be linked to an existing account, or to `/sign-in?error=<code>` (`/settings?error=<code>` when linking).',
        querystring: CallbackQuery,
        response: { 302: Redirect },
      },
      handler: async (request, reply) => {
        const at = request.url.indexOf('?');
        const rawQuery = at >= 0 ? request.url.slice(at + 1) : '';
        const outcome = await oidc.callback(bindingValue(request, OIDC_COOKIE), rawQuery, requestMeta(request));
        switch (outcome.kind) {
          case 'signed_in': {
            clearCookie(reply, OIDC_COOKIE);
            const result = outcome.result;
            if (result.status === 'mfa_required') return reply.redirect(`/mfa#token=${result.mfaToken}&factors=${result.factors.join(',')}`, 302);
            await startCookieSession(accounts, request, reply, result.issued);
            return reply.redirect('/', 302);
          }
          case 'link_offer':
            setBindingCookie(reply, OIDC_COOKIE, outcome.binding, OFFER_TTL_SECONDS);
            return reply.redirect(`/link#token=${outcome.token}`, 302);
          case 'linked':
            clearCookie(reply, OIDC_COOKIE);
            return reply.redirect('/settings?linked=oidc', 302);
          case 'failed':
            clearCookie(reply, OIDC_COOKIE);
            logFailure(request, outcome);
            return reply.redirect(`${outcome.purpose === 'link' ? '/settings' : '/sign-in'}?error=${outcome.code}`, 302);
        }
      },
    });

    app.post('/api/v1/auth/oidc/link/accept', {
      config: { access: 'account' },
      schema: {
        tags,
        summary: 'Link the provider identity offered to my account',
        description: 'The token comes from `/link#token=…`; only the offered account can accept, in the browser that signed in at the provider.',
        body: LinkAcceptBody,
        response: { 200: z.object({ identity: Identity }) },
      },
      handler: async (request, reply) => {
        const identity = await oidc.acceptLink(requirePrincipal(request), request.body.token, bindingValue(request, OIDC_COOKIE), requestMeta(request));
        clearCookie(reply, OIDC_COOKIE);
        return { identity };
      },
    });

    app.get('/api/v1/auth/oidc/identities', {
      config: { access: 'account' },
      schema: { tags, summary: 'Provider identities linked to my account', response: { 200: z.object({ data: z.array(Identity) }) } },
      handler: async (request) => ({ data: await oidc.listIdentities(requirePrincipal(request)) }),
    });

    app.delete('/api/v1/auth/oidc/identities/:identityId', {
      config: { access: 'account', errors: ['not_found'] },
      schema: {
        tags,
        summary: 'Unlink a provider identity from my account',
        description: 'Refused (`conflict`) when it is the only way to sign in: no password and no other identity.',
        params: IdentityParams,
        response: { 204: NoContent },
      },
      handler: async (request, reply) => {
        await oidc.unlink(requirePrincipal(request), request.params.identityId, requestMeta(request));
        return reply.status(204).send();
      },
    });
  };
}
