import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requirePrincipal } from '../../platform/http/context.js';
import { SESSION_COOKIE } from '../../platform/http/auth.js';
import { NoContent } from '../../platform/http/schemas.js';
import { SessionResponse, SetupStatus, SignInBody, SignUpBody, TokenResponse } from './schemas.js';
import type { AccountsService, IssuedSession, RequestMeta } from './service.js';

const tags = ['auth'];

function meta(request: FastifyRequest): RequestMeta {
  return { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
}

export function accountsRoutes(accounts: AccountsService): FastifyPluginAsyncZod {
  function startCookieSession(reply: FastifyReply, issued: IssuedSession) {
    reply.setCookie(SESSION_COOKIE, issued.token, {
      path: '/',
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
      expires: issued.expiresAt,
    });
    return {
      account: issued.account,
      session: { id: issued.sessionId, kind: issued.kind, expiresAt: issued.expiresAt.toISOString() },
      csrfToken: accounts.csrfToken(issued.sessionId),
    };
  }

  return async (app) => {
    app.get('/api/v1/setup', {
      config: { access: 'public' },
      schema: { tags, summary: 'Whether the first account still has to be created', response: { 200: SetupStatus } },
      handler: async () => ({ setupRequired: await accounts.setupRequired() }),
    });

    app.post('/api/v1/auth/sign-up', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Create an account and sign in with a session cookie',
        body: SignUpBody,
        response: { 201: SessionResponse },
      },
      handler: async (request, reply) => {
        const issued = await accounts.signUp(request.body, 'cookie', meta(request));
        return reply.status(201).send(startCookieSession(reply, issued));
      },
    });

    app.post('/api/v1/auth/sign-in', {
      config: { access: 'public' },
      schema: { tags, summary: 'Sign in with a session cookie', body: SignInBody, response: { 200: SessionResponse } },
      handler: async (request, reply) => {
        const issued = await accounts.signIn(request.body, 'cookie', meta(request));
        return reply.send(startCookieSession(reply, issued));
      },
    });

    app.post('/api/v1/auth/tokens', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Sign in and receive a bearer token for API clients',
        body: SignInBody,
        response: { 201: TokenResponse },
      },
      handler: async (request, reply) => {
        const issued = await accounts.signIn(request.body, 'bearer', meta(request));
        reply.header('cache-control', 'no-store');
        return reply.status(201).send({
          account: issued.account,
          token: issued.token,
          tokenType: 'Bearer' as const,
          expiresAt: issued.expiresAt.toISOString(),
        });
      },
    });

    app.get('/api/v1/auth/session', {
      config: { access: 'account' },
      schema: { tags, summary: 'The current session', response: { 200: SessionResponse } },
      handler: async (request) => {
        const principal = requirePrincipal(request);
        const { account, expiresAt } = await accounts.describeSession(principal);
        return {
          account,
          session: { id: principal.sessionId, kind: principal.sessionKind, expiresAt: expiresAt.toISOString() },
          csrfToken: principal.sessionKind === 'cookie' ? accounts.csrfToken(principal.sessionId) : null,
        };
      },
    });

    app.post('/api/v1/auth/sign-out', {
      config: { access: 'account' },
      schema: { tags, summary: 'End the current session (cookie or bearer)', response: { 204: NoContent } },
      handler: async (request, reply) => {
        await accounts.signOut(requirePrincipal(request));
        reply.clearCookie(SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'lax' });
        return reply.status(204).send();
      },
    });
  };
}
