/**
 * Upgrading a database from before roles: each workspace gets its built-in roles, and each
 * membership the role it had (owner or member), so nobody gains or loses access by the upgrade.
 */
import { describe, expect, it } from 'vitest';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { loadMigrations } from '../src/platform/db/migrate.js';
import { tenantContext } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';

describe('migration 0006 (access control) on existing data', () => {
  it('gives every workspace its built-in roles and every member the role they had', async () => {
    const all = loadMigrations();
    const before = all.findIndex((m) => m.version.startsWith('0006'));
    expect(before).toBeGreaterThan(0);
    const db = await PgliteDatabase.open({});
    try {
      await db.migrate(all.slice(0, before));
      const tenant = newId();
      const [boss, worker] = [newId(), newId()];
      await db.withGlobal((tx) => tx.query(`INSERT INTO accounts (id, email) VALUES ($1, 'boss@example.test'), ($2, 'worker@example.test')`, [boss, worker]));
      await db.withTenant(tenantContext(tenant, null), async (tx) => {
        await tx.query(`INSERT INTO workspaces (tenant_id, name, region) VALUES ($1, 'Old', 'eu')`, [tenant]);
        await tx.query(`INSERT INTO memberships (tenant_id, account_id, role) VALUES ($1, $2, 'owner'), ($1, $3, 'member')`, [tenant, boss, worker]);
      });
      await db.migrate();
      const rows = await db.withTenant(tenantContext(tenant, null), async (tx) => ({
        roles: (await tx.query<{ builtin: string; name: string }>('SELECT builtin, name FROM roles ORDER BY name')).rows,
        grants: (
          await tx.query<{ account_id: string; builtin: string }>(
            'SELECT mr.account_id, r.builtin FROM member_roles mr JOIN roles r ON r.tenant_id = mr.tenant_id AND r.id = mr.role_id ORDER BY r.builtin',
          )
        ).rows,
        grantsKept: (await tx.query<{ account_id: string; grants: string[] }>('SELECT account_id, grants FROM memberships ORDER BY grants')).rows,
      }));
      expect(rows.roles).toEqual([
        { builtin: 'admin', name: 'Admin' },
        { builtin: 'member', name: 'Member' },
        { builtin: 'owner', name: 'Owner' },
      ]);
      expect(rows.grants).toEqual([
        { account_id: worker, builtin: 'member' },
        { account_id: boss, builtin: 'owner' },
      ]);
      // The grants the authenticating statement reads are filled in too.
      expect(rows.grantsKept).toEqual([
        { account_id: worker, grants: ['role:member'] },
        { account_id: boss, grants: ['role:owner'] },
      ]);
    } finally {
      await db.close();
    }
  });
});
