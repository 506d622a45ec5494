/**
 * The per-tenant secrets vault: integration credentials under
 * `tenants/<workspace>/integrations/<integration>/<name>`, encrypted like record bodies (bound to
 * tenant, table, row and field). Values go in through the API and never come back out of it:
 * only server-side code that uses a secret calls `reveal`, which returns a `Secret` (printing it
 * shows `[redacted]`) and records who read it and why.
 */
import type { ContentCodec } from '../../platform/content/codec.js';
import type { Database, TenantContext, Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { WorkspaceCaller } from '../../platform/http/context.js';
import { newId } from '../../platform/ids.js';
import { Secret } from '../../platform/secret.js';
import type { WorkspaceEvents } from '../events/workspace.js';
import type { SecretViewT } from './schemas.js';

type SecretRow = {
  id: string;
  integration: string;
  name: string;
  version: number;
  value: Buffer;
  value_format: number;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
};

const META = 'id, integration, name, version, created_at, updated_at, last_used_at';

export function secretPath(tenantId: string, integration: string, name: string): string {
  return `tenants/${tenantId}/integrations/${integration}/${name}`;
}

function view(tenantId: string, row: Omit<SecretRow, 'value' | 'value_format'>): SecretViewT {
  return {
    id: row.id,
    path: secretPath(tenantId, row.integration, row.name),
    integration: row.integration,
    name: row.name,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

export class VaultService {
  constructor(
    private readonly db: Database,
    private readonly codec: ContentCodec,
    private readonly events: WorkspaceEvents,
  ) {}

  private seal(tenantId: string, id: string, value: string) {
    return this.codec.seal({ tenantId, table: 'secrets', rowId: id, field: 'value' }, Buffer.from(value, 'utf8'));
  }

  async list(caller: Pick<WorkspaceCaller, 'tenant'>): Promise<SecretViewT[]> {
    const rows = await this.db.withTenant(
      caller.tenant,
      async (tx) => (await tx.query<SecretRow>(`SELECT ${META} FROM secrets WHERE tenant_id = current_tenant_id() ORDER BY integration, name`)).rows,
      { readOnly: true },
    );
    return rows.map((r) => view(caller.tenant.tenantId, r));
  }

  async get(caller: Pick<WorkspaceCaller, 'tenant'>, integration: string, name: string): Promise<SecretViewT> {
    const row = await this.db.withTenant(caller.tenant, (tx) => this.find(tx, integration, name), { readOnly: true });
    if (!row) throw new RampartError('secret_not_found');
    return view(caller.tenant.tenantId, row);
  }

  private async find(tx: Tx, integration: string, name: string): Promise<SecretRow | null> {
    const { rows } = await tx.query<SecretRow>(
      `SELECT ${META}, value, value_format FROM secrets WHERE tenant_id = current_tenant_id() AND integration = $1 AND name = $2`,
      [integration, name],
    );
    return rows[0] ?? null;
  }

  async create(caller: WorkspaceCaller, input: { integration: string; name: string; value: string }): Promise<SecretViewT> {
    const id = newId();
    const sealed = await this.seal(caller.tenant.tenantId, id, input.value);
    const row = await this.db.withTenant(caller.tenant, async (tx) => {
      const { rows } = await tx.query<SecretRow>(
        `INSERT INTO secrets (tenant_id, id, integration, name, value, value_format, key_version, created_by, updated_by)
         VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (tenant_id, integration, name) DO NOTHING RETURNING ${META}`,
        [id, input.integration, input.name, sealed.stored, sealed.format, sealed.keyVersion, caller.actor.id],
      );
      const created = rows[0];
      if (!created) throw new RampartError('secret_exists');
      await this.record(tx, caller, 'secret.created', created);
      return created;
    });
    return view(caller.tenant.tenantId, row);
  }

  /** A new value for an existing secret; the version goes up and the old value is gone. */
  async rotate(caller: WorkspaceCaller, integration: string, name: string, value: string): Promise<SecretViewT> {
    const row = await this.db.withTenant(caller.tenant, async (tx) => {
      const current = await this.find(tx, integration, name);
      if (!current) throw new RampartError('secret_not_found');
      const sealed = await this.seal(caller.tenant.tenantId, current.id, value);
      const { rows } = await tx.query<SecretRow>(
        `UPDATE secrets SET value = $2, value_format = $3, key_version = $4, version = version + 1, updated_by = $5, updated_at = now()
          WHERE tenant_id = current_tenant_id() AND id = $1 RETURNING ${META}`,
        [current.id, sealed.stored, sealed.format, sealed.keyVersion, caller.actor.id],
      );
      const rotated = rows[0] as SecretRow;
      await this.record(tx, caller, 'secret.rotated', rotated);
      return rotated;
    });
    return view(caller.tenant.tenantId, row);
  }

  async delete(caller: WorkspaceCaller, integration: string, name: string): Promise<void> {
    await this.db.withTenant(caller.tenant, async (tx) => {
      const { rows } = await tx.query<SecretRow>(
        `DELETE FROM secrets WHERE tenant_id = current_tenant_id() AND integration = $1 AND name = $2 RETURNING ${META}`,
        [integration, name],
      );
      const deleted = rows[0];
      if (!deleted) throw new RampartError('secret_not_found');
      await this.record(tx, caller, 'secret.deleted', deleted);
    });
  }

  /**
   * The value, for the server-side code that uses it (an integration making a call). Every
   * read is an event naming the purpose.
   */
  async reveal(tenant: TenantContext, integration: string, name: string, purpose: string): Promise<Secret<string>> {
    const row = await this.db.withTenant(tenant, (tx) => this.find(tx, integration, name), { readOnly: true });
    if (!row) throw new RampartError('secret_not_found');
    const plain = await this.codec.open({ tenantId: tenant.tenantId, table: 'secrets', rowId: row.id, field: 'value' }, row.value_format, row.value);
    const value = new Secret(plain.toString('utf8'));
    plain.fill(0);
    await this.db.withTenant(tenant, async (tx) => {
      await tx.query('UPDATE secrets SET last_used_at = now() WHERE tenant_id = current_tenant_id() AND id = $1', [row.id]);
      await this.events.recordIn(
        tx,
        null,
        {
          action: 'secret.read',
          outcome: 'success',
          target: { type: 'secret', id: row.id },
          details: { path: secretPath(tenant.tenantId, integration, name), version: row.version, purpose: purpose.slice(0, 200) },
        },
        null,
      );
    });
    return value;
  }

  private record(tx: Tx, caller: WorkspaceCaller, action: string, row: Omit<SecretRow, 'value' | 'value_format'>): Promise<void> {
    return this.events.recordIn(
      tx,
      caller.actor,
      {
        action,
        outcome: 'success',
        target: { type: 'secret', id: row.id },
        details: { path: secretPath(caller.tenant.tenantId, row.integration, row.name), version: row.version },
      },
      caller.meta,
    );
  }
}
