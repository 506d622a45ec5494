import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestMeta, requirePrincipal } from '../../platform/http/context.js';
import { currentSessionBody, sessionBody, setSessionCookie, signInBody, SignInResponse, type AccountsService } from '../accounts/index.js';
import {
  CreationOptions,
  FactorChanged,
  MfaStatus,
  MfaTokenBody,
  PasskeyAdded,
  PasskeyAssertionBody,
  PasskeyItem,
  PasskeyParams,
  PasskeyRegisterBody,
  PasskeyRenameBody,
  PasswordlessBody,
  PasswordlessOptions,
  ReauthBody,
  RecoveryCodesResponse,
  RequestOptions,
  TotpConfirmBody,
  TotpEnrolment,
  VerifyBody,
} from './schemas.js';
import type { FactorChange, MfaService } from './service.js';

const tags = ['mfa'];

export function mfaRoutes(mfa: MfaService, accounts: AccountsService): FastifyPluginAsyncZod {
  /** The body after a factor change: the (rotated) session, its cookie set, and any new recovery codes. */
  async function changedBody(request: FastifyRequest, reply: FastifyReply, change: FactorChange) {
    if (change.issued) {
      setSessionCookie(reply, change.issued);
      return { ...sessionBody(accounts, change.issued), recoveryCodes: change.recoveryCodes };
    }
    return { ...(await currentSessionBody(accounts, requirePrincipal(request))), recoveryCodes: change.recoveryCodes };
  }

  return async (app) => {
    // --- managing my factors ------------------------------------------------------------------------

    app.get('/api/v1/account/mfa', {
      config: { access: 'account' },
      schema: { tags, summary: 'My second factors', response: { 200: MfaStatus } },
      handler: async (request) => mfa.status(requirePrincipal(request)),
    });

    app.post('/api/v1/account/mfa/totp', {
      config: { access: 'account' },
      schema: {
        tags,
        summary: 'Start adding an authenticator app: a new secret to scan or type',
        description: 'Not active until confirmed with a first code. Replaces an unconfirmed secret; 409 `mfa_already_enabled` if an app is already on.',
        response: { 200: TotpEnrolment },
      },
      handler: async (request) => mfa.startTotp(requirePrincipal(request), requestMeta(request)),
    });

    app.post('/api/v1/account/mfa/totp/confirm', {
      config: { access: 'account', errors: ['mfa_code_invalid', 'factor_not_found', 'mfa_already_enabled'] },
      schema: {
        tags,
        summary: 'Turn the authenticator app on with a first code',
        description: 'The session gets a new token and counts as MFA-verified. The first factor of an account comes with ten recovery codes, shown once.',
        body: TotpConfirmBody,
        response: { 200: FactorChanged },
      },
      handler: async (request, reply) => {
        const change = await mfa.confirmTotp(requirePrincipal(request), request.body.code, requestMeta(request));
        return changedBody(request, reply, change);
      },
    });

    app.delete('/api/v1/account/mfa/totp', {
      config: { access: 'account' },
      schema: { tags, summary: 'Remove the authenticator app (needs the password, or a code without one)', body: ReauthBody, response: { 200: FactorChanged } },
      handler: async (request, reply) => {
        const change = await mfa.removeTotp(requirePrincipal(request), request.body, requestMeta(request));
        return changedBody(request, reply, change);
      },
    });

    app.post('/api/v1/account/mfa/passkeys/options', {
      config: { access: 'account' },
      schema: { tags, summary: 'Options for registering a passkey (valid 5 minutes, single use)', response: { 200: CreationOptions } },
      handler: async (request) => ({ ...(await mfa.passkeyRegistrationOptions(requirePrincipal(request), requestMeta(request))) }),
    });

    app.post('/api/v1/account/mfa/passkeys', {
      config: { access: 'account', errors: ['passkey_invalid', 'challenge_expired', 'mfa_already_enabled'] },
      schema: {
        tags,
        summary: 'Register a passkey with the authenticator’s answer to the options',
        description: 'User verification is required. The session gets a new token and counts as MFA-verified.',
        body: PasskeyRegisterBody,
        response: { 201: PasskeyAdded },
      },
      handler: async (request, reply) => {
        const { passkey, ...change } = await mfa.registerPasskey(requirePrincipal(request), request.body.response, request.body.name, requestMeta(request));
        return reply.status(201).send({ ...(await changedBody(request, reply, change)), passkey });
      },
    });

    app.get('/api/v1/account/mfa/passkeys', {
      config: { access: 'account' },
      schema: { tags, summary: 'My passkeys', response: { 200: z.object({ data: z.array(PasskeyItem) }) } },
      handler: async (request) => ({ data: await mfa.listPasskeys(requirePrincipal(request)) }),
    });

    app.patch('/api/v1/account/mfa/passkeys/:passkeyId', {
      config: { access: 'account' },
      schema: { tags, summary: 'Rename a passkey', params: PasskeyParams, body: PasskeyRenameBody, response: { 200: PasskeyItem } },
      handler: async (request) => mfa.renamePasskey(requirePrincipal(request), request.params.passkeyId, request.body.name, requestMeta(request)),
    });

    app.delete('/api/v1/account/mfa/passkeys/:passkeyId', {
      config: { access: 'account' },
      schema: { tags, summary: 'Remove a passkey (needs the password, or a code without one)', params: PasskeyParams, body: ReauthBody, response: { 200: FactorChanged } },
      handler: async (request, reply) => {
        const change = await mfa.removePasskey(requirePrincipal(request), request.params.passkeyId, request.body, requestMeta(request));
        return changedBody(request, reply, change);
      },
    });

    app.post('/api/v1/account/mfa/recovery-codes', {
      config: { access: 'account' },
      schema: {
        tags,
        summary: 'Ten new recovery codes (shown once); the old ones stop working',
        body: ReauthBody,
        response: { 200: RecoveryCodesResponse },
      },
      handler: async (request) => ({ recoveryCodes: await mfa.regenerateRecoveryCodes(requirePrincipal(request), request.body, requestMeta(request)) }),
    });

    // --- the second step of sign-in ----------------------------------------------------------------

    app.post('/api/v1/auth/mfa/verify', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Finish a sign-in with an authenticator code or a recovery code',
        description: 'Each code works once. After 5 wrong answers the pending sign-in is void (`challenge_expired`).',
        body: VerifyBody,
        response: { 200: SignInResponse },
      },
      handler: async (request, reply) => {
        const { mfaToken, factor, code } = request.body;
        const issued = await mfa.verifyCode(mfaToken, factor, code, requestMeta(request));
        return signInBody(accounts, request, reply, { status: 'signed_in', issued });
      },
    });

    app.post('/api/v1/auth/mfa/passkey/options', {
      config: { access: 'public' },
      schema: { tags, summary: 'Options for finishing a sign-in with one of the account’s passkeys', body: MfaTokenBody, response: { 200: RequestOptions } },
      handler: async (request) => ({ ...(await mfa.passkeySignInOptions(request.body.mfaToken, requestMeta(request))) }),
    });

    app.post('/api/v1/auth/mfa/passkey', {
      config: { access: 'public' },
      schema: { tags, summary: 'Finish a sign-in with a passkey', body: PasskeyAssertionBody, response: { 200: SignInResponse } },
      handler: async (request, reply) => {
        const issued = await mfa.verifyPasskey(request.body.mfaToken, request.body.response, requestMeta(request));
        return signInBody(accounts, request, reply, { status: 'signed_in', issued });
      },
    });

    app.post('/api/v1/auth/passkey/options', {
      config: { access: 'public' },
      schema: { tags, summary: 'Options for signing in with a passkey alone (valid 5 minutes, single use)', response: { 200: PasswordlessOptions } },
      handler: async (request) => {
        const { challengeId, options } = await mfa.passwordlessOptions(requestMeta(request));
        return { challengeId, options: { ...options } };
      },
    });

    app.post('/api/v1/auth/passkey', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Sign in with a passkey alone (session cookie)',
        description: 'A discoverable passkey with user verification counts as both factors.',
        body: PasswordlessBody,
        response: { 200: SignInResponse },
      },
      handler: async (request, reply) => {
        const issued = await mfa.passwordlessSignIn(request.body.challengeId, request.body.response, requestMeta(request));
        return signInBody(accounts, request, reply, { status: 'signed_in', issued });
      },
    });
  };
}
