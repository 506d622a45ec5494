/**
 * API keys of a workspace. A key is made with a subset of its creator's scopes (an API key
 * making a key: of its own), an optional expiry and a name; its secret is shown once and stored
 * only as SHA-256. Requests with a key act as the key: they are attributed to it in events, and
 * its scopes are cut, on every request, to what its creator still holds. A key dies when it is
 * revoked, expires, or its creator leaves the workspace; revoking a key revokes the keys it made.
 */
import type { Database } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import { accountableAccount, type WorkspaceCaller } from '../../platform/http/context.js';
import { sortScopes, scopesOf, type Scope } from '../../platform/http/scopes.js';
import { newId, sha256 } from '../../platform/ids.js';
import type { WorkspaceEvents } from '../events/index.js';
import { assertHolds, type MembersService } from '../members/index.js';
import type { ApiKeyView, KeyWorkspaceView } from './schemas.js';
import { displayPrefix, newApiKeySecret } from './secret.js';
import * as store from './store.js';

const MAX_LIFETIME_MS = 2 * 366 * 86_400_000;

function view(row: store.ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.display_prefix,
    scopes: sortScopes(scopesOf(row.scopes)),
    createdBy: row.creator_email !== null ? { accountId: row.created_by, name: row.creator_name ?? '', email: row.creator_email } : null,
    createdByKey: row.created_by_key,
    status: row.revoked_at ? 'revoked' : row.expired ? 'expired' : 'active',
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

export class ApiKeysService {
  constructor(
    private readonly db: Database,
    private readonly events: WorkspaceEvents,
    members: MembersService,
  ) {
    // A member who leaves takes their keys (and the keys those made) with them (told in the removal's event).
    members.onMemberRemoved(async (tx, removed, by) => {
      const revoked = await store.revokeWithDescendants(tx, { createdBy: removed.accountId }, by.actor.id);
      return { apiKeysRevoked: [...revoked].sort() };
    });
  }

  list(caller: WorkspaceCaller): Promise<ApiKeyView[]> {
    return this.db.withTenant(caller.tenant, async (tx) => (await store.list(tx)).map(view), { readOnly: true });
  }

  async create(caller: WorkspaceCaller, input: { name: string; scopes: readonly Scope[]; expiresAt?: string | undefined }): Promise<ApiKeyView & { secret: string }> {
    const scopes = sortScopes(input.scopes);
    assertHolds(caller, scopes);
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt);
    if (expiresAt && (expiresAt.getTime() <= Date.now() || expiresAt.getTime() > Date.now() + MAX_LIFETIME_MS)) {
      throw new RampartError('validation_failed', {
        message: 'The expiry must be in the future and at most two years ahead.',
        details: { issues: [{ path: 'body.expiresAt', message: 'must be in the future and at most two years ahead' }] },
      });
    }
    const secret = newApiKeySecret();
    const id = newId();
    const actor = caller.actor;
    return this.db.withTenant(caller.tenant, async (tx) => {
      await store.insert(tx, {
        id,
        name: input.name,
        displayPrefix: displayPrefix(secret),
        secretHash: sha256(secret),
        scopes,
        createdBy: accountableAccount(actor),
        createdByKey: actor.type === 'api_key' ? actor.id : null,
        expiresAt,
      });
      await this.events.recordIn(
        tx,
        actor,
        { action: 'api_key.created', outcome: 'success', target: { type: 'api_key', id }, details: { name: input.name, scopes, expiresAt: expiresAt?.toISOString() ?? null } },
        caller.meta,
      );
      return { ...view((await store.byId(tx, id))!), secret };
    });
  }

  /**
   * The calling key as it acts now (its effective scopes), for `GET /api/v1/workspace`; `workspace`
   * is its workspace, read by the caller.
   */
  async own(caller: WorkspaceCaller, workspace: { id: string; name: string; region: string; createdAt: string }): Promise<KeyWorkspaceView> {
    const actor = caller.actor;
    if (actor.type !== 'api_key') throw new RampartError('unauthenticated');
    const row = await this.db.withTenant(caller.tenant, (tx) => store.byId(tx, actor.id), { readOnly: true });
    if (!row) throw new RampartError('unauthenticated');
    return {
      id: workspace.id,
      name: workspace.name,
      region: workspace.region,
      createdAt: workspace.createdAt,
      apiKey: { id: row.id, name: row.name, scopes: sortScopes(caller.scopes), createdAt: row.created_at.toISOString() },
    };
  }

  async revoke(caller: WorkspaceCaller, keyId: string): Promise<void> {
    await this.db.withTenant(caller.tenant, async (tx) => {
      const row = await store.byId(tx, keyId);
      if (!row || row.revoked_at) throw new RampartError('api_key_not_found');
      const revoked = await store.revokeWithDescendants(tx, { keyId }, caller.actor.id);
      // One event: the key revoked, and the keys it had made that went with it.
      await this.events.recordIn(
        tx,
        caller.actor,
        { action: 'api_key.revoked', outcome: 'success', target: { type: 'api_key', id: keyId }, details: { name: row.name, descendantsRevoked: revoked.filter((id) => id !== keyId).sort() } },
        caller.meta,
      );
    });
  }
}
