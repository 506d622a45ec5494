/**
 * Accounts and sessions: email + password (argon2id), opaque session tokens stored only as
 * SHA-256 digests, cookie sessions for the console and bearer sessions for API clients, and the
 * one-time setup link that guards the first account.
 */
import { hash, verify, type Algorithm, type Options as Argon2Options } from '@node-rs/argon2';
import type { Database, Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { Principal } from '../../platform/http/context.js';
import { deriveKey, hmacSha256, newId, randomToken, sha256 } from '../../platform/ids.js';
import { PASSWORD_MIN, type AccountView } from './schemas.js';
import * as store from './store.js';

export interface AccountsConfig {
  readonly rootSecret: string;
  readonly sessionTtlSeconds: number;
  readonly signup: 'open' | 'closed';
  readonly argon2MemoryKib: number;
}

export interface RequestMeta {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface IssuedSession {
  readonly account: AccountView;
  readonly sessionId: string;
  readonly token: string;
  readonly kind: Principal['sessionKind'];
  readonly expiresAt: Date;
}

/** Algorithm.Argon2id (a const enum, which isolated modules cannot import by name). */
const ARGON2ID = 2 as Algorithm;
/** How long the printed setup link stays valid. */
const SETUP_TOKEN_TTL_SECONDS = 24 * 3600;
const SESSION_TOKEN_PREFIX = 'rs';
const SETUP_TOKEN_PREFIX = 'rsu';

export function accountView(row: store.AccountRow): AccountView {
  return { id: row.id, email: row.email, name: row.name, createdAt: row.created_at.toISOString() };
}

export class AccountsService {
  private readonly csrfKey: Buffer;
  private readonly argon2: Argon2Options;
  /** A real hash of a random password, verified against when an email is unknown (same cost). */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly db: Database,
    private readonly config: AccountsConfig,
  ) {
    this.csrfKey = deriveKey(config.rootSecret, 'csrf/v1');
    this.argon2 = { algorithm: ARGON2ID, memoryCost: config.argon2MemoryKib, timeCost: 2, parallelism: 1 };
  }

  private hashPassword(password: string): Promise<string> {
    return hash(password, this.argon2);
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.hashPassword(randomToken('dummy'));
    return this.dummyHash;
  }

  /** Creates an account and signs it in. The first account needs the setup token. */
  async signUp(
    input: { email: string; password: string; name: string; setupToken?: string | undefined },
    kind: Principal['sessionKind'],
    meta: RequestMeta,
  ): Promise<IssuedSession> {
    if (input.password.length < PASSWORD_MIN) {
      throw new RampartError('weak_password', { message: `The password must be at least ${PASSWORD_MIN} characters.` });
    }
    const passwordHash = await this.hashPassword(input.password);
    return this.db.withGlobal(async (tx) => {
      if (!(await store.anyAccount(tx))) {
        const token = input.setupToken;
        if (!token || !(await store.consumeSetupToken(tx, sha256(token)))) {
          throw new RampartError('setup_token_invalid', {
            message: 'The first account needs the one-time setup link printed when Rampart started.',
          });
        }
      } else if (this.config.signup === 'closed') {
        throw new RampartError('signup_closed');
      }
      const account = await store.insertAccount(tx, { id: newId(), email: input.email, name: input.name, passwordHash });
      if (!account) throw new RampartError('account_exists');
      return this.issue(tx, account, kind, meta);
    });
  }

  /** Verifies a password and opens a session. Unknown email and wrong password look alike. */
  async signIn(input: { email: string; password: string }, kind: Principal['sessionKind'], meta: RequestMeta): Promise<IssuedSession> {
    const found = await this.db.withGlobal((tx) => store.credentialsByEmail(tx, input.email), { readOnly: true });
    const ok = await verify(found?.password_hash ?? (await this.dummy()), input.password).catch(() => false);
    if (!found || !found.password_hash || !ok) throw new RampartError('invalid_credentials');
    return this.db.withGlobal((tx) => this.issue(tx, found, kind, meta));
  }

  private async issue(
    tx: Tx,
    account: store.AccountRow,
    kind: Principal['sessionKind'],
    meta: RequestMeta,
  ): Promise<IssuedSession> {
    const token = randomToken(SESSION_TOKEN_PREFIX);
    const row = await store.insertSession(tx, {
      id: newId(),
      tokenHash: sha256(token),
      accountId: account.id,
      kind,
      ttlSeconds: this.config.sessionTtlSeconds,
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
    });
    return { account: accountView(account), sessionId: row.id, token, kind, expiresAt: row.expires_at };
  }

  async describeSession(principal: Principal): Promise<{ account: AccountView; expiresAt: Date }> {
    return this.db.withAccount(
      principal.accountId,
      async (tx) => {
        const [account, session] = await Promise.all([store.accountById(tx, principal.accountId), store.sessionById(tx, principal.sessionId)]);
        if (!account || !session) throw new RampartError('unauthenticated');
        return { account: accountView(account), expiresAt: session.expires_at };
      },
      { readOnly: true },
    );
  }

  async signOut(principal: Principal): Promise<void> {
    await this.db.withAccount(principal.accountId, (tx) => store.revokeSession(tx, principal.sessionId));
  }

  csrfToken(sessionId: string): string {
    return hmacSha256(this.csrfKey, sessionId).toString('base64url');
  }

  async setupRequired(): Promise<boolean> {
    return !(await this.db.withGlobal((tx) => store.anyAccount(tx), { readOnly: true }));
  }

  /**
   * While no account exists, makes a new one-time setup token (replacing any earlier one) and
   * returns it; returns null once the first account exists.
   */
  async issueSetupToken(): Promise<string | null> {
    return this.db.withGlobal(async (tx) => {
      if (await store.anyAccount(tx)) return null;
      const token = randomToken(SETUP_TOKEN_PREFIX);
      await store.replaceSetupToken(tx, sha256(token), SETUP_TOKEN_TTL_SECONDS);
      return token;
    });
  }
}
