/**
 * Sign-in with an OpenID Connect provider ("Sign in with Google", or any provider): the
 * authorization code flow with PKCE (S256), state and nonce, through `openid-client`.
 *
 * - A flow is a database row found by the SHA-256 of a random value held only in the starting
 *   browser's `__Host-` cookie: a callback in any other browser, without the cookie, with a
 *   different or missing `state`, late, or a second time, fails.
 * - openid-client checks the authorization response (state, `iss`), exchanges the code with the
 *   PKCE verifier, and validates the ID token: signature against the provider's JWKS (enabled
 *   here with `enableNonRepudiationChecks`; `none` and HMAC refused), `iss`, `aud` (and `azp`),
 *   `exp`, `iat` and `sub` present, and the `nonce`. Rampart adds: `iat` at most five minutes
 *   old (plus the clock tolerance) and not in the future, no audience but the client and the
 *   configured trusted ones, `azp` (when present) the client, a bounded `sub`, and a usable
 *   email for a new account. See docs/decisions/0008-oidc-sign-in.md.
 * - Accounts are keyed on (issuer, subject). An unknown identity whose email belongs to an
 *   existing account is never signed in to it: if the provider says the email is verified, it
 *   gets a link offer that the account's owner accepts while signed in by their own means, in
 *   the same browser; otherwise it is refused.
 * - Every sign-in ends in `accounts.beginSignInIn`, so an account with a second factor is asked
 *   for it.
 */
import type * as Client from 'openid-client';

/** openid-client is loaded on first use: an instance without a provider never pays for it. */
const loadClient = () => import('openid-client');
import { isLoopback, publicUrl, type Config } from '../../config.js';
import { RampartError, type ErrorCode } from '../../platform/errors.js';
import type { Database, Tx } from '../../platform/db/types.js';
import type { Principal, RequestMeta } from '../../platform/http/context.js';
import type { Throttle } from '../../platform/http/throttle.js';
import { newBindingValue } from '../../platform/http/cookies.js';
import { newId, randomToken, safeEqual, sha256 } from '../../platform/ids.js';
import type { AccountsService, SignInResult } from '../accounts/index.js';
import type { AuthEvents } from '../events/index.js';
import type { IdentityView } from './schemas.js';
import * as store from './store.js';

export const CALLBACK_PATH = '/api/v1/auth/oidc/callback';
export const FLOW_TTL_SECONDS = 10 * 60;
export const OFFER_TTL_SECONDS = 15 * 60;
/** An ID token issued longer ago than this (plus the clock tolerance) is refused. */
export const MAX_ID_TOKEN_AGE_SECONDS = 5 * 60;
/** Clock tolerance for every time check on the ID token (openid-client's default, made explicit). */
export const CLOCK_TOLERANCE_SECONDS = 30;
const SCOPE = 'openid email profile';
const OFFER_TOKEN_PREFIX = 'rlo';
/** After a failed discovery, callers get the failure again for this long before a new attempt. */
const DISCOVERY_RETRY_MS = 10_000;
const DISCOVERY_TIMEOUT_SECONDS = 10;

export type FlowPurpose = store.FlowPurpose;

export interface OidcDeps {
  readonly db: Database;
  readonly config: Config;
  readonly accounts: AccountsService;
  readonly events: AuthEvents;
  /** Per-IP limits on starting flows and on callbacks (the auth endpoints' `ip` rule); none if absent. */
  readonly throttle?: Throttle;
}

/** A started flow: where to send the browser, and the value for its binding cookie. */
export interface StartedFlow {
  readonly url: string;
  readonly binding: string;
}

/** How a callback ended. Failures carry a public code and an internal reason for the log. */
export type CallbackOutcome =
  | { readonly kind: 'signed_in'; readonly result: SignInResult }
  | { readonly kind: 'link_offer'; readonly token: string; readonly binding: string }
  | { readonly kind: 'linked'; readonly accountId: string }
  | {
      readonly kind: 'failed';
      readonly purpose: FlowPurpose;
      readonly code: ErrorCode;
      /** A short, stable word (also in the event's details). */
      readonly reason: string;
      /** For the log only: never a token or a code. */
      readonly detail: string;
      /** An unexpected error behind an `internal` failure, for the log. */
      readonly error?: unknown;
    };

/** The facts Rampart takes from a validated ID token. */
interface ProviderIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  readonly emailVerified: boolean;
  readonly name: string;
}

/** A refusal inside the callback: `reason` is a short, stable word for events; `detail` is for the log. */
class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    readonly detail: string = reason,
  ) {
    super(detail);
  }
}

/** What an openid-client or oauth4webapi error may say safely: never its cause (it can hold tokens). */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 200);
  const e = err as Error & { code?: unknown; error?: unknown };
  const parts = [e.name];
  if (typeof e.code === 'string') parts.push(e.code);
  if (typeof e.error === 'string') parts.push(`error=${e.error.slice(0, 64)}`);
  parts.push(e.message.slice(0, 300));
  // openid-client wraps the specific failure; its message is a fixed text, its own cause is not logged.
  if (e.cause instanceof Error && e.cause.message !== e.message) parts.push(`(${e.cause.message.slice(0, 300)})`);
  return parts.join(': ');
}

/** A provider email usable as an account's email: one address, lowercased, within bounds. */
function normalizeEmail(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const email = value.trim().toLowerCase();
  if (email.length < 3 || email.length > 254) return null;
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) return null;
  return email;
}

function nameOf(claims: Record<string, unknown>): string {
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const full = str(claims['name']) || [str(claims['given_name']), str(claims['family_name'])].filter(Boolean).join(' ');
  return full.slice(0, 200);
}

export function identityView(row: store.IdentityRow): IdentityView {
  return {
    id: row.id,
    issuer: row.issuer,
    subject: row.subject,
    email: row.email,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

export class OidcService {
  private readonly db: Database;
  private readonly config: Config;
  private readonly accounts: AccountsService;
  private readonly events: AuthEvents;
  private readonly throttle: Throttle | null;
  private discovered: Promise<Client.Configuration> | null = null;
  private discoveryFailedAt = 0;
  private discoveryFailure: RampartError | null = null;

  constructor(deps: OidcDeps) {
    this.db = deps.db;
    this.config = deps.config;
    this.accounts = deps.accounts;
    this.events = deps.events;
    this.throttle = deps.throttle ?? null;
  }

  private async throttleIp(meta: RequestMeta): Promise<void> {
    await this.throttle?.hitIp(meta.ip);
  }

  /** Whether a provider is configured (issuer, client id and secret). */
  enabled(): boolean {
    return Boolean(this.config.oidcIssuer && this.config.oidcClientId && this.config.oidcClientSecret);
  }

  get displayName(): string {
    return this.config.oidcDisplayName;
  }

  /** The redirect URI registered at the provider. */
  redirectUri(): string {
    return `${publicUrl(this.config)}${CALLBACK_PATH}`;
  }

  /**
   * The provider's configuration, discovered once and cached. openid-client refuses a discovery
   * document whose `issuer` is not the configured issuer. Plain HTTP is allowed only for a
   * loopback issuer (tests, local development). A failure is `sign_in_failed` (its reason in
   * `internal`, for the log) and is retried after a short pause.
   */
  async configuration(): Promise<Client.Configuration> {
    if (!this.enabled()) throw new RampartError('provider_not_configured');
    if (this.discoveryFailure && Date.now() - this.discoveryFailedAt < DISCOVERY_RETRY_MS) throw this.discoveryFailure;
    this.discovered ??= this.discover().catch((err: unknown) => {
      this.discovered = null;
      this.discoveryFailedAt = Date.now();
      // The description only, not the error: its cause chain may carry the provider's responses.
      this.discoveryFailure = new RampartError('sign_in_failed', { internal: `OIDC discovery failed: ${describeError(err)}` });
      throw this.discoveryFailure;
    });
    return this.discovered;
  }

  private async discover(): Promise<Client.Configuration> {
    const client = await loadClient();
    const issuer = new URL(this.config.oidcIssuer as string);
    const insecure = issuer.protocol === 'http:';
    if (insecure && !isLoopback(issuer.hostname)) {
      throw new Error(`the issuer ${issuer.origin} is plain HTTP on a non-loopback host; https is required`);
    }
    const secret = this.config.oidcClientSecret as string;
    const configuration = await client.discovery(
      issuer,
      this.config.oidcClientId as string,
      { client_secret: secret, [client.clockTolerance]: CLOCK_TOLERANCE_SECONDS },
      client.ClientSecretBasic(secret),
      // Deprecated only to stand out: used for loopback issuers alone (tests, local development).
      { execute: insecure ? [client.allowInsecureRequests] : [], timeout: DISCOVERY_TIMEOUT_SECONDS },
    );
    // ID token signatures are checked against the provider's JWKS, not only trusted to TLS.
    client.enableNonRepudiationChecks(configuration);
    this.discoveryFailure = null;
    return configuration;
  }

  // --- starting a flow --------------------------------------------------------------------------

  /** Starts a flow: a single-use row keyed by a fresh browser binding, and the provider's URL. */
  async start(purpose: FlowPurpose, principal: Principal | null, meta: RequestMeta): Promise<StartedFlow> {
    if (purpose === 'link' && !principal) throw new RampartError('unauthenticated');
    await this.throttleIp(meta);
    const client = await loadClient();
    let configuration: Client.Configuration;
    try {
      configuration = await this.configuration();
    } catch (err) {
      if (err instanceof RampartError && err.code === 'sign_in_failed') {
        await this.events.record(
          {
            action: purpose === 'link' ? 'auth.identity_linked' : 'auth.sign_in',
            outcome: 'failure',
            accountId: principal?.accountId ?? null,
            details: { method: 'oidc', reason: 'discovery_failed' },
          },
          meta,
        );
      }
      throw err;
    }
    const binding = newBindingValue();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
    const accountId = purpose === 'link' ? (principal as Principal).accountId : null;
    // A link flow names its account, so only that account's transaction may start one.
    await this.db.withGlobal(async (tx) => {
      if (accountId) await tx.bindAccount(accountId);
      await store.insertFlow(tx, { id: newId(), bindingHash: sha256(binding), state, nonce, codeVerifier, purpose, accountId, ttlSeconds: FLOW_TTL_SECONDS });
      await this.events.recordIn(tx, { action: 'auth.oidc_started', outcome: 'success', accountId, details: { method: 'oidc', purpose } }, meta);
    });
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri(),
      response_type: 'code',
      scope: SCOPE,
      state,
      nonce,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    });
    return { url: url.href, binding };
  }

  // --- the callback -----------------------------------------------------------------------------

  /**
   * Completes a flow from the provider's redirect. `binding` is the browser's cookie value;
   * `rawQuery` the callback's query string as received. Never throws for a refused sign-in:
   * the outcome says what to do, and the failure is already recorded as an event.
   */
  async callback(binding: string | null, rawQuery: string, meta: RequestMeta): Promise<CallbackOutcome> {
    let flow: store.FlowRow | null = null;
    try {
      if (!this.enabled()) throw new Refusal('provider_not_configured', 'not_configured');
      await this.throttleIp(meta);
      if (!binding) throw new Refusal('sign_in_failed', 'no_flow_cookie', 'callback without the flow cookie');
      const bindingHash = sha256(binding);
      flow = await this.db.withGlobal((tx) => store.claimFlow(tx, bindingHash));
      if (!flow) throw new Refusal('sign_in_failed', 'no_live_flow', 'no live flow for this cookie (unknown, used or expired)');

      const params = new URLSearchParams(rawQuery);
      const state = params.get('state');
      if (state === null) throw new Refusal('sign_in_failed', 'state_missing', 'callback without state');
      if (!safeEqual(state, flow.state)) throw new Refusal('sign_in_failed', 'state_mismatch', 'callback state differs from the flow state');

      const identity = await this.exchange(flow, rawQuery);
      if (flow.purpose === 'link') return await this.linkToFlowAccount(flow, identity, meta);
      return await this.signIn(identity, meta);
    } catch (err) {
      const refusal =
        err instanceof Refusal
          ? err
          : err instanceof RampartError && err.expose
            ? new Refusal(err.code, err.code, err.internal ?? err.message)
            : new Refusal('sign_in_failed', 'internal', err instanceof RampartError ? (err.internal ?? err.message) : describeError(err));
      const purpose = flow?.purpose ?? 'sign_in';
      // A flood of callbacks is not a flood of events: throttled ones are only logged.
      if (refusal.code !== 'rate_limited') {
        await this.events.record(
          {
            action: purpose === 'link' ? 'auth.identity_linked' : 'auth.sign_in',
            outcome: 'failure',
            accountId: flow?.account_id ?? null,
            details: { method: 'oidc', reason: refusal.reason },
          },
          meta,
        );
      }
      return {
        kind: 'failed',
        purpose,
        code: refusal.code,
        reason: refusal.reason,
        detail: refusal.detail,
        ...(refusal.reason === 'internal' ? { error: err } : {}),
      };
    }
  }

  /** The code exchange and ID token validation (openid-client), then Rampart's own checks. */
  private async exchange(flow: store.FlowRow, rawQuery: string): Promise<ProviderIdentity> {
    const client = await loadClient();
    let configuration: Client.Configuration;
    try {
      configuration = await this.configuration();
    } catch (err) {
      throw new Refusal('sign_in_failed', 'discovery_failed', err instanceof RampartError ? (err.internal ?? err.message) : describeError(err));
    }
    const currentUrl = new URL(this.redirectUri());
    currentUrl.search = rawQuery;
    let tokens: Awaited<ReturnType<typeof Client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        pkceCodeVerifier: flow.code_verifier,
        idTokenExpected: true,
      });
    } catch (err) {
      const providerError = err instanceof client.AuthorizationResponseError;
      throw new Refusal('sign_in_failed', providerError ? 'provider_error' : 'token_rejected', describeError(err));
    }
    const claims = tokens.claims();
    if (!claims) throw new Refusal('sign_in_failed', 'token_rejected', 'no ID token in the token response');

    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.iat !== 'number' || claims.iat < now - MAX_ID_TOKEN_AGE_SECONDS - CLOCK_TOLERANCE_SECONDS) {
      throw new Refusal('sign_in_failed', 'iat_too_old', `ID token issued ${now - Number(claims.iat)} s ago`);
    }
    if (claims.iat > now + CLOCK_TOLERANCE_SECONDS) throw new Refusal('sign_in_failed', 'iat_in_future', 'ID token issued in the future');
    this.checkAudience(claims);
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255) {
      throw new Refusal('sign_in_failed', 'sub_invalid', 'ID token without a usable sub');
    }
    const issuer = configuration.serverMetadata().issuer;
    if (claims.iss !== issuer) throw new Refusal('sign_in_failed', 'token_rejected', 'ID token iss differs from the discovered issuer');
    // Providers that keep the ID token minimal (as OIDC Core suggests for the code flow) give the
    // email through the UserInfo endpoint; openid-client checks that its `sub` is the token's.
    let profile: Record<string, unknown> = claims;
    if (claims['email'] === undefined && configuration.serverMetadata().userinfo_endpoint) {
      try {
        profile = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
      } catch (err) {
        throw new Refusal('sign_in_failed', 'userinfo_failed', describeError(err));
      }
    }
    return {
      issuer,
      subject: claims.sub,
      email: normalizeEmail(profile['email']),
      emailVerified: profile['email_verified'] === true,
      name: nameOf(profile),
    };
  }

  /**
   * OIDC Core 3.1.3.7: refuse an ID token that names an audience the client does not trust, and
   * one whose `azp` is another client. openid-client checks that `aud` includes the client id and,
   * when there are several audiences, that `azp` is present and the client; it accepts any other
   * audience beside it, and any `azp` beside a single audience.
   */
  private checkAudience(claims: { aud: string | string[]; azp?: unknown }): void {
    const clientId = this.config.oidcClientId as string;
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const untrusted = audiences.filter((a) => a !== clientId && !this.config.oidcTrustedAudiences.includes(a));
    if (untrusted.length > 0) {
      throw new Refusal('sign_in_failed', 'untrusted_audience', `ID token also names ${untrusted.map((a) => JSON.stringify(String(a).slice(0, 100))).join(', ')} (oidcTrustedAudiences)`);
    }
    if (claims.azp !== undefined && claims.azp !== clientId) throw new Refusal('sign_in_failed', 'azp_mismatch', 'ID token azp names another client');
  }

  /** A sign-in flow: the linked account, a new account, or a link offer for an existing one. */
  private async signIn(identity: ProviderIdentity, meta: RequestMeta): Promise<CallbackOutcome> {
    const known = await this.db.withGlobal(async (tx) => {
      const row = await store.touchIdentity(tx, identity.issuer, identity.subject, identity.email);
      if (!row) return null;
      return this.accounts.beginSignInIn(tx, row.account_id, 'oidc', 'cookie', meta);
    });
    if (known) return { kind: 'signed_in', result: known };

    if (!identity.email) throw new Refusal('sign_in_failed', 'email_missing', 'new identity without a usable email');
    const existing = await this.accounts.accountByEmail(identity.email);
    if (existing) return this.offerLink(existing.id, identity, meta);
    // A new account takes its address from the provider only if the provider vouches for it:
    // otherwise the address's real owner could later reset their way in while this identity
    // stays linked to the account.
    if (!identity.emailVerified) throw new Refusal('sign_in_failed', 'email_unverified', 'new identity whose email the provider does not vouch for');

    const result = await this.db.withGlobal(async (tx) => {
      const account = await this.accounts.createExternalAccountIn(tx, { email: identity.email as string, name: identity.name, emailVerified: true });
      // Taken between the lookup and now: refuse rather than guess (a retry takes the offer path).
      if (!account) throw new Refusal('sign_in_failed', 'email_taken', 'email taken while signing up');
      const { row } = await this.linkIn(tx, account.id, identity, true);
      // One event for the request: the sign-in, saying the account and its link were made here.
      return this.accounts.beginSignInIn(tx, account.id, 'oidc', 'cookie', meta, { accountCreated: true, issuer: identity.issuer, identityId: row.id });
    });
    return { kind: 'signed_in', result };
  }

  /**
   * An unknown identity whose email belongs to an account. Linking needs the provider to vouch
   * for the email and the account's owner to accept while signed in; without the first there is
   * nothing to offer.
   */
  private async offerLink(accountId: string, identity: ProviderIdentity, meta: RequestMeta): Promise<CallbackOutcome> {
    if (!identity.emailVerified) {
      throw new Refusal('sign_in_failed', 'email_unverified', 'email of an existing account, not verified by the provider');
    }
    const token = randomToken(OFFER_TOKEN_PREFIX);
    const binding = newBindingValue();
    await this.db.withAccount(accountId, async (tx) => {
      await store.insertOffer(tx, {
        id: newId(),
        tokenHash: sha256(token),
        bindingHash: sha256(binding),
        accountId,
        issuer: identity.issuer,
        subject: identity.subject,
        email: identity.email as string,
        ttlSeconds: OFFER_TTL_SECONDS,
      });
      await this.events.recordIn(tx, { action: 'auth.identity_link_offered', outcome: 'success', accountId, details: { method: 'oidc', issuer: identity.issuer } }, meta);
    });
    return { kind: 'link_offer', token, binding };
  }

  /** A link flow, started by a signed-in account: links the identity to that account. */
  private async linkToFlowAccount(flow: store.FlowRow, identity: ProviderIdentity, meta: RequestMeta): Promise<CallbackOutcome> {
    const accountId = flow.account_id as string;
    await this.db.withAccount(accountId, (tx) => this.linkAndRecordIn(tx, accountId, identity, meta));
    return { kind: 'linked', accountId };
  }

  /**
   * Links (issuer, subject) to the account in `tx`; `created` is false when it already was
   * linked to this account (nothing to do). Linked to another: `identity_in_use`.
   */
  private async linkIn(tx: Tx, accountId: string, identity: ProviderIdentity, used: boolean): Promise<{ row: store.IdentityRow; created: boolean }> {
    const row = await store.insertIdentity(tx, { id: newId(), accountId, issuer: identity.issuer, subject: identity.subject, email: identity.email, used });
    if (row) return { row, created: true };
    const existing = await store.identityBySubject(tx, identity.issuer, identity.subject);
    if (existing?.account_id === accountId) return { row: existing, created: false };
    throw new Refusal('identity_in_use', 'identity_in_use', 'identity linked to another account');
  }

  /** `linkIn`, recorded as the request's one event (also when the identity was already linked). */
  private async linkAndRecordIn(tx: Tx, accountId: string, identity: ProviderIdentity, meta: RequestMeta): Promise<store.IdentityRow> {
    const { row, created } = await this.linkIn(tx, accountId, identity, false);
    const details = { method: 'oidc', issuer: identity.issuer, identityId: row.id, ...(created ? {} : { alreadyLinked: true }) };
    await this.events.recordIn(tx, { action: 'auth.identity_linked', outcome: 'success', accountId, details }, meta);
    return row;
  }

  // --- link offers ------------------------------------------------------------------------------

  /**
   * Accepts a link offer: the signed-in account must be the offer's account, and the request
   * must come from the browser that signed in at the provider (its binding cookie).
   */
  async acceptLink(principal: Principal, token: string, binding: string | null, meta: RequestMeta): Promise<IdentityView> {
    try {
      return await this.db.withAccount(principal.accountId, async (tx) => {
        const offer = await store.claimOffer(tx, sha256(token));
        if (!offer) throw new RampartError('invalid_link', { internal: 'link offer unknown, used or expired' });
        if (binding === null || !sha256(binding).equals(offer.binding_hash)) {
          throw new RampartError('link_other_browser', { internal: 'link offer accepted without its binding cookie' });
        }
        if (offer.account_id !== principal.accountId) {
          throw new RampartError('forbidden', { message: 'Sign in to the account this identity is offered to.', internal: 'link offer for another account' });
        }
        const identity: ProviderIdentity = { issuer: offer.issuer, subject: offer.subject, email: offer.email, emailVerified: true, name: '' };
        try {
          return identityView(await this.linkAndRecordIn(tx, principal.accountId, identity, meta));
        } catch (err) {
          if (err instanceof Refusal) throw new RampartError(err.code, { internal: err.detail });
          throw err;
        }
      });
    } catch (err) {
      if (err instanceof RampartError && err.expose) {
        await this.events.record(
          { action: 'auth.identity_linked', outcome: 'failure', accountId: principal.accountId, details: { method: 'oidc', reason: err.code } },
          meta,
        );
        // This is the refusal's one event (a 403 here records no `access.denied` besides).
        err.recorded = true;
      }
      throw err;
    }
  }

  // --- linked identities ------------------------------------------------------------------------

  async listIdentities(principal: Principal): Promise<IdentityView[]> {
    const rows = await this.db.withAccount(principal.accountId, (tx) => store.identitiesOf(tx, principal.accountId), { readOnly: true });
    return rows.map(identityView);
  }

  /** Unlinks an identity; refused when it is the account's last way in and it has no password. */
  async unlink(principal: Principal, identityId: string, meta: RequestMeta): Promise<void> {
    const hasPassword = await this.accounts.hasPassword(principal.accountId);
    await this.db.withAccount(principal.accountId, async (tx) => {
      const identities = await store.lockIdentitiesOf(tx, principal.accountId);
      if (!identities.some((i) => i.id === identityId)) throw new RampartError('not_found');
      if (!hasPassword && identities.length === 1) {
        throw new RampartError('conflict', { message: 'This is the only way to sign in to this account; set a password before unlinking it.' });
      }
      const removed = await store.deleteIdentity(tx, principal.accountId, identityId);
      if (!removed) throw new RampartError('not_found');
      await this.events.recordIn(
        tx,
        { action: 'auth.identity_unlinked', outcome: 'success', accountId: principal.accountId, details: { method: 'oidc', issuer: removed.issuer, identityId } },
        meta,
      );
    });
  }
}
