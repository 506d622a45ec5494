/**
 * The staff realm: the operator's staff members, their setup links, sessions and authenticator
 * apps — separate from customer accounts in every table, token and cookie.
 *
 * - Staff members are added only by the CLI (`rampart staff add`) or by a `staff-admin`; either
 *   way the new member gets a one-time setup link (24 hours) to choose a password.
 * - Signing in (password) gives a session that has not proved TOTP: it can only enrol an
 *   authenticator app and prove a code (`enrolment` routes); everything else answers 403
 *   `staff_mfa_required`. Proving a code marks the session, and a cookie session gets a new token.
 * - Sessions end when revoked (sign-out, disable, reset), at their absolute expiry (at most 12
 *   hours) or after idling (at most 30 minutes) — shorter than customers' when configured longer.
 * - Every sign-in, failure, enrolment and account change is one event in the staff audit chain.
 */
import { operatorContext, type Database, type Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { RequestMeta, StaffPrincipal } from '../../platform/http/context.js';
import { throttleKey, type Throttle } from '../../platform/http/throttle.js';
import { deriveKey, hmacSha256, newId, randomToken, sha256 } from '../../platform/ids.js';
import { assertPasswordPolicy, type Passwords } from '../accounts/passwords.js';
import type { StaffActor, StaffEvents, WorkspaceEvent } from '../events/index.js';
import { matchTotpStep, newTotpSecret, openSecret, otpauthUrl, sealSecret } from '../mfa/totp.js';
import { permissionsOf, type StaffPermission, type StaffRole } from './permissions.js';
import * as store from './store.js';

/** Absolute lifetime and idle timeout of a staff session, at most (shorter if customers' are). */
export const STAFF_SESSION_MAX_TTL_SECONDS = 12 * 3600;
export const STAFF_SESSION_MAX_IDLE_SECONDS = 30 * 60;
export const STAFF_SETUP_TTL_SECONDS = 24 * 3600;
const SESSION_TOKEN_PREFIX = 'rst';
const SETUP_TOKEN_PREFIX = 'rsts';

export interface StaffConfig {
  readonly rootSecret: string;
  readonly sessionTtlSeconds: number;
  readonly sessionIdleSeconds: number;
}

export interface StaffDeps {
  readonly db: Database;
  readonly config: StaffConfig;
  readonly events: StaffEvents;
  readonly passwords: Passwords;
  readonly throttle: Throttle;
  /** An absolute URL of this instance for a console path. */
  readonly link: (path: string) => string;
  /** Runs work after the response (the idle clock). */
  readonly defer: (work: () => Promise<void>) => void;
}

export interface StaffMemberView {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: StaffRole;
  readonly totp: boolean;
  readonly passwordSet: boolean;
  readonly disabled: boolean;
  readonly createdAt: string;
}

export interface IssuedStaffSession {
  readonly member: StaffMemberView;
  readonly sessionId: string;
  readonly token: string;
  readonly kind: store.StaffSessionKind;
  readonly expiresAt: Date;
  readonly mfa: boolean;
}

export interface StaffSessionView {
  readonly staff: StaffMemberView;
  readonly permissions: StaffPermission[];
  readonly session: { id: string; kind: store.StaffSessionKind; expiresAt: string; mfa: boolean };
  readonly csrfToken: string | null;
}

export function memberView(row: store.StaffMemberRow): StaffMemberView {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    totp: row.totp,
    passwordSet: row.password_set,
    disabled: row.disabled_at !== null,
    createdAt: row.created_at.toISOString(),
  };
}

export function staffActor(p: StaffPrincipal): StaffActor {
  return { type: 'staff', id: p.staffId, name: p.name, role: p.role };
}

/** The setup link's console path; the token travels in the fragment, never to a server log. */
export function setupPath(token: string): string {
  return `/staff/setup#token=${token}`;
}

/**
 * Adds a staff member and makes their one-time setup token, recording `staff.member.created` in
 * the same transaction. Used by the CLI (actor null: the operator at the console) and by
 * staff-admins through the API.
 */
export async function addStaffMember(
  db: Database,
  events: StaffEvents,
  input: { email: string; name: string; role: StaffRole },
  actor: StaffActor | null,
  meta: RequestMeta | null,
): Promise<{ member: StaffMemberView; setupToken: string }> {
  const email = input.email.trim().toLowerCase();
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) throw new RampartError('validation_failed', { message: 'A staff member needs a name of 1–200 characters.' });
  return db.withTenant(operatorContext(), async (tx) => {
    const id = newId();
    if (!(await store.insertMember(tx, { id, email, name, role: input.role, createdBy: actor?.id ?? null }))) throw new RampartError('staff_member_exists');
    const setupToken = randomToken(SETUP_TOKEN_PREFIX);
    await store.replaceSetupToken(tx, id, sha256(setupToken), STAFF_SETUP_TTL_SECONDS);
    await events.recordIn(tx, actor, { action: 'staff.member.created', outcome: 'success', target: { type: 'staff', id }, details: { role: input.role, by: actor ? 'staff' : 'cli' } }, meta);
    const row = await store.memberById(tx, id);
    return { member: memberView(row as store.StaffMemberRow), setupToken };
  });
}

export async function listStaffMembers(db: Database): Promise<StaffMemberView[]> {
  return (await db.withTenant(operatorContext(), (tx) => store.members(tx), { readOnly: true })).map(memberView);
}

export class StaffService {
  private readonly totpKey: Buffer;
  private readonly csrfKey: Buffer;
  readonly ttlSeconds: number;
  readonly idleSeconds: number;

  constructor(private readonly deps: StaffDeps) {
    this.totpKey = deriveKey(deps.config.rootSecret, 'staff/totp/v1');
    this.csrfKey = deriveKey(deps.config.rootSecret, 'staff/csrf/v1');
    this.ttlSeconds = Math.min(deps.config.sessionTtlSeconds, STAFF_SESSION_MAX_TTL_SECONDS);
    this.idleSeconds = Math.min(deps.config.sessionIdleSeconds, STAFF_SESSION_MAX_IDLE_SECONDS);
  }

  private get db(): Database {
    return this.deps.db;
  }

  private record(tx: Tx, actor: StaffActor | null, event: WorkspaceEvent, meta: RequestMeta | null): Promise<void> {
    return this.deps.events.recordIn(tx, actor, event, meta);
  }

  csrfToken(sessionToken: string): string {
    return hmacSha256(this.csrfKey, sessionToken).toString('base64url');
  }

  // --- managing staff (staff-admin) ----------------------------------------------------------------

  list(): Promise<StaffMemberView[]> {
    return listStaffMembers(this.db);
  }

  async add(by: StaffPrincipal, input: { email: string; name: string; role: StaffRole }, meta: RequestMeta): Promise<{ member: StaffMemberView; setupLink: string }> {
    const { member, setupToken } = await addStaffMember(this.db, this.deps.events, input, staffActor(by), meta);
    return { member, setupLink: this.deps.link(setupPath(setupToken)) };
  }

  /** Loads a member to change, refusing one's own account (nobody locks the last admin out by mistake). */
  private async lockedOther(tx: Tx, by: StaffPrincipal, staffId: string): Promise<store.StaffMemberRow> {
    const row = await store.memberById(tx, staffId, true);
    if (!row) throw new RampartError('staff_member_not_found');
    if (row.id === by.staffId) throw new RampartError('conflict', { message: 'Another staff-admin makes changes to your own staff account.' });
    return row;
  }

  async changeRole(by: StaffPrincipal, staffId: string, role: StaffRole, meta: RequestMeta): Promise<StaffMemberView> {
    return this.db.withTenant(operatorContext(), async (tx) => {
      const row = await this.lockedOther(tx, by, staffId);
      if (row.disabled_at) throw new RampartError('conflict', { message: 'The staff member is disabled.' });
      await store.setRole(tx, staffId, role);
      await this.record(tx, staffActor(by), { action: 'staff.member.role_changed', outcome: 'success', target: { type: 'staff', id: staffId }, details: { from: row.role, to: role } }, meta);
      return memberView((await store.memberById(tx, staffId)) as store.StaffMemberRow);
    });
  }

  /** Disables a member: every session ends at once, the setup link dies; the record stays. */
  async disable(by: StaffPrincipal, staffId: string, meta: RequestMeta): Promise<StaffMemberView> {
    return this.db.withTenant(operatorContext(), async (tx) => {
      const row = await this.lockedOther(tx, by, staffId);
      if (row.disabled_at) throw new RampartError('conflict', { message: 'The staff member is already disabled.' });
      await store.disable(tx, staffId);
      await store.deleteSetupToken(tx, staffId);
      const ended = await store.revokeSessionsOf(tx, staffId);
      await this.record(tx, staffActor(by), { action: 'staff.member.disabled', outcome: 'success', target: { type: 'staff', id: staffId }, details: { sessionsEnded: ended } }, meta);
      return memberView((await store.memberById(tx, staffId)) as store.StaffMemberRow);
    });
  }

  /**
   * Resets a member's sign-in (a lost authenticator, a forgotten password): password and
   * authenticator app removed, sessions ended, a new setup link made.
   */
  async reset(by: StaffPrincipal, staffId: string, meta: RequestMeta): Promise<{ member: StaffMemberView; setupLink: string }> {
    return this.db.withTenant(operatorContext(), async (tx) => {
      const row = await this.lockedOther(tx, by, staffId);
      if (row.disabled_at) throw new RampartError('conflict', { message: 'The staff member is disabled.' });
      await store.setPasswordHash(tx, staffId, null);
      await store.deleteTotp(tx, staffId);
      const ended = await store.revokeSessionsOf(tx, staffId);
      const setupToken = randomToken(SETUP_TOKEN_PREFIX);
      await store.replaceSetupToken(tx, staffId, sha256(setupToken), STAFF_SETUP_TTL_SECONDS);
      await this.record(tx, staffActor(by), { action: 'staff.member.reset', outcome: 'success', target: { type: 'staff', id: staffId }, details: { sessionsEnded: ended } }, meta);
      return { member: memberView((await store.memberById(tx, staffId)) as store.StaffMemberRow), setupLink: this.deps.link(setupPath(setupToken)) };
    });
  }

  // --- setup and sign-in ---------------------------------------------------------------------------

  /** Uses a setup link: sets the password and signs in (a session that must still prove TOTP). */
  async setup(token: string, password: string, kind: store.StaffSessionKind, meta: RequestMeta): Promise<IssuedStaffSession> {
    await this.deps.throttle.hitIp(meta.ip);
    await assertPasswordPolicy(password);
    const hash = await this.deps.passwords.hash(password);
    try {
      return await this.db.withGlobal(async (tx) => {
        const staffId = await store.takeSetupToken(tx, sha256(token));
        if (!staffId) throw new RampartError('invalid_link');
        // The link named the member: the rest of the transaction acts for them.
        await tx.bindAccount(staffId);
        const member = await store.memberById(tx, staffId, true);
        if (!member || member.disabled_at) throw new RampartError('invalid_link');
        await assertPasswordPolicy(password, member.email);
        await store.setPasswordHash(tx, member.id, hash);
        const issued = await this.issue(tx, member, kind, meta);
        await this.record(tx, this.actorOf(member), { action: 'staff.setup_completed', outcome: 'success', target: { type: 'staff', id: member.id }, details: { sessionId: issued.sessionId } }, meta);
        return issued;
      });
    } catch (err) {
      if (err instanceof RampartError && err.code === 'invalid_link') {
        await this.deps.events.record(null, { action: 'staff.setup_completed', outcome: 'failure', details: { reason: 'invalid_link' } }, meta);
      }
      throw err;
    }
  }

  /**
   * Password sign-in. Unknown email, wrong password, no password yet and a disabled member all
   * answer `invalid_credentials` after the same hashing work; failures count towards a lockout.
   */
  async signIn(input: { email: string; password: string }, kind: store.StaffSessionKind, meta: RequestMeta): Promise<IssuedStaffSession> {
    const key = throttleKey('email', `staff:${input.email}`);
    await this.deps.throttle.hitIp(meta.ip);
    await this.deps.throttle.hit('account', key);
    await this.deps.throttle.assertNotLocked(key);
    const found = await this.db.withGlobal((tx) => store.credentialsByEmail(tx, input.email), { readOnly: true });
    const ok = await this.deps.passwords.verify(found?.disabled_at ? null : found?.password_hash, input.password);
    if (!found || !ok) {
      const { lockedNow, lockSeconds } = await this.deps.throttle.recordFailure(key);
      await this.db.withGlobal(async (tx) => {
        await this.record(
          tx,
          found ? this.actorOf(found) : null,
          {
            action: 'staff.sign_in',
            outcome: 'failure',
            ...(found ? { target: { type: 'staff', id: found.id } } : {}),
            details: { method: 'password', email: input.email.slice(0, 254), lockedForSeconds: lockedNow ? lockSeconds : null },
          },
          meta,
        );
      });
      throw new RampartError('invalid_credentials');
    }
    await this.deps.throttle.recordSuccess(key);
    return this.db.withAccount(found.id, async (tx) => {
      const issued = await this.issue(tx, found, kind, meta);
      await this.record(tx, this.actorOf(found), { action: 'staff.sign_in', outcome: 'success', target: { type: 'staff', id: found.id }, details: { method: 'password', sessionId: issued.sessionId, mfa: 'pending' } }, meta);
      return issued;
    });
  }

  private actorOf(row: { id: string; name: string; role: StaffRole }): StaffActor {
    return { type: 'staff', id: row.id, name: row.name, role: row.role };
  }

  private async issue(tx: Tx, member: store.StaffMemberRow, kind: store.StaffSessionKind, meta: RequestMeta): Promise<IssuedStaffSession> {
    const token = randomToken(SESSION_TOKEN_PREFIX);
    const row = await store.insertSession(tx, {
      id: newId(),
      tokenHash: sha256(token),
      staffId: member.id,
      kind,
      ttlSeconds: this.ttlSeconds,
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
    });
    const fresh = (await store.memberById(tx, member.id)) ?? member;
    return { member: memberView(fresh), sessionId: row.id, token, kind, expiresAt: row.expires_at, mfa: false };
  }

  // --- sessions ------------------------------------------------------------------------------------

  /** The live staff session behind a token presented in the form it was issued for. */
  async resolve(token: string, kind: store.StaffSessionKind): Promise<{ principal: StaffPrincipal; stale: boolean } | null> {
    const row = await this.db.withGlobal((tx) => store.liveSession(tx, sha256(token), this.idleSeconds), { readOnly: true });
    if (!row || row.kind !== kind) return null;
    return {
      principal: {
        staffId: row.staff_id,
        name: row.name,
        role: row.role,
        sessionId: row.session_id,
        sessionKind: row.kind,
        mfaAt: row.mfa_at,
        csrfToken: row.kind === 'cookie' ? this.csrfToken(token) : null,
      },
      stale: row.stale,
    };
  }

  touch(principal: StaffPrincipal): void {
    this.deps.defer(() => this.db.withAccount(principal.staffId, (tx) => store.touchSession(tx, principal.sessionId)));
  }

  async describe(principal: StaffPrincipal): Promise<StaffSessionView> {
    return this.db.withAccount(
      principal.staffId,
      async (tx) => {
        const [member, session] = [await store.memberById(tx, principal.staffId), await store.sessionById(tx, principal.sessionId)];
        if (!member || !session) throw new RampartError('unauthenticated');
        return {
          staff: memberView(member),
          permissions: permissionsOf(member.role),
          session: { id: session.id, kind: session.kind, expiresAt: session.expires_at.toISOString(), mfa: session.mfa_at !== null },
          csrfToken: principal.csrfToken,
        };
      },
      { readOnly: true },
    );
  }

  async signOut(principal: StaffPrincipal, meta: RequestMeta): Promise<void> {
    await this.db.withAccount(principal.staffId, async (tx) => {
      await store.revokeSession(tx, principal.sessionId);
      await this.record(tx, staffActor(principal), { action: 'staff.sign_out', outcome: 'success', details: { sessionId: principal.sessionId } }, meta);
    });
  }

  /** Revokes whatever staff session a token names (the cookie a browser had before signing in again). */
  async revokeToken(token: string): Promise<void> {
    await this.db.withGlobal((tx) => store.revokeSessionByToken(tx, sha256(token)));
  }

  // --- the authenticator app -----------------------------------------------------------------------

  /** Starts enrolling an authenticator app: a new secret (replacing an unconfirmed one). */
  async startTotp(principal: StaffPrincipal, meta: RequestMeta): Promise<{ secret: string; otpauthUrl: string }> {
    return this.db.withAccount(principal.staffId, async (tx) => {
      const member = await store.memberById(tx, principal.staffId);
      if (!member) throw new RampartError('unauthenticated');
      const secret = newTotpSecret();
      if (!(await store.upsertPendingTotp(tx, member.id, sealSecret(this.totpKey, member.id, secret)))) throw new RampartError('mfa_already_enabled');
      await this.record(tx, staffActor(principal), { action: 'staff.mfa.totp_enrolment_started', outcome: 'success', target: { type: 'staff', id: member.id } }, meta);
      return { secret, otpauthUrl: otpauthUrl(secret, `staff:${member.email}`) };
    });
  }

  /**
   * Proves a code for this session: confirms a pending enrolment (`staff.mfa.totp_enabled`) or
   * checks the enrolled app (`staff.mfa.verified`). The session then counts as MFA-verified; a
   * cookie session gets a new token (returned), a bearer session keeps its own.
   */
  async verifyTotp(principal: StaffPrincipal, code: string, meta: RequestMeta): Promise<{ token: string | null; session: store.StaffSessionRow }> {
    const key = throttleKey('account', `staff:${principal.staffId}`);
    await this.deps.throttle.hit('mfa', key);
    await this.deps.throttle.assertNotLocked(key);
    const result = await this.db.withAccount(principal.staffId, async (tx) => {
      const row = await store.totpFactor(tx, principal.staffId);
      if (!row) throw new RampartError('factor_not_found', { message: 'Start enrolling an authenticator app first.' });
      const step = await matchTotpStep(openSecret(this.totpKey, principal.staffId, row.secret_ciphertext), code, Number(row.last_used_step));
      if (step === null || !(await store.useTotpStep(tx, principal.staffId, step))) return null;
      const token = principal.sessionKind === 'cookie' ? randomToken(SESSION_TOKEN_PREFIX) : null;
      const session = await store.markSessionMfa(tx, principal.sessionId, token ? sha256(token) : null);
      if (!session) throw new RampartError('unauthenticated');
      const enrolled = row.confirmed_at === null;
      await this.record(
        tx,
        staffActor(principal),
        { action: enrolled ? 'staff.mfa.totp_enabled' : 'staff.mfa.verified', outcome: 'success', target: { type: 'staff', id: principal.staffId }, details: { sessionId: principal.sessionId } },
        meta,
      );
      return { token, session };
    });
    if (!result) {
      const { lockedNow } = await this.deps.throttle.recordFailure(key);
      await this.deps.events.record(
        staffActor(principal),
        { action: 'staff.mfa.verified', outcome: 'failure', target: { type: 'staff', id: principal.staffId }, details: { reason: 'wrong_code', locked: lockedNow } },
        meta,
      );
      throw new RampartError('invalid_credentials');
    }
    await this.deps.throttle.recordSuccess(key);
    return result;
  }
}
