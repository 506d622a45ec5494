/**
 * The data layer's isolation guarantees, asserted against the database itself on every backend:
 * the role and tenant of each transaction, what row-level security lets through for reads and
 * writes, what a pooled connection carries afterwards (nothing, even after an error), and what
 * the app role can do when it talks to the database directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/platform/ids.js';
import { loadMigrations } from '../src/platform/db/migrate.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { PostgresDatabase } from '../src/platform/db/postgres.js';
import { statementName } from '../src/platform/db/pg-batch.js';
import { MigrationError, tenantContext, type Database, type Tx } from '../src/platform/db/types.js';
import { BACKENDS, type TestDatabase } from './helpers/backends.js';

/** Runs SQL on the connection the pool hands out next, outside any Rampart transaction. */
async function onPooledConnection(db: Database, sql: string): Promise<Record<string, unknown>> {
  if (db instanceof PostgresDatabase) return (await db.pool.query(sql)).rows[0] as Record<string, unknown>;
  if (db instanceof PgliteDatabase) return (await db.pg.query<Record<string, unknown>>(sql)).rows[0] as Record<string, unknown>;
  throw new Error('unknown database');
}

async function seedTenant(db: Database, name: string): Promise<{ tenantId: string; collectionId: string; recordId: string }> {
  const tenantId = newId();
  const collectionId = newId();
  const recordId = newId();
  await db.withTenant(tenantContext(tenantId, null), async (tx) => {
    await tx.query(`INSERT INTO workspaces (tenant_id, name, region) VALUES ($1, $2, 'eu')`, [tenantId, name]);
    await tx.query(`INSERT INTO collections (tenant_id, id, name) VALUES ($1, $2, 'c')`, [tenantId, collectionId]);
    await tx.query(`INSERT INTO records (tenant_id, id, collection_id, body, body_format) VALUES ($1, $2, $3, $4, 0)`, [
      tenantId,
      recordId,
      collectionId,
      Buffer.from(JSON.stringify({ owner: name })),
    ]);
  });
  return { tenantId, collectionId, recordId };
}

const TENANT_TABLES = ['workspaces', 'memberships', 'collections', 'records', 'documents'];

describe.each(BACKENDS)('data layer on $name', (backend) => {
  let t: TestDatabase;
  let db: Database;
  let a: Awaited<ReturnType<typeof seedTenant>>;
  let b: Awaited<ReturnType<typeof seedTenant>>;

  beforeAll(async () => {
    // One pooled connection, so "the next transaction" is guaranteed to reuse the same one.
    t = await backend.open({ poolSize: 1 });
    db = t.db;
    a = await seedTenant(db, 'A');
    b = await seedTenant(db, 'B');
  });
  afterAll(async () => t?.close());

  const ctxA = () => tenantContext(a.tenantId, null);

  for (const readOnly of [false, true]) {
    describe(readOnly ? 'read-only transactions' : 'read-write transactions', () => {
      it('run as the app role with the tenant set', async () => {
        const row = await db.withTenant(
          ctxA(),
          async (tx) =>
            (await tx.query<{ u: string; t: string; ro: string }>(
              "SELECT current_user AS u, current_setting('rampart.tenant_id') AS t, current_setting('transaction_read_only') AS ro",
            )).rows[0],
          { readOnly },
        );
        expect(row).toEqual({ u: 'rampart_app', t: a.tenantId, ro: readOnly ? 'on' : 'off' });
      });

      it("see only their tenant's rows in every tenant table", async () => {
        const counts = await db.withTenant(
          ctxA(),
          async (tx) => {
            const out: Record<string, string[]> = {};
            for (const table of TENANT_TABLES) {
              out[table] = (await tx.query<{ tenant_id: string }>(`SELECT DISTINCT tenant_id FROM ${table}`)).rows.map((r) => r.tenant_id);
            }
            return out;
          },
          { readOnly },
        );
        expect(counts['workspaces']).toEqual([a.tenantId]);
        expect(counts['collections']).toEqual([a.tenantId]);
        expect(counts['records']).toEqual([a.tenantId]);
        // Even naming B's row by its key finds nothing.
        const direct = await db.withTenant(ctxA(), (tx) => tx.query('SELECT * FROM records WHERE id = $1', [b.recordId]), { readOnly });
        expect(direct.rows).toEqual([]);
      });

      it('leave nothing on the pooled connection, even when a statement fails', async () => {
        await expect(
          db.withTenant(
            ctxA(),
            async (tx) => {
              await tx.query('SELECT 1 FROM records');
              await tx.query('SELECT 1/0');
            },
            { readOnly },
          ),
        ).rejects.toThrow(/division by zero/);
        const after = await onPooledConnection(
          db,
          "SELECT current_user AS u, coalesce(current_setting('rampart.tenant_id', true), '') AS t, coalesce(current_setting('rampart.account_id', true), '') AS a, current_setting('transaction_read_only') AS ro",
        );
        expect(after['u']).not.toBe('rampart_app');
        expect(after['t']).toBe('');
        expect(after['a']).toBe('');
        expect(after['ro']).toBe('off');
        // And the next transaction without a tenant sees no tenant rows at all.
        const seen = await db.withGlobal((tx) => tx.query('SELECT count(*)::int AS n FROM records'), { readOnly });
        expect(seen.rows[0]).toEqual({ n: 0 });
      });
    });
  }

  it('refuses to write a row into another tenant (WITH CHECK), on insert and update', async () => {
    await expect(
      db.withTenant(ctxA(), (tx) =>
        tx.query(`INSERT INTO collections (tenant_id, id, name) VALUES ($1, $2, 'smuggled')`, [b.tenantId, newId()]),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      db.withTenant(ctxA(), (tx) => tx.query('UPDATE records SET tenant_id = $1 WHERE id = $2', [b.tenantId, a.recordId])),
    ).rejects.toThrow(/row-level security/);
  });

  it("updates and deletes nothing of another tenant's", async () => {
    const result = await db.withTenant(ctxA(), async (tx) => {
      const u = await tx.query('UPDATE records SET version = version + 1 WHERE id = $1', [b.recordId]);
      const d = await tx.query('DELETE FROM records WHERE id = $1', [b.recordId]);
      const all = await tx.query('DELETE FROM workspaces WHERE tenant_id = $1', [b.tenantId]);
      return [u.rowCount, d.rowCount, all.rowCount];
    });
    expect(result).toEqual([0, 0, 0]);
    const still = await db.withTenant(tenantContext(b.tenantId, null), (tx) => tx.query('SELECT version FROM records WHERE id = $1', [b.recordId]));
    expect(still.rows).toEqual([{ version: 1 }]);
  });

  it('refuses writes in a read-only transaction', async () => {
    await expect(
      db.withTenant(ctxA(), (tx) => tx.query('UPDATE records SET version = version + 1'), { readOnly: true }),
    ).rejects.toThrow(/read-only transaction/);
  });

  it('rolls back a transaction whose failed statement the callback swallowed', async () => {
    const name = `swallowed-${newId()}`;
    await expect(
      db.withTenant(ctxA(), async (tx) => {
        await tx.query(`INSERT INTO collections (tenant_id, id, name) VALUES ($1, $2, 'okname')`, [a.tenantId, newId()]);
        await tx.query('SELECT 1/0').catch(() => undefined);
        return name;
      }),
    ).rejects.toThrow(/rolled back/);
    const rows = await db.withTenant(ctxA(), (tx) => tx.query(`SELECT 1 FROM collections WHERE name = 'okname'`));
    expect(rows.rows).toEqual([]);
  });

  it('commits all statements of a read-write transaction together, or none', async () => {
    const id = newId();
    await expect(
      db.withTenant(ctxA(), async (tx) => {
        await tx.query(`INSERT INTO collections (tenant_id, id, name) VALUES ($1, $2, 'atomic')`, [a.tenantId, id]);
        throw new Error('application failure after the insert');
      }),
    ).rejects.toThrow(/application failure/);
    expect((await db.withTenant(ctxA(), (tx) => tx.query('SELECT 1 FROM collections WHERE id = $1', [id]))).rows).toEqual([]);
  });

  it('refuses a transaction handle used after its transaction', async () => {
    let leaked: Tx | undefined;
    await db.withTenant(ctxA(), async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.query('SELECT 1')).rejects.toThrow(/after its transaction ended/);
  });

  it("withGlobal sees no account's rows and no tenant rows; withAccount sees its own account and memberships", async () => {
    const accountId = newId();
    await db.withAccount(accountId, (tx) => tx.query(`INSERT INTO accounts (id, email) VALUES ($1, $2)`, [accountId, `${accountId}@example.test`]));
    const [held, other] = [newId(), newId()];
    await db.withTenant(ctxA(), async (tx) => {
      await tx.query(`INSERT INTO memberships (tenant_id, account_id) VALUES ($1, $2)`, [a.tenantId, accountId]);
      await tx.query(`INSERT INTO roles (tenant_id, id, name, scopes) VALUES ($1, $2, $3, '{records:read}'), ($1, $4, $5, '{records:write}')`, [
        a.tenantId,
        held,
        `held-${held}`,
        other,
        `other-${other}`,
      ]);
      await tx.query(`INSERT INTO member_roles (tenant_id, account_id, role_id) VALUES ($1, $2, $3)`, [a.tenantId, accountId, held]);
    });
    const global = await db.withGlobal(async (tx) => ({
      accounts: (await tx.query('SELECT 1 FROM accounts WHERE id = $1', [accountId])).rowCount,
      workspaces: (await tx.query('SELECT 1 FROM workspaces')).rowCount,
      memberships: (await tx.query('SELECT 1 FROM memberships')).rowCount,
      roles: (await tx.query('SELECT 1 FROM roles')).rowCount,
    }));
    expect(global).toEqual({ accounts: 0, workspaces: 0, memberships: 0, roles: 0 });
    const mine = await db.withAccount(accountId, async (tx) => ({
      accounts: (await tx.query<{ id: string }>('SELECT id FROM accounts')).rows.map((r) => r.id),
      workspaces: (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM workspaces')).rows.map((r) => r.tenant_id),
      memberships: (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM memberships')).rows.map((r) => r.tenant_id),
      records: (await tx.query('SELECT 1 FROM records')).rowCount,
      // Its own role grants and the roles they name; not the workspace's other roles.
      roles: (await tx.query<{ id: string }>('SELECT id FROM roles')).rows.map((r) => r.id),
      grants: (await tx.query<{ role_id: string }>('SELECT role_id FROM member_roles')).rows.map((r) => r.role_id),
    }));
    expect(mine).toEqual({ accounts: [accountId], workspaces: [a.tenantId], memberships: [a.tenantId], records: 0, roles: [held], grants: [held] });
    // The account-scoped policies are read-only: no write reaches a tenant table without a tenant.
    await expect(
      db.withAccount(accountId, (tx) => tx.query(`INSERT INTO memberships (tenant_id, account_id) VALUES ($1, $2)`, [b.tenantId, accountId])),
    ).rejects.toThrow(/row-level security/);
    await expect(
      db.withAccount(accountId, (tx) => tx.query(`INSERT INTO member_roles (tenant_id, account_id, role_id) VALUES ($1, $2, $3)`, [a.tenantId, accountId, other])),
    ).rejects.toThrow(/row-level security/);
    const updated = await db.withAccount(accountId, async (tx) => ({
      memberships: (await tx.query(`UPDATE memberships SET created_at = now() WHERE account_id = $1`, [accountId])).rowCount,
      roles: (await tx.query(`UPDATE roles SET scopes = '{records:write,members:manage}'`)).rowCount,
      grants: (await tx.query(`UPDATE member_roles SET role_id = $1 WHERE account_id = $2`, [other, accountId])).rowCount,
    }));
    expect(updated).toEqual({ memberships: 0, roles: 0, grants: 0 });
  });

  it.skipIf(backend.name === 'pglite')('runs with the statement time limit on every runtime connection (PostgreSQL server only)', async () => {
    const inside = await db.withTenant(ctxA(), async (tx) => (await tx.query<{ v: string }>("SELECT current_setting('statement_timeout') AS v")).rows[0]);
    expect(inside).toEqual({ v: '30s' });
    expect((await onPooledConnection(db, "SELECT current_setting('statement_timeout') AS v"))['v']).toBe('30s');
  });

  // PGlite runs PostgreSQL single-threaded in WebAssembly, with no timer to interrupt a statement.
  it.skipIf(backend.name === 'pglite')('cancels a statement that runs past the time limit (PostgreSQL server only)', async () => {
    await expect(
      db.withTenant(ctxA(), async (tx) => {
        await tx.query("SELECT set_config('statement_timeout', '50', true)");
        await tx.query('SELECT pg_sleep(2)');
      }),
    ).rejects.toThrow(/statement timeout/);
  });

  // Plan caching is the pg driver's (PGlite has no separate planner cost to save).
  it.skipIf(backend.name === 'pglite')('prepares each statement once per connection, and survives statements that fail (PostgreSQL server only)', async () => {
    const sql = 'SELECT count(*)::int AS n FROM records WHERE tenant_id = current_tenant_id()';
    for (const readOnly of [true, false]) {
      await db.withTenant(ctxA(), (tx) => tx.query(sql), { readOnly });
      await db.withTenant(ctxA(), (tx) => tx.query(sql), { readOnly });
    }
    const prepared = (await (db as PostgresDatabase).pool.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements')).rows;
    expect(prepared.filter((p) => p.statement === sql).map((p) => p.name)).toEqual([statementName(sql)]);
    // Fails at execution, after a successful parse: later uses still work.
    const divide = 'SELECT 10 / $1::int AS q';
    await expect(db.withTenant(ctxA(), (tx) => tx.query(divide, [0]), { readOnly: true })).rejects.toThrow(/division by zero/);
    expect((await db.withTenant(ctxA(), (tx) => tx.query(divide, [5]), { readOnly: true })).rows).toEqual([{ q: 2 }]);
    // Fails to parse: never recorded as prepared, so the next attempt fails the same way.
    for (let i = 0; i < 2; i++) {
      await expect(db.withTenant(ctxA(), (tx) => tx.query('SELECT * FROM no_such_table'), { readOnly: true })).rejects.toThrow(/relation "no_such_table" does not exist/);
      await expect(db.withTenant(ctxA(), (tx) => tx.query('SELEC 1'))).rejects.toThrow(/syntax error/);
    }
    expect((await db.withTenant(ctxA(), (tx) => tx.query(sql), { readOnly: true })).rows[0]).toEqual({ n: 1 });
  });

  it('rejects a tenant context that is not a UUID', () => {
    expect(() => tenantContext("x' OR 1=1 --", null)).toThrow(TypeError);
    expect(() => tenantContext(a.tenantId, 'nope')).toThrow(TypeError);
  });

  describe('direct SQL as the app role, without Rampart', () => {
    it('reads and writes no tenant rows when no tenant is set', async () => {
      for (const table of TENANT_TABLES) {
        expect(await t.raw(`SELECT * FROM ${table}`, [], 'app-login'), table).toEqual([]);
      }
      await expect(t.raw(`INSERT INTO workspaces (tenant_id, name, region) VALUES ($1, 'x', 'eu')`, [newId()], 'app-login')).rejects.toThrow(
        /row-level security/,
      );
      expect(await t.raw('UPDATE records SET version = 99 RETURNING id', [], 'app-login')).toEqual([]);
    });

    // PGlite has a single session whose login is its superuser, so only a server login can show this.
    it.skipIf(backend.name === 'pglite')('cannot become another role (PostgreSQL server only)', async () => {
      await expect(t.raw('SET ROLE postgres', [], 'app-login')).rejects.toThrow(/permission denied/);
    });

    it('cannot switch row-level security off or alter the tables', async () => {
      await expect(t.raw('ALTER TABLE records DISABLE ROW LEVEL SECURITY', [], 'app-login')).rejects.toThrow(/must be owner/);
      await expect(t.raw('ALTER TABLE records NO FORCE ROW LEVEL SECURITY', [], 'app-login')).rejects.toThrow(/must be owner/);
      await expect(t.raw('DROP POLICY tenant_isolation ON records', [], 'app-login')).rejects.toThrow(/must be owner/);
      // row_security = off never skips a policy for a role without BYPASSRLS: the server refuses
      // the query; PGlite applies the policy anyway. Either way no tenant row comes back.
      const outcome = await t.appSession(['SET row_security = off', 'SELECT * FROM records']).then(
        (rows) => rows,
        (err: unknown) => err,
      );
      if (outcome instanceof Error) expect(outcome.message).toMatch(/row-level security/);
      else expect(outcome).toEqual([]);
    });
  });

  describe('migrations', () => {
    it('are idempotent', async () => {
      expect((await db.migrate()).applied).toEqual([]);
      await db.ready();
    });

    it('refuse a migration file changed after it was applied', async () => {
      const changed = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'tampered' } : m));
      await expect(db.migrate(changed)).rejects.toThrow(MigrationError);
    });

    it('refuse a database ahead of the code', async () => {
      await expect(db.migrate(loadMigrations().slice(0, 0))).rejects.toThrow(/does not know/);
    });
  });
});
