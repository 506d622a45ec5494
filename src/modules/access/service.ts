/**
 * Request access: who is calling (the session behind a presented token) and, for workspace
 * routes, their membership of that workspace — resolved together in one read-only statement, so
 * authenticating a request costs one round trip. Sessions are created and revoked by the
 * accounts module and memberships by the workspaces module; this module only reads them.
 */
import { tenantContext, type Database } from '../../platform/db/types.js';
import type { Membership, Principal } from '../../platform/http/context.js';
import { sha256 } from '../../platform/ids.js';
import * as store from './store.js';

export interface Access {
  readonly principal: Principal;
  /** The membership of the requested workspace; null when none was requested or there is none. */
  readonly membership: Membership | null;
  /** Whether the session's idle clock should be moved. */
  readonly stale: boolean;
}

export class AccessService {
  constructor(
    private readonly db: Database,
    private readonly idleSeconds: number,
    /** The CSRF token of a cookie session, from its token. */
    private readonly csrfToken: (token: string) => string,
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
    const membership =
      workspaceId && row.role && row.region
        ? { tenant: tenantContext(workspaceId, row.account_id), role: row.role, region: row.region, requireMfa: row.require_mfa === true }
        : null;
    return { principal, membership, stale: row.stale };
  }
}
