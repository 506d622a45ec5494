/**
 * Request access: who is calling (the session behind a presented token, or an API key) and, for
 * workspace routes, the caller's effective scopes in that workspace — resolved together in one
 * read-only statement, so authenticating a request costs one round trip and the permission
 * decision none. Sessions are created and revoked by the accounts module, memberships and roles
 * by the members module, keys by the API-keys module; this module only reads them.
 */
import type { BackgroundWork } from '../../platform/background.js';
import { tenantContext, type Database } from '../../platform/db/types.js';
import type { Actor, Membership, Principal } from '../../platform/http/context.js';
import { intersectScopes, scopesFromGrants, scopesOf } from '../../platform/http/scopes.js';
import { sha256 } from '../../platform/ids.js';
import { isWellFormedApiKey } from '../api-keys/index.js';
import * as store from './store.js';

export interface Access {
  readonly principal: Principal;
  /** The membership of the requested workspace; null when none was requested or there is none. */
  readonly membership: Membership | null;
  /** Whether the session's idle clock should be moved. */
  readonly stale: boolean;
}

export interface KeyAccess {
  readonly actor: Actor & { type: 'api_key' };
  readonly membership: Membership;
  readonly stale: boolean;
}

export class AccessService {
  constructor(
    private readonly db: Database,
    private readonly idleSeconds: number,
    /** The CSRF token of a cookie session, from its token. */
    private readonly csrfToken: (token: string) => string,
    private readonly background: BackgroundWork,
  ) {}

  /**
   * Resolves a presented token. A token presented in another form than it was issued for
   * (a bearer token as a cookie, or the reverse) is no session at all.
   */
  async resolve(token: string, kind: Principal['sessionKind'], workspaceId: string | null): Promise<Access | null> {
    const digest = sha256(token);
    const read = (tx: Parameters<typeof store.sessionAndMembership>[0]) => store.sessionAndMembership(tx, digest, this.idleSeconds);
    const row = workspaceId
      ? await this.db.withTenant(tenantContext(workspaceId, null), read, { readOnly: true })
      : await this.db.withGlobal(read, { readOnly: true });
    if (!row || row.kind !== kind) return null;
    const principal: Principal = {
      accountId: row.account_id,
      sessionId: row.session_id,
      sessionKind: row.kind,
      mfaAt: row.mfa_at,
      csrfToken: row.kind === 'cookie' ? this.csrfToken(token) : null,
    };
    const membership: Membership | null =
      workspaceId && row.member && row.region
        ? {
            tenant: tenantContext(workspaceId, row.account_id),
            scopes: scopesFromGrants(row.grants ?? []),
            region: row.region,
            requireMfa: row.require_mfa === true,
          }
        : null;
    return { principal, membership, stale: row.stale };
  }

  /**
   * Resolves an API key presented to a workspace. Its scopes are its own, cut down to what its
   * creator holds now: a creator who lost a scope (or left) takes it from their keys at once.
   */
  async resolveApiKey(secret: string, workspaceId: string): Promise<KeyAccess | null> {
    // A look-alike (wrong shape or checksum) costs no lookup.
    if (!isWellFormedApiKey(secret)) return null;
    const digest = sha256(secret);
    const row = await this.db.withTenant(tenantContext(workspaceId, null), (tx) => store.apiKey(tx, digest), { readOnly: true });
    if (!row || row.creator_grants === null) return null;
    return {
      actor: { type: 'api_key', id: row.id, createdBy: row.created_by },
      membership: {
        tenant: tenantContext(workspaceId, null),
        scopes: intersectScopes(scopesOf(row.scopes), scopesFromGrants(row.creator_grants)),
        region: row.region,
        requireMfa: row.require_mfa,
      },
      stale: row.stale,
    };
  }

  /**
   * Resolves an API key presented without a workspace: its workspace is found by the secret's
   * digest alone (the definer function answers the tenant id of a live key, nothing else), then
   * the key is read in that workspace's context exactly as `resolveApiKey` reads it.
   */
  async resolveOwnApiKey(secret: string): Promise<KeyAccess | null> {
    if (!isWellFormedApiKey(secret)) return null;
    const workspaceId = await this.db.withGlobal((tx) => store.apiKeyWorkspace(tx, sha256(secret)), { readOnly: true });
    return workspaceId ? this.resolveApiKey(secret, workspaceId) : null;
  }

  /** Records that a key was used, after the response (at most about once a minute per key). */
  touchApiKey(membership: Membership, keyId: string): void {
    this.background.run(() => this.db.withTenant(membership.tenant, (tx) => store.touchApiKey(tx, keyId)));
  }
}
