/**
 * Plain SQL migrations from `migrations/NNNN_name.sql`, applied in order, all pending ones in one
 * transaction under an advisory lock, as the schema owner. Each applied file's checksum is kept;
 * a changed file or a database ahead of the code refuses to continue.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_ROLE, MigrationError, SCHEMA, type MigrationReport, type Row } from './types.js';

export interface Migration {
  readonly version: string;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

/** The owner's side of a migration transaction. */
export interface OwnerTx {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
}

// Both src/platform/db and dist/platform/db sit three levels below the package root.
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

let cached: readonly Migration[] | undefined;

export function loadMigrations(dir: string = MIGRATIONS_DIR): readonly Migration[] {
  if (dir === MIGRATIONS_DIR && cached) return cached;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const migrations = files.map((file) => {
    const m = FILE.exec(file);
    if (!m) throw new MigrationError(`migration file name ${file} must look like 0001_name.sql`);
    const sql = readFileSync(path.join(dir, file), 'utf8');
    return { version: m[1] as string, name: m[2] as string, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
  migrations.forEach((m, i) => {
    if (Number(m.version) !== i + 1) throw new MigrationError(`migration versions must be consecutive from 0001; found ${m.version}`);
  });
  if (dir === MIGRATIONS_DIR) cached = migrations;
  return migrations;
}

/** Arbitrary constant: the advisory lock that serialises concurrent migrators on one database. */
const MIGRATION_LOCK = 7_276_870;

export async function runMigrations(tx: OwnerTx, migrations: readonly Migration[] = loadMigrations()): Promise<MigrationReport> {
  const { rows: who } = await tx.query<{ owner: string }>('SELECT current_user AS owner, pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  try {
    return await applyPending(tx, migrations);
  } catch (err) {
    // insufficient_privilege: the owner may not create or join the app role, or lacks a right on the database.
    if ((err as { code?: unknown }).code !== '42501') throw err;
    const owner = who[0]?.owner ?? 'the schema owner';
    throw new MigrationError(
      `${(err as Error).message}: the schema owner ${owner} must own the database and have CREATEROLE ` +
        `(as a superuser: ALTER ROLE ${owner} CREATEROLE); if the role ${APP_ROLE} already exists in this cluster, also ` +
        `GRANT ${APP_ROLE} TO ${owner} WITH ADMIN OPTION (README, "On PostgreSQL"). Nothing was applied.`,
      { cause: err },
    );
  }
}

async function applyPending(tx: OwnerTx, migrations: readonly Migration[]): Promise<MigrationReport> {
  await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA};
    CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_migrations (
      version text PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    );`);
  const { rows } = await tx.query<{ version: string; checksum: string }>(
    `SELECT version, checksum FROM ${SCHEMA}.schema_migrations ORDER BY version`,
  );
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of rows) {
    const m = known.get(row.version);
    if (!m) throw new MigrationError(`the database has migration ${row.version}, which this version of Rampart does not know`);
    if (m.checksum !== row.checksum) throw new MigrationError(`migration ${row.version}_${m.name} changed after it was applied`);
  }
  const done = new Set(rows.map((r) => r.version));
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    await tx.exec(`SET LOCAL search_path TO ${SCHEMA};\n${m.sql}`);
    await tx.query(`INSERT INTO ${SCHEMA}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, m.checksum]);
    applied.push(`${m.version}_${m.name}`);
  }
  await grantAppRoleToOwner(tx);
  const last = migrations.at(-1);
  return { applied, current: last ? `${last.version}_${last.name}` : null };
}

/**
 * A non-superuser owner that also serves the runtime must be able to SET ROLE to the app role.
 * (A superuser can; a dedicated app login is made a member by its administrator.)
 */
async function grantAppRoleToOwner(tx: OwnerTx): Promise<void> {
  const { rows } = await tx.query<{ super: boolean; member: boolean }>(
    `SELECT r.rolsuper AS super, pg_has_role(current_user, $1, 'MEMBER') AS member FROM pg_roles r WHERE r.rolname = current_user`,
    [APP_ROLE],
  );
  const me = rows[0];
  if (me && !me.super && !me.member) await tx.exec(`GRANT ${APP_ROLE} TO CURRENT_USER`);
}

/** The newest migration version the database has, or null. Read by readiness checks. */
export function latestVersion(migrations: readonly Migration[] = loadMigrations()): string | null {
  return migrations.at(-1)?.version ?? null;
}
