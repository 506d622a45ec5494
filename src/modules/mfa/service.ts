/**
 * Second factors: authenticator apps (TOTP), passkeys (WebAuthn) and recovery codes — enrolment,
 * removal, and the second step of every sign-in.
 *
 * The service registers itself with the accounts' sign-in gate (`setMfaProvider`), so every
 * first factor that reaches an account with a factor ends in a pending sign-in; only a code or
 * assertion verified here turns it into a session, in the same transaction that spends the code
 * (`completeMfaIn`). Adding or removing a factor is a privilege change: the owner is emailed, an
 * event is recorded, and a cookie session gets a new token.
 */
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { Principal, RequestMeta } from '../../platform/http/context.js';
import { throttleKey, type Throttle } from '../../platform/http/throttle.js';
import { deriveKey, newId, safeEqual } from '../../platform/ids.js';
import type { AccountsService, IssuedSession, PendingSignIn, SecondFactor } from '../accounts/index.js';
import type { AuthEvent, AuthEvents } from '../events/index.js';
import { newRecoveryCodes, normaliseRecoveryCode, recoveryCodeHash } from './recovery.js';
import type { PasskeyView, ReauthInput } from './schemas.js';
import * as store from './store.js';
import { matchTotpStep, newTotpSecret, normaliseTotpCode, openSecret, otpauthUrl, sealSecret } from './totp.js';
import {
  authenticationOptions,
  base64url,
  credentialIdBytes,
  registrationOptions,
  relyingParty,
  userHandle,
  verifyAssertion,
  verifyRegistration,
  type RelyingParty,
} from './webauthn.js';

export interface MfaDeps {
  readonly db: Database;
  readonly config: Config & { rootSecret: string };
  readonly accounts: AccountsService;
  readonly events: AuthEvents;
  readonly throttle: Throttle;
  /** This instance's URL (the public URL, or the address actually bound); defaults to the public URL. */
  readonly baseUrl?: () => string;
}

/** How long a passkey registration or passwordless sign-in challenge lives. */
export const CHALLENGE_TTL_SECONDS = 5 * 60;
const DEFAULT_PASSKEY_NAME = 'Passkey';

export interface MfaStatusView {
  readonly enabled: boolean;
  readonly totp: boolean;
  readonly passkeys: number;
  readonly recoveryCodesLeft: number;
}

/** The outcome of adding or removing a factor. */
export interface FactorChange {
  /** The rotated session (cookie sessions); null for bearer sessions, which keep their token. */
  readonly issued: IssuedSession | null;
  /** New recovery codes, when this was the account's first factor. */
  readonly recoveryCodes: string[] | null;
}

function passkeyView(row: store.PasskeyRow): PasskeyView {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    backedUp: row.backed_up,
    deviceType: row.device_type,
    transports: row.transports,
  };
}

function hasFactor(s: store.FactorSummary): boolean {
  return s.totp || s.passkeys > 0;
}

/**
 * One refused attempt is one event: the failure itself, or what it turned into — a passkey
 * whose counter went back (a possible copy), or the failure that locked the account. The failed
 * action and its details stay in the event's details.
 */
function failureEvent(failure: AuthEvent, lock: { lockedNow: boolean; lockSeconds: number }, clone: store.PasskeyRow | null): AuthEvent {
  const accountId = clone?.account_id ?? failure.accountId ?? null;
  const facts = { ...failure.details, attempt: failure.action, ...(lock.lockedNow ? { lockedSeconds: lock.lockSeconds } : {}) };
  if (clone) {
    return { action: 'auth.mfa.passkey_clone_suspected', outcome: 'denied', accountId, details: { ...facts, passkeyId: clone.id, storedCounter: Number(clone.counter) } };
  }
  if (lock.lockedNow) return { action: 'auth.lockout', outcome: 'denied', accountId, details: { ...facts, seconds: lock.lockSeconds, scope: 'mfa' } };
  return failure;
}


export class MfaService {
  private readonly totpKey: Buffer;
  private readonly recoveryKey: Buffer;
  /** The relying party: the host and origin of this instance's URL, read when needed (the port may be bound late). */
  get rp(): RelyingParty {
    return relyingParty(this.deps.config, this.deps.baseUrl?.());
  }

  constructor(private readonly deps: MfaDeps) {
    this.totpKey = deriveKey(deps.config.rootSecret, 'mfa/totp/v1');
    this.recoveryKey = deriveKey(deps.config.rootSecret, 'mfa/recovery/v1');
    deps.accounts.setMfaProvider({ factors: (tx, accountId) => this.factorsIn(tx, accountId) });
  }

  private get db(): Database {
    return this.deps.db;
  }

  private event(tx: Tx, event: AuthEvent, meta: RequestMeta): Promise<void> {
    return this.deps.events.recordIn(tx, event, meta);
  }

  // --- what an account has -----------------------------------------------------------------------

  /** The gate's question: which second factors the account has (recovery codes only beside another). */
  async factorsIn(tx: Tx, accountId: string): Promise<SecondFactor[]> {
    const s = await store.summary(tx, accountId);
    const factors: SecondFactor[] = [];
    if (s.totp) factors.push('totp');
    if (s.passkeys > 0) factors.push('webauthn');
    if (factors.length > 0 && s.recovery_left > 0) factors.push('recovery_code');
    return factors;
  }

  async status(principal: Principal): Promise<MfaStatusView> {
    const s = await this.db.withAccount(principal.accountId, (tx) => store.summary(tx, principal.accountId), { readOnly: true });
    const enabled = hasFactor(s);
    return { enabled, totp: s.totp, passkeys: s.passkeys, recoveryCodesLeft: enabled ? s.recovery_left : 0 };
  }

  // --- spending codes ------------------------------------------------------------------------------

  /** Spends a TOTP code in `tx`: true if it matches a step newer than any used before. */
  private async spendTotpIn(tx: Tx, accountId: string, code: string): Promise<boolean> {
    const row = await store.totpFactor(tx, accountId);
    if (!row?.confirmed_at) return false;
    const step = await matchTotpStep(openSecret(this.totpKey, accountId, row.secret_ciphertext), code, Number(row.last_used_step));
    return step !== null && (await store.useTotpStep(tx, accountId, step, false));
  }

  /** Spends a recovery code in `tx`; valid only while the account has another factor. */
  private async spendRecoveryIn(tx: Tx, accountId: string, code: string): Promise<boolean> {
    const normalised = normaliseRecoveryCode(code);
    if (normalised === null) return false;
    if (!hasFactor(await store.summary(tx, accountId))) return false;
    return store.useRecoveryCode(tx, accountId, recoveryCodeHash(this.recoveryKey, accountId, normalised));
  }

  /** Spends whichever kind of code this is. */
  private async spendAnyCodeIn(tx: Tx, accountId: string, code: string): Promise<SecondFactor | null> {
    if (normaliseTotpCode(code) !== null) return (await this.spendTotpIn(tx, accountId, code)) ? 'totp' : null;
    return (await this.spendRecoveryIn(tx, accountId, code)) ? 'recovery_code' : null;
  }

  private async issueRecoveryCodesIn(tx: Tx, accountId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    const hashes = codes.map((c) => recoveryCodeHash(this.recoveryKey, accountId, normaliseRecoveryCode(c) as string));
    await store.replaceRecoveryCodes(tx, accountId, hashes);
    return codes;
  }

  // --- re-authentication and privilege changes ------------------------------------------------------

  /**
   * Runs a sensitive change after re-authentication: the current password when the account has
   * one (checked before the transaction: argon2 is slow), otherwise a current code, spent in the
   * change's own transaction. Wrong or missing: `reauthentication_required`, nothing changed.
   */
  private async withReauth<T>(principal: Principal, input: ReauthInput, meta: RequestMeta, action: string, change: (tx: Tx) => Promise<T>): Promise<T> {
    const accountId = principal.accountId;
    const key = throttleKey('account', accountId);
    await this.deps.throttle.hit('mfa', key);
    await this.deps.throttle.assertNotLocked(key);
    const { hasPassword, ok: passed } = await this.deps.accounts.checkPassword(accountId, input.password);
    const REFUSED = Symbol('refused');
    const result =
      hasPassword && !passed
        ? REFUSED
        : await this.db.withAccount(accountId, async (tx) => {
            if (!hasPassword && (input.code === undefined || (await this.spendAnyCodeIn(tx, accountId, input.code)) === null)) return REFUSED;
            return change(tx);
          });
    if (result === REFUSED) {
      await this.recordFailure(key, meta, { action, outcome: 'failure', accountId, details: { reason: 'reauthentication' } });
      throw new RampartError('reauthentication_required', {
        message: hasPassword ? 'Confirm your password to do this.' : 'Confirm with a current authenticator or recovery code to do this.',
      });
    }
    await this.deps.throttle.recordSuccess(key);
    return result;
  }

  /** Counts a failure towards the account's lockout and records it as one event (see `failureEvent`). */
  private async recordFailure(key: string, meta: RequestMeta, event: AuthEvent, clone: store.PasskeyRow | null = null): Promise<void> {
    const lock = await this.deps.throttle.recordFailure(key);
    await this.db.withGlobal((tx) => this.event(tx, failureEvent(event, lock, clone), meta));
  }

  /** After a factor was added or removed in `tx`: email the owner and rotate a cookie session. */
  private async privilegeChangedIn(tx: Tx, principal: Principal, change: string, mfa: boolean): Promise<IssuedSession | null> {
    await this.deps.accounts.notifyMfaChangedIn(tx, principal.accountId, change);
    // Bearer tokens are not rotated under an API client (it could not learn the new token).
    return principal.sessionKind === 'cookie' ? this.deps.accounts.rotateIn(tx, principal, mfa) : null;
  }

  /** Once no factor is left, recovery codes go too (new ones come with the next first factor). */
  private async dropRecoveryIfLastIn(tx: Tx, accountId: string): Promise<void> {
    if (!hasFactor(await store.summary(tx, accountId))) await store.deleteRecoveryCodes(tx, accountId);
  }

  // --- authenticator apps --------------------------------------------------------------------------

  /** Starts enrolling an authenticator app: a new secret (replacing an unconfirmed one). */
  async startTotp(principal: Principal, meta: RequestMeta): Promise<{ secret: string; otpauthUrl: string }> {
    const { account } = await this.deps.accounts.assertRecentSignIn(principal);
    const secret = newTotpSecret();
    const sealed = sealSecret(this.totpKey, account.id, secret);
    const started = await this.db.withAccount(account.id, async (tx) => {
      if (!(await store.upsertPendingTotp(tx, account.id, sealed))) return false;
      await this.event(tx, { action: 'auth.mfa.totp_enrolment_started', outcome: 'success', accountId: account.id }, meta);
      return true;
    });
    if (!started) throw new RampartError('mfa_already_enabled');
    return { secret, otpauthUrl: otpauthUrl(secret, account.email) };
  }

  /** Confirms the app with a first code: the factor is on, and this session counts as MFA-verified. */
  async confirmTotp(principal: Principal, code: string, meta: RequestMeta): Promise<FactorChange> {
    const accountId = principal.accountId;
    const key = throttleKey('account', accountId);
    await this.deps.throttle.hit('mfa', key);
    await this.deps.throttle.assertNotLocked(key);
    const result = await this.db.withAccount(accountId, async (tx) => {
      const row = await store.totpFactor(tx, accountId);
      if (!row) throw new RampartError('factor_not_found', { message: 'Start enrolling an authenticator app first.' });
      if (row.confirmed_at) throw new RampartError('mfa_already_enabled');
      const step = await matchTotpStep(openSecret(this.totpKey, accountId, row.secret_ciphertext), code, Number(row.last_used_step));
      if (step === null || !(await store.useTotpStep(tx, accountId, step, true))) return null;
      // TOTP was not on before this statement; it is the first factor unless a passkey exists.
      const first = (await store.summary(tx, accountId)).passkeys === 0;
      const recoveryCodes = first ? await this.issueRecoveryCodesIn(tx, accountId) : null;
      await this.event(tx, { action: 'auth.mfa.totp_enabled', outcome: 'success', accountId, details: { recoveryCodesIssued: first } }, meta);
      const issued = await this.privilegeChangedIn(tx, principal, 'An authenticator app was added', true);
      return { issued, recoveryCodes };
    });
    if (!result) {
      // A 400: the session is fine, only the code is wrong (a 401 would read as being signed out).
      await this.recordFailure(key, meta, { action: 'auth.mfa.totp_enabled', outcome: 'failure', accountId, details: { reason: 'wrong_code' } });
      throw new RampartError('mfa_code_invalid');
    }
    await this.deps.throttle.recordSuccess(key);
    return result;
  }

  async removeTotp(principal: Principal, reauth: ReauthInput, meta: RequestMeta): Promise<FactorChange> {
    const accountId = principal.accountId;
    return this.withReauth(principal, reauth, meta, 'auth.mfa.factor_removed', async (tx) => {
      if (!(await store.deleteTotp(tx, accountId, true))) throw new RampartError('factor_not_found');
      await this.dropRecoveryIfLastIn(tx, accountId);
      await this.event(tx, { action: 'auth.mfa.factor_removed', outcome: 'success', accountId, details: { factor: 'totp' } }, meta);
      return { issued: await this.privilegeChangedIn(tx, principal, 'An authenticator app was removed', false), recoveryCodes: null };
    });
  }

  // --- passkeys ------------------------------------------------------------------------------------

  /** Options for registering a passkey; the challenge is kept 5 minutes, for one answer. */
  async passkeyRegistrationOptions(principal: Principal, meta: RequestMeta): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { account } = await this.deps.accounts.assertRecentSignIn(principal);
    const existing = await this.db.withAccount(account.id, (tx) => store.passkeys(tx, account.id), { readOnly: true });
    const options = await registrationOptions(this.rp, account, existing);
    await this.db.withAccount(account.id, async (tx) => {
      await store.putRegistration(tx, account.id, options.challenge, CHALLENGE_TTL_SECONDS);
      await this.event(tx, { action: 'auth.mfa.passkey_registration_started', outcome: 'success', accountId: account.id }, meta);
    });
    return options;
  }

  async registerPasskey(principal: Principal, response: RegistrationResponseJSON, name: string | undefined, meta: RequestMeta): Promise<FactorChange & { passkey: PasskeyView }> {
    const accountId = principal.accountId;
    await this.deps.throttle.hit('mfa', throttleKey('account', accountId));
    // Taken before verification: a challenge is answered once, right or wrong.
    const challenge = await this.db.withAccount(accountId, (tx) => store.takeRegistration(tx, accountId));
    if (!challenge) throw new RampartError('challenge_expired', { message: 'The passkey registration has expired; start again.' });
    const credential = await verifyRegistration(this.rp, response, challenge);
    if (!credential) {
      await this.deps.events.record({ action: 'auth.mfa.passkey_added', outcome: 'failure', accountId, details: { reason: 'verification' } }, meta);
      throw new RampartError('passkey_invalid');
    }
    return this.db.withAccount(accountId, async (tx) => {
      const before = await store.summary(tx, accountId);
      const row = await store.insertPasskey(tx, { id: newId(), accountId, name: name ?? DEFAULT_PASSKEY_NAME, ...credential });
      if (!row) throw new RampartError('mfa_already_enabled', { message: 'This passkey is already registered.' });
      const first = !hasFactor(before);
      const recoveryCodes = first ? await this.issueRecoveryCodesIn(tx, accountId) : null;
      await this.event(tx, { action: 'auth.mfa.passkey_added', outcome: 'success', accountId, details: { passkeyId: row.id, recoveryCodesIssued: first } }, meta);
      const issued = await this.privilegeChangedIn(tx, principal, `A passkey was added ("${row.name}")`, true);
      return { issued, recoveryCodes, passkey: passkeyView(row) };
    });
  }

  async listPasskeys(principal: Principal): Promise<PasskeyView[]> {
    const rows = await this.db.withAccount(principal.accountId, (tx) => store.passkeys(tx, principal.accountId), { readOnly: true });
    return rows.map(passkeyView);
  }

  async renamePasskey(principal: Principal, passkeyId: string, name: string, meta: RequestMeta): Promise<PasskeyView> {
    const accountId = principal.accountId;
    return this.db.withAccount(accountId, async (tx) => {
      const row = await store.renamePasskey(tx, accountId, passkeyId, name);
      if (!row) throw new RampartError('factor_not_found');
      await this.event(tx, { action: 'auth.mfa.passkey_renamed', outcome: 'success', accountId, details: { passkeyId } }, meta);
      return passkeyView(row);
    });
  }

  async removePasskey(principal: Principal, passkeyId: string, reauth: ReauthInput, meta: RequestMeta): Promise<FactorChange> {
    const accountId = principal.accountId;
    return this.withReauth(principal, reauth, meta, 'auth.mfa.factor_removed', async (tx) => {
      if (!(await store.deletePasskey(tx, accountId, passkeyId))) throw new RampartError('factor_not_found');
      await this.dropRecoveryIfLastIn(tx, accountId);
      await this.event(tx, { action: 'auth.mfa.factor_removed', outcome: 'success', accountId, details: { factor: 'webauthn', passkeyId } }, meta);
      return { issued: await this.privilegeChangedIn(tx, principal, 'A passkey was removed', false), recoveryCodes: null };
    });
  }

  // --- recovery codes ------------------------------------------------------------------------------

  /** Ten new recovery codes; the old ones stop working. Needs a factor and re-authentication. */
  async regenerateRecoveryCodes(principal: Principal, reauth: ReauthInput, meta: RequestMeta): Promise<string[]> {
    const accountId = principal.accountId;
    return this.withReauth(principal, reauth, meta, 'auth.mfa.recovery_codes_regenerated', async (tx) => {
      if (!hasFactor(await store.summary(tx, accountId))) {
        throw new RampartError('factor_not_found', { message: 'Recovery codes come with an authenticator app or a passkey; add one first.' });
      }
      const codes = await this.issueRecoveryCodesIn(tx, accountId);
      await this.event(tx, { action: 'auth.mfa.recovery_codes_regenerated', outcome: 'success', accountId }, meta);
      await this.deps.accounts.notifyMfaChangedIn(tx, accountId, 'New recovery codes were generated; the old ones no longer work');
      return codes;
    });
  }

  // --- the second step of sign-in --------------------------------------------------------------------

  /** A live pending sign-in, with the per-address and per-account limits applied. */
  private async pending(mfaToken: string, meta: RequestMeta): Promise<{ pending: PendingSignIn; key: string }> {
    await this.deps.throttle.hitIp(meta.ip);
    const pending = await this.deps.accounts.pendingSignIn(mfaToken);
    const key = throttleKey('account', pending.accountId);
    await this.deps.throttle.hit('mfa', key);
    await this.deps.throttle.assertNotLocked(key);
    return { pending, key };
  }

  /** A wrong answer: counted against the pending sign-in (it dies after a few) and the account; one event. */
  private async secondFactorFailed(pending: PendingSignIn, key: string, factor: SecondFactor, meta: RequestMeta, clone: store.PasskeyRow | null = null): Promise<never> {
    const lock = await this.deps.throttle.recordFailure(key);
    const failure: AuthEvent = { action: 'auth.mfa_verify', outcome: 'failure', accountId: pending.accountId, details: { factor } };
    await this.deps.accounts.failMfa(pending, factor, meta, failureEvent(failure, lock, clone));
    throw new RampartError('invalid_credentials');
  }

  /** Finishes a sign-in with an authenticator or recovery code. */
  async verifyCode(mfaToken: string, factor: 'totp' | 'recovery_code', code: string, meta: RequestMeta): Promise<IssuedSession> {
    const { pending, key } = await this.pending(mfaToken, meta);
    const accountId = pending.accountId;
    const issued = await this.db.withAccount(accountId, async (tx) => {
      const spent = factor === 'totp' ? await this.spendTotpIn(tx, accountId, code) : await this.spendRecoveryIn(tx, accountId, code);
      if (!spent) return null;
      if (factor === 'recovery_code') await this.deps.accounts.notifyMfaChangedIn(tx, accountId, 'A recovery code was used to sign in');
      return this.deps.accounts.completeMfaIn(tx, pending, factor, meta);
    });
    if (!issued) return this.secondFactorFailed(pending, key, factor, meta);
    await this.deps.throttle.recordSuccess(key);
    return issued;
  }

  /** Options for answering a pending sign-in with one of the account's passkeys. */
  async passkeySignInOptions(mfaToken: string, meta: RequestMeta): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { pending } = await this.pending(mfaToken, meta);
    const keys = await this.db.withAccount(pending.accountId, (tx) => store.passkeys(tx, pending.accountId), { readOnly: true });
    if (keys.length === 0) throw new RampartError('factor_not_found');
    // A second factor: possession is what counts; user verification is welcome, not required.
    const options = await authenticationOptions(this.rp, keys, 'preferred');
    await this.deps.accounts.setPendingWebauthnChallenge(pending, options.challenge, meta);
    return options;
  }

  /** Finishes a sign-in with a passkey assertion over the pending sign-in's challenge. */
  async verifyPasskey(mfaToken: string, response: AuthenticationResponseJSON, meta: RequestMeta): Promise<IssuedSession> {
    const { pending, key } = await this.pending(mfaToken, meta);
    // Single use: taken before the answer is checked, right or wrong.
    const challenge = await this.deps.accounts.takePendingWebauthnChallenge(pending);
    if (!challenge) throw new RampartError('challenge_expired', { message: 'Ask for passkey options first.' });
    const credentialId = credentialIdBytes(response.rawId);
    const passkey = credentialId ? await this.db.withGlobal((tx) => store.passkeyByCredentialId(tx, credentialId), { readOnly: true }) : null;
    if (!passkey || passkey.account_id !== pending.accountId) return this.secondFactorFailed(pending, key, 'webauthn', meta);
    const verdict = await verifyAssertion(this.rp, response, challenge, passkey, false);
    if (!verdict.ok) return this.secondFactorFailed(pending, key, 'webauthn', meta, verdict.reason === 'clone' ? passkey : null);
    const issued = await this.db.withAccount(pending.accountId, async (tx) => {
      if (!(await store.usePasskey(tx, passkey.id, Number(passkey.counter), verdict.newCounter, verdict.backedUp))) return null;
      return this.deps.accounts.completeMfaIn(tx, pending, 'webauthn', meta, { passkeyId: passkey.id });
    });
    if (!issued) return this.secondFactorFailed(pending, key, 'webauthn', meta);
    await this.deps.throttle.recordSuccess(key);
    return issued;
  }

  // --- passwordless sign-in with a passkey ----------------------------------------------------------

  /** Options for signing in with a discoverable passkey alone (user verification required). */
  async passwordlessOptions(meta: RequestMeta): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    await this.deps.throttle.hitIp(meta.ip);
    const options = await authenticationOptions(this.rp, null, 'required');
    const challengeId = newId();
    await this.db.withGlobal(async (tx) => {
      await store.putSignInChallenge(tx, challengeId, options.challenge, CHALLENGE_TTL_SECONDS);
      await this.event(tx, { action: 'auth.passkey_challenge', outcome: 'success', details: { purpose: 'sign_in', challengeId } }, meta);
    });
    return { challengeId, options };
  }

  /** Signs in with a passkey as both factors: possession plus user verification. */
  async passwordlessSignIn(challengeId: string, response: AuthenticationResponseJSON, meta: RequestMeta): Promise<IssuedSession> {
    await this.deps.throttle.hitIp(meta.ip);
    const challenge = await this.db.withGlobal((tx) => store.takeSignInChallenge(tx, challengeId));
    if (!challenge) throw new RampartError('challenge_expired');
    const credentialId = credentialIdBytes(response.rawId);
    const passkey = credentialId ? await this.db.withGlobal((tx) => store.passkeyByCredentialId(tx, credentialId), { readOnly: true }) : null;
    if (!passkey) {
      await this.deps.events.record({ action: 'auth.sign_in', outcome: 'failure', details: { method: 'passkey', reason: 'unknown_credential' } }, meta);
      throw new RampartError('invalid_credentials');
    }
    const accountId = passkey.account_id;
    const key = throttleKey('account', accountId);
    await this.deps.throttle.hit('mfa', key);
    await this.deps.throttle.assertNotLocked(key);
    const fail = async (reason: string, clone: store.PasskeyRow | null = null): Promise<never> => {
      await this.recordFailure(key, meta, { action: 'auth.sign_in', outcome: 'failure', accountId, details: { method: 'passkey', reason } }, clone);
      throw new RampartError('invalid_credentials');
    };
    // A discoverable credential names its user; it must be the account the credential belongs to.
    const handle = response.response.userHandle;
    if (handle !== undefined && !safeEqual(handle, base64url(userHandle(accountId)))) return fail('user_handle');
    const verdict = await verifyAssertion(this.rp, response, challenge, passkey, true);
    if (!verdict.ok) return verdict.reason === 'clone' ? fail('counter', passkey) : fail('verification');
    const issued = await this.db.withAccount(accountId, async (tx) => {
      if (!(await store.usePasskey(tx, passkey.id, Number(passkey.counter), verdict.newCounter, verdict.backedUp))) return null;
      return this.deps.accounts.passkeySignInIn(tx, accountId, 'cookie', meta);
    });
    if (!issued) return fail('counter');
    await this.deps.throttle.recordSuccess(key);
    return issued;
  }
}
