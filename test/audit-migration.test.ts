/**
 * Upgrading a database from before the chained audit log: the events already recorded (workspace
 * and authentication events) join their chains in the order they happened, verify, and stay
 * readable under their old table names (now views).
 */
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../src/platform/audit/log.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { loadMigrations } from '../src/platform/db/migrate.js';
import { tenantContext } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';

describe('migration 0008 (audit log) on existing events', () => {
  it('chains the existing events of each workspace and account, oldest first, and they verify', async () => {
    const all = loadMigrations();
    const before = all.findIndex((m) => m.version.startsWith('0008'));
    expect(before).toBeGreaterThan(0);
    const db = await PgliteDatabase.open({});
    try {
      await db.migrate(all.slice(0, before));
      const tenant = newId();
      const account = newId();
      await db.withGlobal((tx) => tx.query(`INSERT INTO accounts (id, email) VALUES ($1, 'old@example.test')`, [account]));
      await db.withTenant(tenantContext(tenant, null), async (tx) => {
        await tx.query(`INSERT INTO workspaces (tenant_id, name, region) VALUES ($1, 'Old', 'eu')`, [tenant]);
        for (let i = 0; i < 5; i++) {
          await tx.query(
            `INSERT INTO workspace_events (tenant_id, id, actor_type, actor_id, action, outcome, target_type, target_id, ip, details, created_at)
             VALUES ($1, $2, 'account', $3, 'role.created', 'success', 'role', 'r', '10.0.0.1', $4, now() - make_interval(mins => $5))`,
            [tenant, newId(), account, JSON.stringify({ i }), 10 - i],
          );
        }
      });
      await db.withGlobal((tx) =>
        tx.query(`INSERT INTO auth_events (id, account_id, email, action, outcome, details) VALUES ($1, $2, 'old@example.test', 'auth.sign_in', 'success', '{}')`, [
          newId(),
          account,
        ]),
      );
      await db.migrate();
      const audit = new AuditLog(db);
      expect(await audit.sequenceAll()).toBe(6);
      const events = await audit.list(tenant, { limit: 10 });
      expect(events.map((e) => e.details['i'])).toEqual([4, 3, 2, 1, 0]);
      expect(events[0]).toMatchObject({ seq: 5, action: 'role.created', actor: { type: 'account', id: account }, target: { type: 'role', id: 'r' }, ip: '10.0.0.1' });
      expect((await audit.verify(tenant, [])).firstBad?.message ?? null).toBeNull();
      expect(await audit.verify('accounts', [])).toMatchObject({ ok: true, count: 1 });
      // The old names still read, as views.
      const old = await db.withTenant(tenantContext(tenant, null), (tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM workspace_events'));
      expect(old.rows[0]?.n).toBe(5);
      await audit.stop();
    } finally {
      await db.close();
    }
  });
});
