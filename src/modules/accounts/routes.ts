import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestMeta, requirePrincipal } from '../../platform/http/context.js';
import { NoContent } from '../../platform/http/schemas.js';
import type { AuthEvents } from '../events/index.js';
import { bindingOf, clearSessionCookie, currentSessionBody, ensureBinding, sessionBody, signInBody, startCookieSession } from './http.js';
import {
  Accepted,
  AuthEventItem,
  Account,
  ChangePasswordBody,
  EmailBody,
  EmailChangeBody,
  EmailChangePending,
  ProfileBody,
  ResetBody,
  RotatedBearerSession,
  SessionItem,
  SessionParams,
  SessionResponse,
  SetupStatus,
  SignInBody,
  SignInResponse,
  SignUpBody,
  SignUpResponse,
  TokenBody,
  VerifyResponse,
} from './schemas.js';
import type { AccountsService } from './service.js';

const tags = ['auth'];

export function accountsRoutes(accounts: AccountsService, events: AuthEvents): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/v1/setup', {
      config: { access: 'public' },
      schema: { tags, summary: 'Whether the first account still has to be created', response: { 200: SetupStatus } },
      handler: async () => ({ setupRequired: await accounts.setupRequired() }),
    });

    app.post('/api/v1/auth/sign-up', {
      config: { access: 'public', errors: ['weak_password', 'setup_token_invalid', 'signup_closed', 'rate_limited'] },
      schema: {
        tags,
        summary: 'Sign up. The first account (with the setup token) is signed in at once; others get a verification email.',
        description: 'Answers `verification_sent` whether or not the email already has an account.',
        body: SignUpBody,
        response: { 201: SignUpResponse, 202: SignUpResponse },
      },
      handler: async (request, reply) => {
        const binding = ensureBinding(request, reply);
        const result = await accounts.signUp(request.body, 'cookie', requestMeta(request), binding);
        if (result.status === 'verification_sent') return reply.status(202).send(result);
        await startCookieSession(accounts, request, reply, result.issued);
        return reply.status(201).send(sessionBody(accounts, result.issued));
      },
    });

    app.post('/api/v1/auth/verify-email', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Verify an email address with the token from its link; signs in when opened where sign-up happened',
        body: TokenBody,
        response: { 200: VerifyResponse },
      },
      handler: async (request, reply) => {
        const result = await accounts.verifyEmail(request.body.token, 'cookie', requestMeta(request), bindingOf(request));
        if (result.status === 'verified') return result;
        return signInBody(accounts, request, reply, result);
      },
    });

    app.post('/api/v1/auth/verify-email/resend', {
      config: { access: 'account' },
      schema: { tags, summary: 'Send a new verification link to my address', response: { 202: Accepted } },
      handler: async (request, reply) => {
        await accounts.resendVerification(requirePrincipal(request), requestMeta(request), ensureBinding(request, reply));
        return reply.status(202).send({ status: 'sent' as const });
      },
    });

    app.post('/api/v1/auth/sign-in', {
      config: { access: 'public', errors: ['invalid_credentials', 'sso_required', 'rate_limited'] },
      schema: {
        tags,
        summary: 'Sign in with email and password (session cookie); may ask for a second factor',
        body: SignInBody,
        response: { 200: SignInResponse },
      },
      handler: async (request, reply) => {
        const result = await accounts.signIn(request.body, 'cookie', requestMeta(request), ensureBinding(request, reply));
        return signInBody(accounts, request, reply, result);
      },
    });

    app.post('/api/v1/auth/tokens', {
      config: { access: 'public', errors: ['invalid_credentials', 'sso_required', 'rate_limited'] },
      schema: {
        tags,
        summary: 'Sign in and receive a bearer token for API clients; may ask for a second factor',
        body: SignInBody,
        response: { 200: SignInResponse, 201: SignInResponse },
      },
      handler: async (request, reply) => {
        const result = await accounts.signIn(request.body, 'bearer', requestMeta(request));
        const body = await signInBody(accounts, request, reply, result);
        return reply.status(body.status === 'signed_in' ? 201 : 200).send(body);
      },
    });

    app.post('/api/v1/auth/magic-link', {
      config: { access: 'public' },
      schema: { tags, summary: 'Email me a sign-in link (valid 15 minutes, single use)', body: EmailBody, response: { 202: Accepted } },
      handler: async (request, reply) => {
        await accounts.requestMagicLink(request.body.email, requestMeta(request), ensureBinding(request, reply));
        return reply.status(202).send({ status: 'sent' as const });
      },
    });

    app.post('/api/v1/auth/magic-link/consume', {
      config: { access: 'public' },
      schema: { tags, summary: 'Sign in with the token from a sign-in link; may ask for a second factor', body: TokenBody, response: { 200: SignInResponse } },
      handler: async (request, reply) => {
        const result = await accounts.consumeMagicLink(request.body.token, 'cookie', requestMeta(request), bindingOf(request));
        return signInBody(accounts, request, reply, result);
      },
    });

    app.post('/api/v1/auth/password-reset', {
      config: { access: 'public' },
      schema: { tags, summary: 'Email me a password-reset link (valid 15 minutes, single use)', body: EmailBody, response: { 202: Accepted } },
      handler: async (request, reply) => {
        await accounts.requestPasswordReset(request.body.email, requestMeta(request), ensureBinding(request, reply));
        return reply.status(202).send({ status: 'sent' as const });
      },
    });

    app.post('/api/v1/auth/password-reset/complete', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Set a new password with the token from a reset link; ends every session, then signs in (second factor still asked)',
        body: ResetBody,
        response: { 200: SignInResponse },
      },
      handler: async (request, reply) => {
        const { token, password } = request.body;
        const result = await accounts.resetPassword(token, password, 'cookie', requestMeta(request), bindingOf(request));
        return signInBody(accounts, request, reply, result);
      },
    });

    app.post('/api/v1/auth/password', {
      config: { access: 'account', errors: ['weak_password', 'reauthentication_required'] },
      schema: {
        tags,
        summary: 'Change my password; every other session ends and this one gets a new token',
        description:
          'A cookie session gets a new session cookie and CSRF token. A bearer session gets its new token in the answer (`token`); the token that made the request stops working.',
        body: ChangePasswordBody,
        // The bearer form first: the answer is serialized by the first schema it satisfies.
        response: { 200: z.union([RotatedBearerSession, SessionResponse]) },
      },
      handler: async (request, reply) => {
        const principal = requirePrincipal(request);
        const issued = await accounts.changePassword(principal, request.body.currentPassword, request.body.newPassword, requestMeta(request));
        if (issued.kind === 'bearer') return { ...sessionBody(accounts, issued), token: issued.token, tokenType: 'Bearer' as const };
        await startCookieSession(accounts, request, reply, issued);
        return sessionBody(accounts, issued);
      },
    });

    app.patch('/api/v1/auth/account', {
      config: { access: 'account' },
      schema: { tags, summary: 'Change my name', body: ProfileBody, response: { 200: Account } },
      handler: async (request) => accounts.updateProfile(requirePrincipal(request), request.body, requestMeta(request)),
    });

    app.post('/api/v1/auth/account/email', {
      config: { access: 'account', errors: ['reauthentication_required', 'email_managed', 'sso_required', 'rate_limited'] },
      schema: {
        tags,
        summary: 'Change my email address: a link goes to the new address, a notice to the current one',
        description:
          'The address changes only when the link is opened signed in to this account (`…/account/email/confirm`). The answer is the same whether or not another account holds the new address; its holder is told instead of a link being sent.',
        body: EmailChangeBody,
        response: { 202: EmailChangePending },
      },
      handler: async (request, reply) => reply.status(202).send(await accounts.requestEmailChange(requirePrincipal(request), request.body, requestMeta(request))),
    });

    app.delete('/api/v1/auth/account/email', {
      config: { access: 'account' },
      schema: {
        tags,
        summary: 'Cancel my pending email change: its link stops working',
        description: 'Answers the same whether or not a change was pending. The address stays as it is; `pendingEmail` on the Account becomes null.',
        response: { 204: NoContent },
      },
      handler: async (request, reply) => {
        await accounts.cancelEmailChange(requirePrincipal(request), requestMeta(request));
        return reply.status(204).send();
      },
    });

    app.post('/api/v1/auth/account/email/confirm', {
      config: { access: 'account', errors: ['invalid_link', 'email_managed', 'sso_required', 'account_exists', 'rate_limited'] },
      schema: {
        tags,
        summary: "Confirm an email change with the token from the new address's link, signed in to the account that asked; other sessions end",
        body: TokenBody,
        response: { 200: Account },
      },
      handler: async (request) => accounts.confirmEmailChange(requirePrincipal(request), request.body.token, requestMeta(request)),
    });

    app.get('/api/v1/auth/session', {
      config: { access: 'account' },
      schema: { tags, summary: 'The current session', response: { 200: SessionResponse } },
      handler: async (request) => currentSessionBody(accounts, requirePrincipal(request)),
    });

    app.post('/api/v1/auth/sign-out', {
      config: { access: 'account' },
      schema: { tags, summary: 'End the current session (cookie or bearer)', response: { 204: NoContent } },
      handler: async (request, reply) => {
        await accounts.signOut(requirePrincipal(request), requestMeta(request));
        clearSessionCookie(reply);
        return reply.status(204).send();
      },
    });

    app.get('/api/v1/auth/sessions', {
      config: { access: 'account' },
      schema: { tags, summary: 'My live sessions: device, place, last seen', response: { 200: z.object({ data: z.array(SessionItem) }) } },
      handler: async (request) => ({ data: await accounts.listSessions(requirePrincipal(request)) }),
    });

    app.delete('/api/v1/auth/sessions/:sessionId', {
      config: { access: 'account', errors: ['session_not_found'] },
      schema: { tags, summary: 'Revoke one of my sessions; it stops working at once', params: SessionParams, response: { 204: NoContent } },
      handler: async (request, reply) => {
        const principal = requirePrincipal(request);
        await accounts.revokeSession(principal, request.params.sessionId, requestMeta(request));
        if (request.params.sessionId === principal.sessionId) clearSessionCookie(reply);
        return reply.status(204).send();
      },
    });

    app.post('/api/v1/auth/sessions/revoke-others', {
      config: { access: 'account' },
      schema: { tags, summary: 'Revoke all my sessions but this one', response: { 200: z.object({ revoked: z.number().int() }) } },
      handler: async (request) => ({ revoked: await accounts.revokeOtherSessions(requirePrincipal(request), requestMeta(request)) }),
    });

    app.get('/api/v1/auth/events', {
      config: { access: 'account' },
      schema: { tags, summary: 'Recent authentication events of my account', response: { 200: z.object({ data: z.array(AuthEventItem) }) } },
      handler: async (request) => ({
        data: (await events.forAccount(requirePrincipal(request).accountId)).map((e) => ({
          id: e.id,
          action: e.action,
          outcome: e.outcome,
          ip: e.ip,
          userAgent: e.user_agent,
          details: e.details,
          createdAt: e.created_at.toISOString(),
        })),
      }),
    });
  };
}
