/**
 * Accounts and sessions.
 *
 * Every way in — password, email link, OpenID Connect, the setup link — ends in `beginSignIn`,
 * the one gate that asks for a second factor when the account has one. Only a verified second
 * factor (`completeMfa`) turns a pending sign-in into a session, so no path skips MFA.
 *
 * Sessions are opaque tokens stored as SHA-256 digests, with an absolute lifetime and an idle
 * timeout; cookie sessions get a new token on every privilege change. Requests that could reveal
 * whether an email has an account (sign-up, email links, reset) answer at once with the same
 * body and do their work afterwards, so neither the body nor the timing tells.
 */
import type { BackgroundWork } from '../../platform/background.js';
import { RampartError } from '../../platform/errors.js';
import { isUniqueViolation, type Database, type Tx } from '../../platform/db/types.js';
import type { Principal, RequestMeta } from '../../platform/http/context.js';
import { throttleKey, type Throttle } from '../../platform/http/throttle.js';
import { cleanDisplayName } from '../../platform/http/schemas.js';
import { deriveKey, hmacSha256, newId, randomToken, sha256 } from '../../platform/ids.js';
import type { Mailer, MailMessage } from '../../platform/mail/index.js';
import type { AuthEvent, AuthEvents } from '../events/index.js';
import { assertPasswordPolicy, Passwords, type PasswordParams } from './passwords.js';
import type { AccountSummary, AccountView, SessionView } from './schemas.js';
import { describeDevice, describePlace } from './devices.js';
import * as store from './store.js';

export interface AccountsConfig extends PasswordParams {
  readonly rootSecret: string;
  readonly sessionTtlSeconds: number;
  readonly sessionIdleSeconds: number;
  readonly signup: 'open' | 'closed';
}

export interface AccountsDeps {
  readonly mailer: Mailer;
  readonly events: AuthEvents;
  readonly throttle: Throttle;
  /** An absolute URL of this instance for a console path (links in email). */
  readonly link: (pathAndFragment: string) => string;
  /** Where failures of background work are reported. */
  /** Where work after the response runs (decision 0010). */
  readonly background: BackgroundWork;
}

export type SecondFactor = 'totp' | 'webauthn' | 'recovery_code';
export type SessionKind = store.SessionKind;
export type AuthMethod = store.AuthMethod;

/** What the MFA module tells the gate: which second factors an account has (none: no MFA). */
export interface MfaProvider {
  factors(tx: Tx, accountId: string): Promise<SecondFactor[]>;
}

export interface IssuedSession {
  readonly account: AccountView;
  readonly sessionId: string;
  readonly token: string;
  readonly kind: SessionKind;
  readonly expiresAt: Date;
  readonly mfa: boolean;
}

export type SignInResult =
  | { readonly status: 'signed_in'; readonly issued: IssuedSession }
  | {
      readonly status: 'mfa_required';
      readonly accountId: string;
      readonly mfaToken: string;
      readonly factors: SecondFactor[];
      readonly kind: SessionKind;
      readonly expiresAt: Date;
    };

/** A sign-in waiting for its second factor. */
export interface PendingSignIn {
  readonly id: string;
  readonly accountId: string;
  readonly kind: SessionKind;
  readonly method: 'password' | 'email_link' | 'oidc' | 'saml';
  readonly ssoWorkspaceId: string | null;
}

/** Which workspace verified an email's domain, and whether it enforces SSO (the domains module answers). */
export type SsoPolicyLookup = (tx: Tx, email: string) => Promise<{ workspaceId: string; enforced: boolean } | null>;

const SETUP_TOKEN_TTL_SECONDS = 24 * 3600;
export const EMAIL_LINK_TTL_SECONDS = 15 * 60;
const PENDING_TTL_SECONDS = 5 * 60;
/** How recent a sign-in must be to add a factor. */
export const RECENT_SIGN_IN_SECONDS = 15 * 60;
/** Wrong second-factor answers one pending sign-in survives. */
export const PENDING_MAX_FAILURES = 5;
/** The idle clock of a session moves at most this often (a write per request would cost). */
const TOUCH_SLACK_SECONDS = 60;
const SESSION_TOKEN_PREFIX = 'rs';
const SETUP_TOKEN_PREFIX = 'rsu';
const EMAIL_TOKEN_PREFIX = 'rel';
const PENDING_TOKEN_PREFIX = 'rmf';

export function accountView(row: store.AccountRow): AccountSummary {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    emailVerified: row.email_verified_at !== null,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * The account as its own answers carry it: with the address of its pending email change (the same
 * whether or not another account holds it), read with the row (`store.ownAccountById`, and what
 * setName, setEmail and insertSession return).
 */
function ownAccountView(row: store.OwnAccountRow): AccountView {
  return { ...accountView(row), pendingEmail: row.pending_email };
}

/** What an event says about a sign-in the gate let through: the session, or the second factor asked for. */
export function signInFacts(method: AuthMethod, result: SignInResult): Record<string, string | boolean> {
  return result.status === 'signed_in' ? { method, sessionId: result.issued.sessionId } : { method, mfaRequired: true };
}

/** What a sign-in link was asked for from: the SHA-256 of the asking browser's binding cookie. */
export type Binding = Buffer | null;

export class AccountsService {
  readonly passwords: Passwords;
  private readonly csrfKey: Buffer;
  private mfa: MfaProvider = { factors: async () => [] };
  private ssoPolicy: SsoPolicyLookup = async () => null;
  private setupComplete = false;

  constructor(
    private readonly db: Database,
    private readonly config: AccountsConfig,
    private readonly deps: AccountsDeps,
  ) {
    this.csrfKey = deriveKey(config.rootSecret, 'csrf/v1');
    this.passwords = new Passwords(config);
  }

  /** The MFA module registers itself here; until then no account has a second factor. */
  /** Who enforces SSO for an email's domain; every way in asks before it signs anyone in. */
  setSsoPolicy(lookup: SsoPolicyLookup): void {
    this.ssoPolicy = lookup;
  }

  /**
   * Refuses a sign-in (`sso_required`) when the email's domain is verified by a workspace that
   * enforces SSO, unless this is SAML sign-in through that very workspace.
   */
  private async assertMethodAllowedIn(tx: Tx, email: string, method: AuthMethod, ssoWorkspaceId: string | null): Promise<void> {
    if (method === 'setup') return;
    const policy = await this.ssoPolicy(tx, email);
    if (!policy?.enforced) return;
    if (method === 'saml' && ssoWorkspaceId === policy.workspaceId) return;
    throw new RampartError('sso_required', { details: { workspaceId: policy.workspaceId } });
  }

  /** The same refusal before any credential is checked, recorded as the attempt's one event. */
  private async refuseIfSsoRequired(email: string, action: string, meta: RequestMeta): Promise<void> {
    const policy = await this.db.withGlobal((tx) => this.ssoPolicy(tx, email), { readOnly: true });
    if (!policy?.enforced) return;
    await this.deps.events.record({ action, outcome: 'denied', email, details: { reason: 'sso_required', workspaceId: policy.workspaceId } }, meta);
    throw new RampartError('sso_required', { recorded: true, details: { workspaceId: policy.workspaceId } });
  }

  setMfaProvider(provider: MfaProvider): void {
    this.mfa = provider;
  }

  get idleSeconds(): number {
    return this.config.sessionIdleSeconds;
  }

  // --- background work --------------------------------------------------------------------------

  private defer(work: () => Promise<void>): void {
    this.deps.background.run(work);
  }

  /** Resolves when the work deferred so far has finished (tests, shutdown). */
  settle(): Promise<void> {
    return this.deps.background.settle();
  }

  // --- sign-up and email verification --------------------------------------------------------------

  /**
   * Sign-up. The first account (with the setup token) is created and signed in at once. Anyone
   * else gets `verification_sent` whatever the email: a new address receives a verification
   * link, a taken one a note that it already has an account.
   */
  async signUp(
    input: { email: string; password: string; name: string; setupToken?: string | undefined },
    kind: SessionKind,
    meta: RequestMeta,
    binding: Binding,
  ): Promise<{ status: 'signed_in'; issued: IssuedSession } | { status: 'verification_sent' }> {
    await this.deps.throttle.hitIp(meta.ip);
    await assertPasswordPolicy(input.password, input.email);
    if (!(await this.setupDone())) return this.signUpFirst(input, kind, meta);
    if (this.config.signup === 'closed') throw new RampartError('signup_closed');
    await this.deps.throttle.hit('email_link', throttleKey('email', input.email));
    this.defer(async () => {
      const passwordHash = await this.passwords.hash(input.password);
      await this.db.withGlobal(async (tx) => {
        const account = await this.insertAccountIn(tx, { email: input.email, name: input.name, passwordHash, emailVerified: false });
        if (account) {
          await this.sendEmailLink(tx, account, 'verify_email', binding);
          await this.deps.events.recordIn(tx, { action: 'auth.sign_up', outcome: 'success', accountId: account.id }, meta);
          return;
        }
        const existing = await store.accountByEmail(tx, input.email);
        if (!existing) return;
        await this.deps.mailer.enqueue(tx, {
          template: 'signup_existing',
          to: existing.email,
          data: { name: existing.name, signInLink: this.deps.link('/sign-in'), resetLink: this.deps.link('/reset') },
        });
        await this.deps.events.recordIn(tx, { action: 'auth.sign_up', outcome: 'denied', accountId: existing.id, details: { reason: 'email_taken' } }, meta);
      });
    });
    return { status: 'verification_sent' };
  }

  private async signUpFirst(
    input: { email: string; password: string; name: string; setupToken?: string | undefined },
    kind: SessionKind,
    meta: RequestMeta,
  ): Promise<{ status: 'signed_in'; issued: IssuedSession }> {
    const passwordHash = await this.passwords.hash(input.password);
    const result = await this.db.withGlobal(async (tx) => {
      const token = input.setupToken;
      if (!token || !(await store.consumeSetupToken(tx, sha256(token)))) {
        throw new RampartError('setup_token_invalid', { message: 'The first account needs the one-time setup link printed when Rampart started.' });
      }
      // The operator's own account, made with the setup link printed on the server: counted as
      // verified, so an instance without SMTP yet is not locked out after the first session ends.
      const account = await this.insertAccountIn(tx, { email: input.email, name: input.name, passwordHash, emailVerified: true });
      if (!account) throw new RampartError('conflict');
      await this.deps.events.recordIn(tx, { action: 'auth.sign_up', outcome: 'success', accountId: account.id, details: { first: true } }, meta);
      return { status: 'signed_in' as const, issued: await this.issue(tx, account, kind, 'setup', false, meta) };
    });
    this.setupComplete = true;
    return result;
  }

  /**
   * Stores a single-use link of `purpose` for the account, for `email` (the address it proves),
   * and returns its URL: the console page of the purpose, the token in the fragment.
   */
  private async newLinkIn(tx: Tx, accountId: string, email: string, purpose: store.EmailPurpose, binding: Binding): Promise<string> {
    const token = randomToken(EMAIL_TOKEN_PREFIX);
    await store.insertEmailToken(tx, {
      id: newId(),
      purpose,
      accountId,
      email,
      tokenHash: sha256(token),
      bindingHash: binding,
      ttlSeconds: EMAIL_LINK_TTL_SECONDS,
    });
    const path = { verify_email: '/verify', magic_link: '/magic', password_reset: '/reset', change_email: '/email-change' }[purpose];
    // The token travels in the fragment: browsers never send it to a server or in a Referer.
    return this.deps.link(`${path}#token=${token}`);
  }

  /** Creates a single-use link of `purpose` for the account and queues its email. */
  private async sendEmailLink(tx: Tx, account: store.AccountRow, purpose: Exclude<store.EmailPurpose, 'change_email'>, binding: Binding): Promise<void> {
    const link = await this.newLinkIn(tx, account.id, account.email, purpose, binding);
    const expiresMinutes = EMAIL_LINK_TTL_SECONDS / 60;
    const message: MailMessage =
      purpose === 'verify_email'
        ? { template: 'verify_email', to: account.email, data: { name: account.name, link, expiresMinutes } }
        : purpose === 'magic_link'
          ? { template: 'magic_link', to: account.email, data: { name: account.name, link, expiresMinutes } }
          : { template: 'password_reset', to: account.email, data: { name: account.name, link, expiresMinutes } };
    await this.deps.mailer.enqueue(tx, message);
  }

  /**
   * Consumes an email link of `purpose` in `tx`: the same `invalid_link` for an unknown, used,
   * expired or superseded token; `link_other_browser` when a browser asked for it and this is
   * not that browser (verification excepted: it verifies from anywhere, and signs in only where
   * it was asked for).
   */
  private async consumeLink(tx: Tx, token: string, purpose: store.EmailPurpose, binding: Binding): Promise<{ accountId: string; sameBrowser: boolean }> {
    const link = await store.consumeEmailToken(tx, sha256(token), purpose, binding);
    if (typeof link === 'string') throw new RampartError(link);
    // The link proved the account: the rest of the transaction acts for it.
    await tx.bindAccount(link.account_id);
    const firstProof = await store.markEmailVerified(tx, link.account_id);
    if (firstProof && purpose === 'magic_link') {
      // The address's owner proves control for the first time by signing in, not by the
      // verification link: whoever signed up with it may not be them (account pre-hijacking).
      // That sign-up's password goes; the owner sets their own.
      await this.dropUnprovenCredentialsIn(tx, link.account_id);
    }
    return { accountId: link.account_id, sameBrowser: link.same_browser };
  }

  /** Whoever set the password or holds a session of an account before its address was proved loses both. */
  private async dropUnprovenCredentialsIn(tx: Tx, accountId: string): Promise<void> {
    await store.clearPassword(tx, accountId);
    await store.revokeSessionsExcept(tx, accountId, null);
  }

  /**
   * Consumes an email link and runs `then` in the same transaction; a refused link is recorded
   * as a failed `action` (in a transaction of its own, since this one rolls back).
   */
  private async withLink<T>(
    token: string,
    purpose: store.EmailPurpose,
    binding: Binding,
    action: string,
    meta: RequestMeta,
    then: (tx: Tx, link: { accountId: string; sameBrowser: boolean }) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.db.withGlobal(async (tx) => then(tx, await this.consumeLink(tx, token, purpose, binding)));
    } catch (err) {
      if (err instanceof RampartError && (err.code === 'invalid_link' || err.code === 'link_other_browser')) {
        await this.deps.events.record({ action, outcome: 'failure', details: { reason: err.code } }, meta);
      }
      throw err;
    }
  }

  /** Verifies the email address; signs in when opened in the browser that signed up. */
  async verifyEmail(token: string, kind: SessionKind, meta: RequestMeta, binding: Binding): Promise<SignInResult | { status: 'verified' }> {
    await this.deps.throttle.hitIp(meta.ip);
    return this.withLink(token, 'verify_email', binding, 'auth.email_verified', meta, async (tx, { accountId, sameBrowser }) => {
      if (!sameBrowser) {
        await this.deps.events.recordIn(tx, { action: 'auth.email_verified', outcome: 'success', accountId }, meta);
        return { status: 'verified' as const };
      }
      // One request, one event: the sign-in that follows is told in this event's details.
      const result = await this.gateIn(tx, accountId, 'email_link', kind, meta);
      await this.deps.events.recordIn(tx, { action: 'auth.email_verified', outcome: 'success', accountId, details: signInFacts('email_link', result) }, meta);
      return result;
    });
  }

  /** Sends a fresh verification link to a signed-in account whose address is not verified. */
  async resendVerification(principal: Principal, meta: RequestMeta, binding: Binding): Promise<void> {
    await this.db.withAccount(principal.accountId, async (tx) => {
      const account = await store.accountById(tx, principal.accountId);
      if (!account) return;
      if (account.email_verified_at) {
        // Nothing to send; the answer is the same, the event says why nothing went out.
        await this.deps.events.recordIn(tx, { action: 'auth.verification_resent', outcome: 'failure', accountId: account.id, details: { reason: 'already_verified' } }, meta);
        return;
      }
      await this.deps.throttle.hit('email_link', throttleKey('email', account.email));
      await this.sendEmailLink(tx, account, 'verify_email', binding);
      await this.deps.events.recordIn(tx, { action: 'auth.verification_resent', outcome: 'success', accountId: account.id }, meta);
    });
  }

  // --- magic links and password reset ------------------------------------------------------------

  /** Asks for a sign-in link. Answers the same whether or not the address has an account. */
  async requestMagicLink(email: string, meta: RequestMeta, binding: Binding): Promise<void> {
    await this.requestLink(email, 'magic_link', meta, binding);
  }

  async requestPasswordReset(email: string, meta: RequestMeta, binding: Binding): Promise<void> {
    await this.requestLink(email, 'password_reset', meta, binding);
  }

  private async requestLink(email: string, purpose: 'magic_link' | 'password_reset', meta: RequestMeta, binding: Binding): Promise<void> {
    await this.deps.throttle.hitIp(meta.ip);
    await this.deps.throttle.hit('email_link', throttleKey('email', email));
    this.defer(() =>
      this.db.withGlobal(async (tx) => {
        const action = purpose === 'magic_link' ? 'auth.magic_link_requested' : 'auth.password_reset_requested';
        // A domain that signs in only with SSO gets no link (the answer was the same; the console
        // asks home-realm discovery first, and a link sent earlier is refused when used).
        const policy = await this.ssoPolicy(tx, email);
        if (policy?.enforced) {
          await this.deps.events.recordIn(tx, { action, outcome: 'denied', email, details: { reason: 'sso_required', workspaceId: policy.workspaceId } }, meta);
          return;
        }
        const account = await store.accountByEmail(tx, email);
        if (!account) {
          await this.deps.events.recordIn(tx, { action, outcome: 'failure', email, details: { reason: 'unknown_email' } }, meta);
          return;
        }
        await tx.bindAccount(account.id);
        await this.sendEmailLink(tx, account, purpose, binding);
        await this.deps.events.recordIn(tx, { action, outcome: 'success', accountId: account.id }, meta);
      }),
    );
  }

  /** Signs in with a magic link (the second factor is still asked for). */
  async consumeMagicLink(token: string, kind: SessionKind, meta: RequestMeta, binding: Binding): Promise<SignInResult> {
    await this.deps.throttle.hitIp(meta.ip);
    return this.withLink(token, 'magic_link', binding, 'auth.sign_in', meta, (tx, { accountId }) => this.beginSignInIn(tx, accountId, 'email_link', kind, meta));
  }

  /** Sets a new password from a reset link: every session ends, then the sign-in gate runs. */
  async resetPassword(token: string, newPassword: string, kind: SessionKind, meta: RequestMeta, binding: Binding): Promise<SignInResult> {
    await this.deps.throttle.hitIp(meta.ip);
    // The policy first (cheap), so a refused password costs no hash; the email rule needs the account.
    await assertPasswordPolicy(newPassword);
    const passwordHash = await this.passwords.hash(newPassword);
    return this.withLink(token, 'password_reset', binding, 'auth.password_reset', meta, async (tx, { accountId }) => {
      const account = await store.accountById(tx, accountId);
      if (!account) throw new RampartError('invalid_link');
      await assertPasswordPolicy(newPassword, account.email);
      await store.setPasswordHash(tx, accountId, passwordHash, true);
      await store.revokeSessionsExcept(tx, accountId, null);
      await this.notifyPasswordChanged(tx, account, meta);
      // One request, one event: the sign-in that follows is told in this event's details.
      const result = await this.gateIn(tx, account, 'email_link', kind, meta);
      await this.deps.events.recordIn(tx, { action: 'auth.password_reset', outcome: 'success', accountId, details: signInFacts('email_link', result) }, meta);
      return result;
    });
  }

  private async notifyPasswordChanged(tx: Tx, account: store.AccountRow, meta: RequestMeta): Promise<void> {
    await this.deps.mailer.enqueue(tx, {
      template: 'password_changed',
      to: account.email,
      data: { name: account.name, when: new Date().toISOString(), ip: meta.ip },
    });
  }

  // --- password sign-in ---------------------------------------------------------------------------

  /**
   * Verifies a password. An unknown email, a wrong password and an account without a password
   * all answer `invalid_credentials` after the same hashing work. Limits run per address and per
   * email string, so unknown emails are limited exactly like real ones.
   */
  async signIn(input: { email: string; password: string }, kind: SessionKind, meta: RequestMeta, binding: Binding = null): Promise<SignInResult> {
    const emailKey = throttleKey('email', input.email);
    await this.deps.throttle.hitIp(meta.ip);
    await this.deps.throttle.hit('account', emailKey);
    await this.deps.throttle.assertNotLocked(emailKey);
    await this.refuseIfSsoRequired(input.email, 'auth.sign_in', meta);
    const found = await this.db.withGlobal((tx) => store.credentialsByEmail(tx, input.email), { readOnly: true });
    const ok = await this.passwords.verify(found?.password_hash, input.password);
    if (!found || !ok) {
      const { lockedNow, lockSeconds } = await this.deps.throttle.recordFailure(emailKey);
      await this.db.withGlobal(async (tx) => {
        // One event per attempt: the failure that locks the account is recorded as the lockout.
        await this.deps.events.recordIn(
          tx,
          lockedNow
            ? { action: 'auth.lockout', outcome: 'denied', accountId: found?.id ?? null, email: input.email, details: { method: 'password', seconds: lockSeconds } }
            : { action: 'auth.sign_in', outcome: 'failure', accountId: found?.id ?? null, email: input.email, details: { method: 'password' } },
          meta,
        );
        if (lockedNow) {
          if (found) {
            await this.deps.mailer.enqueue(tx, {
              template: 'account_locked',
              to: found.email,
              data: { name: found.name, minutes: Math.ceil(lockSeconds / 60), resetLink: this.deps.link('/reset') },
            });
          }
        }
      });
      throw new RampartError('invalid_credentials');
    }
    await this.deps.throttle.recordSuccess(emailKey);
    const hashToStore = found.password_hash && this.passwords.needsRehash(found.password_hash) ? await this.passwords.hash(input.password) : null;
    return this.db.withAccount(found.id, async (tx) => {
      if (hashToStore) await store.setPasswordHash(tx, found.id, hashToStore, false);
      if (!found.email_verified_at) {
        // A fresh verification link, bound to the browser that is signing in.
        await this.sendEmailLink(tx, found, 'verify_email', binding);
        await this.deps.events.recordIn(tx, { action: 'auth.sign_in', outcome: 'denied', accountId: found.id, details: { reason: 'email_not_verified' } }, meta);
        return null;
      }
      return this.beginSignInIn(tx, found, 'password', kind, meta);
    }).then((result) => {
      // Outside the transaction, so the fresh verification link commits with it.
      // The refusal is already recorded (`auth.sign_in`, denied, with its reason).
      if (!result) throw new RampartError('email_not_verified', { message: 'Verify your email address first; we sent a new link.', recorded: true });
      return result;
    });
  }

  /**
   * Re-authentication for sensitive changes, with one read: whether the account has a password,
   * and whether `password` is it (false when none was given).
   */
  async checkPassword(accountId: string, password: string | undefined): Promise<{ hasPassword: boolean; ok: boolean }> {
    const found = await this.db.withAccount(accountId, (tx) => store.ownCredentials(tx), { readOnly: true });
    const hasPassword = Boolean(found?.password_hash);
    if (!hasPassword) return { hasPassword, ok: false };
    return { hasPassword, ok: password !== undefined && (await this.passwords.verify(found?.password_hash, password)) };
  }

  /** Whether the account has a password at all (accounts made through a provider may not). */
  async hasPassword(accountId: string): Promise<boolean> {
    const found = await this.db.withAccount(accountId, (tx) => store.ownCredentials(tx), { readOnly: true });
    return Boolean(found?.password_hash);
  }

  /** Changes the password: the current one is required; every other session ends; this one rotates. */
  async changePassword(principal: Principal, currentPassword: string | undefined, newPassword: string, meta: RequestMeta): Promise<IssuedSession> {
    const found = await this.db.withAccount(principal.accountId, (tx) => store.ownCredentials(tx), { readOnly: true });
    if (!found) throw new RampartError('unauthenticated');
    if (found.password_hash) {
      if (currentPassword === undefined || !(await this.passwords.verify(found.password_hash, currentPassword))) {
        await this.deps.events.record({ action: 'auth.password_changed', outcome: 'failure', accountId: found.id, details: { reason: 'reauthentication' } }, meta);
        throw new RampartError('reauthentication_required');
      }
    }
    await assertPasswordPolicy(newPassword, found.email);
    const passwordHash = await this.passwords.hash(newPassword);
    return this.db.withAccount(principal.accountId, async (tx) => {
      await store.setPasswordHash(tx, found.id, passwordHash, true);
      const ended = await store.revokeSessionsExcept(tx, found.id, principal.sessionId);
      await this.notifyPasswordChanged(tx, found, meta);
      await this.deps.events.recordIn(tx, { action: 'auth.password_changed', outcome: 'success', accountId: found.id, details: { sessionsEnded: ended } }, meta);
      return this.rotateIn(tx, principal, false);
    });
  }

  // --- the profile: name and email address --------------------------------------------------------

  /** Renames the signed-in account (the name others see in workspaces). */
  async updateProfile(principal: Principal, input: { name: string }, meta: RequestMeta): Promise<AccountView> {
    return this.db.withAccount(principal.accountId, async (tx) => {
      const row = await store.setName(tx, principal.accountId, input.name);
      if (!row) throw new RampartError('unauthenticated');
      // The name itself stays out of the chain (personal data in an append-only log).
      await this.deps.events.recordIn(tx, { action: 'auth.name_changed', outcome: 'success', accountId: row.id }, meta);
      return ownAccountView(row);
    });
  }

  /**
   * Asks to move the account to another address. Proof of the session's owner first: the
   * password, or for an account without one a sign-in within the last 15 minutes. Refused when a
   * workspace manages the current address (`email_managed`) or enforces SSO for the new one
   * (`sso_required`). The answer is the same whether or not another account holds the new address,
   * and so is what the requester can observe: the same work happens before the answer in both
   * cases, and the request is kept the same way (voiding the account's earlier one), so the pending change the
   * account reads back (`pendingEmail`) is the same too. A free address gets the link that proves
   * it; a taken one gets a notice to its holder instead, and its token is dropped unsent, so that
   * request can never be confirmed. The current address is told in both cases.
   */
  async requestEmailChange(principal: Principal, input: { email: string; password?: string | undefined }, meta: RequestMeta): Promise<{ pendingEmail: string }> {
    const action = 'auth.email_change_requested';
    await this.deps.throttle.hitIp(meta.ip);
    await this.deps.throttle.hit('account', throttleKey('account', principal.accountId));
    const { account } = await this.describeSession(principal);
    if (input.email === account.email) {
      throw new RampartError('validation_failed', {
        message: 'That is already the address of this account.',
        details: { issues: [{ path: 'body.email', message: 'email is already the address of this account' }] },
      });
    }
    await this.assertOwnerPresent(principal, input.password, action, meta);
    const refusal = await this.db.withGlobal((tx) => this.emailChangeRefusalIn(tx, account.email, input.email), { readOnly: true });
    if (refusal) {
      await this.recordEmailRefusal(action, account.id, refusal, meta);
      throw refusal;
    }
    await this.deps.throttle.hit('email_link', throttleKey('email', input.email));
    const newEmail = input.email;
    // In the request, not after the answer: requests (and a cancel) of one account then take
    // effect in the order they were answered, and the newest is the one live link. A free and a
    // taken address do the same work here; only which message goes out differs.
    await this.db.withAccount(principal.accountId, async (tx) => {
      const own = await store.accountById(tx, principal.accountId);
      if (!own) throw new RampartError('unauthenticated');
      const holder = await store.accountByEmail(tx, newEmail);
      // Stored alike for a free and a taken address (a new request voids the earlier one); only a
      // free one is sent its link.
      const link = await this.newLinkIn(tx, own.id, newEmail, 'change_email', null);
      if (holder) {
        await this.deps.mailer.enqueue(tx, { template: 'email_change_taken', to: holder.email, data: { name: holder.name } });
      } else {
        await this.deps.mailer.enqueue(tx, {
          template: 'email_change_verify',
          to: newEmail,
          data: { name: own.name, newEmail, link, expiresMinutes: EMAIL_LINK_TTL_SECONDS / 60 },
        });
      }
      await this.deps.mailer.enqueue(tx, {
        template: 'email_change_requested',
        to: own.email,
        data: { name: own.name, newEmail, when: new Date().toISOString(), ip: meta.ip },
      });
      await this.deps.events.recordIn(tx, { action, outcome: 'success', accountId: own.id, details: { pendingEmail: newEmail } }, meta);
    });
    return { pendingEmail: newEmail };
  }

  /**
   * Cancels the account's pending email change: its link stops working. Answers the same whether
   * or not a change was pending; the event says which (`pendingEmail`, or the reason nothing was).
   */
  async cancelEmailChange(principal: Principal, meta: RequestMeta): Promise<void> {
    const action = 'auth.email_change_cancelled';
    await this.db.withAccount(principal.accountId, async (tx) => {
      const [pendingEmail] = await store.voidEmailTokens(tx, principal.accountId, 'change_email');
      await this.deps.events.recordIn(
        tx,
        pendingEmail
          ? { action, outcome: 'success', accountId: principal.accountId, details: { pendingEmail } }
          : { action, outcome: 'failure', accountId: principal.accountId, details: { reason: 'nothing_pending' } },
        meta,
      );
    });
  }

  /**
   * Confirms an email change with the token from its link, signed in as the account that asked
   * (another account's token is no token here): the mailbox and the account are both proved. The
   * address changes and counts as verified, every other session of the account ends, the old
   * address is told. Refused as the request was if a workspace manages the address or enforces
   * SSO for the new one by now, and `account_exists` if another account took the new one meanwhile.
   */
  async confirmEmailChange(principal: Principal, token: string, meta: RequestMeta): Promise<AccountView> {
    const action = 'auth.email_changed';
    await this.deps.throttle.hitIp(meta.ip);
    try {
      return await this.db.withAccount(principal.accountId, async (tx) => {
        const newEmail = await store.consumeEmailChange(tx, sha256(token));
        if (!newEmail) throw new RampartError('invalid_link');
        const account = await store.accountById(tx, principal.accountId);
        if (!account) throw new RampartError('unauthenticated');
        const refusal = await this.emailChangeRefusalIn(tx, account.email, newEmail);
        if (refusal) throw refusal;
        if (await store.accountByEmail(tx, newEmail)) throw new RampartError('account_exists');
        const changed = await store.setEmail(tx, account.id, newEmail);
        if (!changed) throw new RampartError('unauthenticated');
        // The address is how the account is recovered: a session begun before it changed ends.
        const ended = await store.revokeSessionsExcept(tx, account.id, principal.sessionId);
        await this.deps.mailer.enqueue(tx, { template: 'email_changed', to: account.email, data: { name: account.name, newEmail, when: new Date().toISOString() } });
        await this.deps.events.recordIn(tx, { action, outcome: 'success', accountId: account.id, details: { from: account.email, to: newEmail, sessionsEnded: ended } }, meta);
        return ownAccountView(changed);
      });
    } catch (err) {
      const refused = isUniqueViolation(err, 'accounts_email_key') ? new RampartError('account_exists', { cause: err }) : err;
      // The transaction rolled back (the link is still unused); the refusal is one event of its own.
      if (refused instanceof RampartError && ['invalid_link', 'account_exists', 'email_managed', 'sso_required'].includes(refused.code)) {
        await this.recordEmailRefusal(action, principal.accountId, refused, meta);
      }
      throw refused;
    }
  }

  /**
   * The person at the keyboard is the account's owner: the password when the account has one
   * (`reauthentication_required` when missing or wrong), else a sign-in within the last 15 minutes.
   * A refusal is the request's one event.
   */
  private async assertOwnerPresent(principal: Principal, password: string | undefined, action: string, meta: RequestMeta): Promise<void> {
    const { hasPassword, ok } = await this.checkPassword(principal.accountId, password);
    try {
      if (hasPassword && !ok) throw new RampartError('reauthentication_required');
      if (!hasPassword) await this.assertRecentSignIn(principal, RECENT_SIGN_IN_SECONDS, 'Sign in again to change your email address.');
    } catch (err) {
      if (err instanceof RampartError && err.code === 'reauthentication_required') {
        await this.deps.events.record({ action, outcome: 'failure', accountId: principal.accountId, details: { reason: 'reauthentication' } }, meta);
      }
      throw err;
    }
  }

  /**
   * Why an email change is not this account's to make, or null: the current address is in a
   * domain a workspace verified, so that workspace's identity provider owns it (`email_managed`),
   * or the new one is in a domain that enforces SSO (`sso_required`: discovery tells anyone as much).
   */
  private async emailChangeRefusalIn(tx: Tx, current: string, wanted: string): Promise<RampartError | null> {
    const managed = await this.ssoPolicy(tx, current);
    if (managed) return new RampartError('email_managed', { details: { workspaceId: managed.workspaceId } });
    const target = await this.ssoPolicy(tx, wanted);
    if (target?.enforced) return new RampartError('sso_required', { details: { workspaceId: target.workspaceId } });
    return null;
  }

  /** Records a refused email-change step as its request's one event (in a transaction of its own). */
  private async recordEmailRefusal(action: string, accountId: string, refusal: RampartError, meta: RequestMeta): Promise<void> {
    await this.deps.events.record({ action, outcome: refusal.status === 403 ? 'denied' : 'failure', accountId, details: { reason: refusal.code } }, meta);
    refusal.recorded = true;
  }

  // --- the sign-in gate ----------------------------------------------------------------------------

  /** The one gate after a first factor: a session, or a pending sign-in if the account has MFA. */
  beginSignIn(accountId: string, method: Exclude<AuthMethod, 'setup' | 'passkey'>, kind: SessionKind, meta: RequestMeta): Promise<SignInResult> {
    return this.db.withAccount(accountId, (tx) => this.beginSignInIn(tx, accountId, method, kind, meta));
  }

  /**
   * The gate in `tx`, recording its outcome as the request's one event: `auth.sign_in` with the
   * new session, or `auth.mfa_challenge`. `details` adds what else the request did (an account
   * created, an identity linked).
   */
  async beginSignInIn(
    tx: Tx,
    accountOrId: string | store.AccountRow,
    method: Exclude<AuthMethod, 'setup' | 'passkey'>,
    kind: SessionKind,
    meta: RequestMeta,
    details: NonNullable<AuthEvent['details']> = {},
  ): Promise<SignInResult> {
    const result = await this.gateIn(tx, accountOrId, method, kind, meta);
    const accountId = result.status === 'signed_in' ? result.issued.account.id : result.accountId;
    const action = result.status === 'signed_in' ? 'auth.sign_in' : 'auth.mfa_challenge';
    await this.deps.events.recordIn(tx, { action, outcome: 'success', accountId, details: { ...details, ...signInFacts(method, result) } }, meta);
    return result;
  }

  /** The gate without an event, for a request whose own event tells the sign-in (`signInFacts`). */
  private async gateIn(
    tx: Tx,
    accountOrId: string | store.AccountRow,
    method: Exclude<AuthMethod, 'setup' | 'passkey'>,
    kind: SessionKind,
    meta: RequestMeta,
    ssoWorkspaceId: string | null = null,
  ): Promise<SignInResult> {
    // The first factor (a password, a link, a provider's or IdP's assertion) named the account.
    await tx.bindAccount(typeof accountOrId === 'string' ? accountOrId : accountOrId.id);
    const account = typeof accountOrId === 'string' ? await store.accountById(tx, accountOrId) : accountOrId;
    if (!account) throw new RampartError('invalid_credentials');
    const accountId = account.id;
    const factors = await this.mfa.factors(tx, accountId);
    // `issue` asks the SSO policy; a pending sign-in is refused before it is made.
    if (factors.length === 0) return { status: 'signed_in', issued: await this.issue(tx, account, kind, method, false, meta, ssoWorkspaceId) };
    await this.assertMethodAllowedIn(tx, account.email, method, ssoWorkspaceId);
    const mfaToken = randomToken(PENDING_TOKEN_PREFIX);
    const pending = await store.insertPending(tx, { id: newId(), tokenHash: sha256(mfaToken), accountId, kind, method, ttlSeconds: PENDING_TTL_SECONDS, ssoWorkspaceId });
    return { status: 'mfa_required', accountId, mfaToken, factors, kind, expiresAt: pending.expires_at };
  }

  /**
   * The gate for SAML sign-in through a workspace's IdP, without an event: the workspace records
   * the sign-in (its SSO attempts are its admins' to see), with `signInFacts`.
   */
  samlSignInIn(tx: Tx, accountId: string, kind: SessionKind, meta: RequestMeta, workspaceId: string): Promise<SignInResult> {
    return this.gateIn(tx, accountId, 'saml', kind, meta, workspaceId);
  }

  /** A live pending sign-in by its token, or `challenge_expired`. */
  async pendingSignIn(mfaToken: string): Promise<PendingSignIn> {
    const row = await this.db.withGlobal((tx) => store.livePending(tx, sha256(mfaToken), PENDING_MAX_FAILURES), { readOnly: true });
    if (!row) throw new RampartError('challenge_expired');
    return { id: row.id, accountId: row.account_id, kind: row.kind, method: row.method, ssoWorkspaceId: row.sso_workspace_id };
  }

  /** Keeps the passkey challenge a pending sign-in must answer, and records that it was asked. */
  async setPendingWebauthnChallenge(pending: PendingSignIn, challenge: string, meta: RequestMeta): Promise<void> {
    await this.db.withAccount(pending.accountId, async (tx) => {
      await store.setPendingChallenge(tx, pending.id, challenge);
      await this.deps.events.recordIn(tx, { action: 'auth.passkey_challenge', outcome: 'success', accountId: pending.accountId, details: { purpose: 'second_factor', method: pending.method } }, meta);
    });
  }

  /** The pending sign-in's passkey challenge, taken (single use: a second take finds none). */
  async takePendingWebauthnChallenge(pending: PendingSignIn): Promise<string | null> {
    return this.db.withAccount(pending.accountId, (tx) => store.takePendingChallenge(tx, pending.id));
  }

  /**
   * Counts a wrong second-factor answer (the pending sign-in dies after a few) and records it:
   * `auth.mfa_verify`, failure, unless the caller names the event (a lockout, a cloned passkey).
   */
  async failMfa(pending: PendingSignIn, factor: SecondFactor, meta: RequestMeta, event?: AuthEvent): Promise<void> {
    await this.db.withAccount(pending.accountId, async (tx) => {
      await store.failPending(tx, pending.id);
      await this.deps.events.recordIn(tx, event ?? { action: 'auth.mfa_verify', outcome: 'failure', accountId: pending.accountId, details: { factor } }, meta);
    });
  }

  /**
   * Finishes a pending sign-in whose second factor the caller verified inside `tx` (so a used
   * TOTP step or recovery code commits together with the session). Single use.
   */
  async completeMfaIn(
    tx: Tx,
    pending: PendingSignIn,
    factor: SecondFactor,
    meta: RequestMeta,
    details: NonNullable<AuthEvent['details']> = {},
  ): Promise<IssuedSession> {
    await tx.bindAccount(pending.accountId);
    if (!(await store.usePending(tx, pending.id, PENDING_MAX_FAILURES))) throw new RampartError('challenge_expired');
    const account = await store.accountById(tx, pending.accountId);
    if (!account) throw new RampartError('challenge_expired');
    const method = pending.method;
    const issued = await this.issue(tx, account, pending.kind, method, true, meta, pending.ssoWorkspaceId);
    // The request's one event: the second factor checked and the session it opened.
    await this.deps.events.recordIn(
      tx,
      { action: 'auth.sign_in', outcome: 'success', accountId: account.id, details: { ...details, method, factor, sessionId: issued.sessionId } },
      meta,
    );
    return issued;
  }

  /** Signs in with a passkey used as the only factor (it proves possession and user verification). */
  async passkeySignInIn(tx: Tx, accountId: string, kind: SessionKind, meta: RequestMeta): Promise<IssuedSession> {
    await tx.bindAccount(accountId);
    const account = await store.accountById(tx, accountId);
    if (!account) throw new RampartError('invalid_credentials');
    const issued = await this.issue(tx, account, kind, 'passkey', true, meta);
    await this.deps.events.recordIn(tx, { action: 'auth.sign_in', outcome: 'success', accountId, details: { method: 'passkey', sessionId: issued.sessionId } }, meta);
    return issued;
  }

  /** The one place sessions begin; it asks the SSO policy again, whatever path led here. */
  private async issue(
    tx: Tx,
    account: store.AccountRow,
    kind: SessionKind,
    method: AuthMethod,
    mfa: boolean,
    meta: RequestMeta,
    ssoWorkspaceId: string | null = null,
  ): Promise<IssuedSession> {
    await this.assertMethodAllowedIn(tx, account.email, method, ssoWorkspaceId);
    const token = randomToken(SESSION_TOKEN_PREFIX);
    const row = await store.insertSession(tx, {
      id: newId(),
      tokenHash: sha256(token),
      accountId: account.id,
      kind,
      ttlSeconds: this.config.sessionTtlSeconds,
      method,
      mfa,
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
      ssoWorkspaceId,
    });
    return { account: ownAccountView({ ...account, pending_email: row.pending_email }), sessionId: row.id, token, kind, expiresAt: row.expires_at, mfa };
  }

  // --- accounts created through an identity provider ---------------------------------------------

  async accountByEmail(email: string): Promise<AccountSummary | null> {
    const row = await this.db.withGlobal((tx) => store.accountByEmail(tx, email), { readOnly: true });
    return row ? accountView(row) : null;
  }

  /**
   * Creates an account for a new provider identity, inside the caller's transaction. Refused
   * while setup is pending (the first account needs the setup link) or when sign-up is closed;
   * null if the email is taken. Records no event: the sign-in that follows in the same request
   * records one, saying the account was created.
   */
  async createExternalAccountIn(tx: Tx, input: { email: string; name: string; emailVerified: boolean }): Promise<AccountSummary | null> {
    if (!(await store.anyAccount(tx))) throw new RampartError('setup_token_invalid');
    if (this.config.signup === 'closed') throw new RampartError('signup_closed');
    const account = await this.insertAccountIn(tx, { email: input.email, name: cleanDisplayName(input.name, 200), passwordHash: null, emailVerified: input.emailVerified });
    return account ? accountView(account) : null;
  }

  /**
   * Creates an account in `tx`, which from then on acts for it (and, if the email is taken, for
   * the id nobody got); null if the email is taken.
   */
  private async insertAccountIn(tx: Tx, a: { email: string; name: string; passwordHash: string | null; emailVerified: boolean }): Promise<store.AccountRow | null> {
    const id = newId();
    await tx.bindAccount(id);
    return store.insertAccount(tx, { id, ...a });
  }

  async accountByEmailIn(tx: Tx, email: string): Promise<AccountSummary | null> {
    const row = await store.accountByEmail(tx, email);
    return row ? accountView(row) : null;
  }

  async accountByIdIn(tx: Tx, accountId: string): Promise<AccountSummary | null> {
    const row = await store.accountById(tx, accountId);
    return row ? accountView(row) : null;
  }

  /**
   * Creates an account a workspace's directory (SAML just-in-time, SCIM) provisions for an email
   * in a domain the workspace verified: the email counts as verified, and closed sign-up does not
   * apply (nobody signs themselves up). Records no event: the provisioning request records one.
   */
  async createDirectoryAccountIn(tx: Tx, input: { email: string; name: string }): Promise<AccountSummary> {
    if (!(await store.anyAccount(tx))) throw new RampartError('setup_token_invalid');
    const account = await this.insertAccountIn(tx, { email: input.email, name: cleanDisplayName(input.name, 200), passwordHash: null, emailVerified: true });
    if (!account) throw new RampartError('account_exists');
    return accountView(account);
  }

  /**
   * An existing account whose address the owner of its domain now vouches for, although the
   * account never proved it: whoever registered it may not be the address's owner (a
   * pre-registered account), so its password and sessions go, and the address counts as
   * verified. The owner of the address signs in by email link (or SSO) from then on.
   */
  async takeOverUnverifiedIn(tx: Tx, accountId: string): Promise<void> {
    await tx.bindAccount(accountId);
    if (!(await store.markEmailVerified(tx, accountId))) return;
    await this.dropUnprovenCredentialsIn(tx, accountId);
  }

  /** Ends every session of an account at once (deprovisioning); returns how many were live. */
  /** SSO enforced for `domain`: ends the sessions of its accounts that SAML through `workspaceId` did not begin. */
  endNonSsoSessionsIn(tx: Tx, domain: string, workspaceId: string): Promise<number> {
    return store.revokeNonSsoSessions(tx, domain, workspaceId);
  }

  async revokeAllSessionsIn(tx: Tx, accountId: string): Promise<number> {
    await tx.bindAccount(accountId);
    return store.revokeSessionsExcept(tx, accountId, null);
  }

  // --- sessions ------------------------------------------------------------------------------------

  async describeSession(principal: Principal): Promise<{ account: AccountView; session: store.SessionRow }> {
    return this.db.withAccount(
      principal.accountId,
      async (tx) => {
        const [account, session] = await Promise.all([store.ownAccountById(tx, principal.accountId), store.sessionById(tx, principal.sessionId)]);
        if (!account || !session) throw new RampartError('unauthenticated');
        return { account: ownAccountView(account), session };
      },
      { readOnly: true },
    );
  }

  async listSessions(principal: Principal): Promise<SessionView[]> {
    const rows = await this.db.withAccount(principal.accountId, (tx) => store.liveSessions(tx, principal.accountId, this.config.sessionIdleSeconds), {
      readOnly: true,
    });
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      current: r.id === principal.sessionId,
      method: r.auth_method,
      mfa: r.mfa_at !== null,
      device: describeDevice(r.user_agent),
      ip: r.ip,
      place: describePlace(r.ip),
      createdAt: r.created_at.toISOString(),
      lastSeenAt: r.last_seen_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
    }));
  }

  async revokeSession(principal: Principal, sessionId: string, meta: RequestMeta): Promise<void> {
    await this.db.withAccount(principal.accountId, async (tx) => {
      if (!(await store.revokeSession(tx, principal.accountId, sessionId))) throw new RampartError('session_not_found');
      await this.deps.events.recordIn(tx, { action: 'session.revoked', outcome: 'success', accountId: principal.accountId, details: { sessionId } }, meta);
    });
  }

  async revokeOtherSessions(principal: Principal, meta: RequestMeta): Promise<number> {
    return this.db.withAccount(principal.accountId, async (tx) => {
      const ended = await store.revokeSessionsExcept(tx, principal.accountId, principal.sessionId);
      await this.deps.events.recordIn(tx, { action: 'session.revoked_others', outcome: 'success', accountId: principal.accountId, details: { count: ended } }, meta);
      return ended;
    });
  }

  /**
   * "Sudo mode" for adding a way in (an authenticator app, a passkey): the session must have
   * signed in within the last `seconds`. A stolen, older session cannot plant its own factor and
   * lock the owner out.
   */
  async assertRecentSignIn(
    principal: Principal,
    seconds = RECENT_SIGN_IN_SECONDS,
    message = 'Sign in again to add a sign-in method.',
  ): Promise<{ account: AccountView; session: store.SessionRow }> {
    const described = await this.describeSession(principal);
    if (Date.now() - described.session.created_at.getTime() > seconds * 1000) {
      throw new RampartError('reauthentication_required', { message });
    }
    return described;
  }

  async signOut(principal: Principal, meta: RequestMeta): Promise<void> {
    await this.db.withAccount(principal.accountId, async (tx) => {
      await store.revokeSession(tx, principal.accountId, principal.sessionId);
      await this.deps.events.recordIn(tx, { action: 'auth.sign_out', outcome: 'success', accountId: principal.accountId, details: { sessionId: principal.sessionId } }, meta);
    });
  }

  /** Revokes whatever session a token names (the cookie a browser had before signing in again). */
  async revokeToken(token: string): Promise<void> {
    await this.db.withGlobal((tx) => store.revokeSessionByToken(tx, sha256(token)));
  }

  /**
   * A privilege change (a factor added, the password changed): the session keeps its id and
   * gets a new token, so a token captured before the change is worthless after it. With `mfa`,
   * the session now counts as having proved a second factor.
   */
  async rotateIn(tx: Tx, principal: Principal, mfa: boolean): Promise<IssuedSession> {
    const token = randomToken(SESSION_TOKEN_PREFIX);
    const row = await store.rotateSession(tx, principal.sessionId, sha256(token), mfa);
    const account = await store.ownAccountById(tx, principal.accountId);
    if (!row || !account) throw new RampartError('unauthenticated');
    return { account: ownAccountView(account), sessionId: row.id, token, kind: row.kind, expiresAt: row.expires_at, mfa: row.mfa_at !== null };
  }

  /** Moves a session's idle clock (at most once a minute). Called after a request authenticates. */
  touch(principal: Principal): void {
    this.defer(() => this.db.withAccount(principal.accountId, (tx) => store.touchSession(tx, principal.sessionId, TOUCH_SLACK_SECONDS)));
  }

  /** Records a security notice email (factor changes) for the account. */
  async notifyMfaChangedIn(tx: Tx, accountId: string, change: string): Promise<void> {
    const account = await store.accountById(tx, accountId);
    if (!account) return;
    await this.deps.mailer.enqueue(tx, { template: 'mfa_changed', to: account.email, data: { name: account.name, change, when: new Date().toISOString() } });
  }

  /** The CSRF token of a cookie session: an HMAC of its token, so it rotates with the token. */
  csrfToken(sessionToken: string): string {
    return hmacSha256(this.csrfKey, sessionToken).toString('base64url');
  }

  /** Whether the first account exists; once it does, remembered (accounts are not all deleted). */
  private async setupDone(): Promise<boolean> {
    if (this.setupComplete) return true;
    this.setupComplete = await this.db.withGlobal((tx) => store.anyAccount(tx), { readOnly: true });
    return this.setupComplete;
  }

  async setupRequired(): Promise<boolean> {
    return !(await this.setupDone());
  }

  /** See `issueSetupToken`. */
  issueSetupToken(): Promise<string | null> {
    return issueSetupToken(this.db);
  }

}

/**
 * While no account exists, makes a new one-time setup token (replacing any earlier one) and
 * returns it; returns null once the first account exists.
 */
export async function issueSetupToken(db: Database): Promise<string | null> {
  const token = randomToken(SETUP_TOKEN_PREFIX);
  const replaced = await db.withGlobal((tx) => store.replaceSetupToken(tx, sha256(token), SETUP_TOKEN_TTL_SECONDS));
  return replaced ? token : null;
}
