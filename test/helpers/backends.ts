/**
 * The databases every data-layer and isolation test runs on: PGlite always, and the PostgreSQL
 * server when TEST_DATABASE_URL is set (CI sets it). Each test file gets fresh, migrated
 * databases; on the server the app connects as a non-superuser login that is only a member of
 * the app role, as a production deployment would.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgliteDatabase } from '../../src/platform/db/pglite.js';
import { PostgresDatabase } from '../../src/platform/db/postgres.js';
import type { Database, Row } from '../../src/platform/db/types.js';

export interface TestDatabase {
  readonly db: Database;
  /** Runs SQL outside Rampart's data layer, as the given login, for checks the app must not do. */
  raw<R extends Row = Row>(sql: string, params?: readonly unknown[], as?: 'superuser' | 'app-login'): Promise<R[]>;
  /** Runs statements one after another in one fresh session (one transaction on PGlite) as the app login. */
  appSession<R extends Row = Row>(statements: readonly string[]): Promise<R[]>;
  /** On the server: the URLs a separate process (a server, the CLI) connects with. */
  readonly urls?: { readonly app: string; readonly owner: string };
  close(): Promise<void>;
}

export interface Backend {
  readonly name: 'pglite' | 'postgres';
  open(options?: { poolSize?: number }): Promise<TestDatabase>;
}

let template: Promise<Blob> | undefined;

/** A migrated PGlite, dumped once per worker and loaded per test file (much faster than initdb). */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const db = await PgliteDatabase.open({});
    await db.migrate();
    const dump = await db.dump();
    await db.close();
    return dump;
  })();
  return template;
}

const pglite: Backend = {
  name: 'pglite',
  async open() {
    const db = await PgliteDatabase.open({ loadDataDir: await pgliteTemplate() });
    return {
      db,
      async raw<R extends Row>(sql: string, params?: readonly unknown[], as: 'superuser' | 'app-login' = 'superuser') {
        // PGlite has one session, its superuser; the app login is emulated by the app role itself.
        if (as === 'superuser') {
          return db.pg.transaction(async (t) => {
            await t.query('SET LOCAL search_path TO rampart');
            return (await t.query<R>(sql, params as unknown[] | undefined)).rows;
          });
        }
        return db.pg.transaction(async (t) => {
          await t.query('SET LOCAL ROLE rampart_app');
          await t.query('SET LOCAL search_path TO rampart');
          return (await t.query<R>(sql, params as unknown[] | undefined)).rows;
        });
      },
      appSession<R extends Row>(statements: readonly string[]) {
        return db.pg.transaction(async (t) => {
          await t.query('SET LOCAL ROLE rampart_app');
          await t.query('SET LOCAL search_path TO rampart');
          let rows: R[] = [];
          for (const sql of statements) rows = (await t.query<R>(sql)).rows;
          return rows;
        });
      },
      close: () => db.close(),
    };
  },
};

export const TEST_APP_LOGIN = 'rampart_test_login';

function withDatabase(url: string, database: string, user?: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  if (user) {
    u.username = user;
    u.password = '';
  }
  return u.toString();
}

const postgres = (adminUrl: string): Backend => ({
  name: 'postgres',
  async open(options = {}) {
    const name = `rampart_t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const ownerUrl = withDatabase(adminUrl, name);
    const owner = new PostgresDatabase({ url: ownerUrl, poolSize: 1, statementTimeoutMs: 30_000 });
    await owner.migrate();
    await owner.close();

    const superuser = new pg.Pool({ connectionString: ownerUrl, max: 2 });
    await superuser.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${TEST_APP_LOGIN}') THEN
          BEGIN
            CREATE ROLE ${TEST_APP_LOGIN} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE rampart_app;
          EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
          END;
        END IF;
      END $$`);
    const appUrl = withDatabase(adminUrl, name, TEST_APP_LOGIN);
    const db = new PostgresDatabase({ url: appUrl, ownerUrl, poolSize: options.poolSize ?? 4, statementTimeoutMs: 30_000 });
    const appLogin = new pg.Pool({ connectionString: appUrl, max: 1 });
    // An idle connection ended by the server (DROP DATABASE … WITH (FORCE) at teardown) must not
    // surface as an uncaught error in whichever test runs next.
    for (const pool of [superuser, appLogin]) pool.on('error', () => {});
    return {
      db,
      urls: { app: appUrl, owner: ownerUrl },
      async raw<R extends Row>(sql: string, params?: readonly unknown[], as: 'superuser' | 'app-login' = 'superuser') {
        const pool = as === 'superuser' ? superuser : appLogin;
        const client = await pool.connect();
        try {
          await client.query('SET search_path TO rampart');
          return (await client.query<R>(sql, params as unknown[] | undefined)).rows;
        } finally {
          client.release();
        }
      },
      async appSession<R extends Row>(statements: readonly string[]) {
        const client = new pg.Client({ connectionString: appUrl });
        await client.connect();
        try {
          await client.query('SET search_path TO rampart');
          let rows: R[] = [];
          for (const sql of statements) rows = (await client.query<R>(sql)).rows;
          return rows;
        } finally {
          await client.end();
        }
      },
      async close() {
        await db.close();
        await appLogin.end();
        await superuser.end();
        const a = new pg.Client({ connectionString: adminUrl });
        await a.connect();
        try {
          await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await a.end();
        }
      },
    };
  },
});

export const BACKENDS: readonly Backend[] = [
  pglite,
  ...(process.env['TEST_DATABASE_URL'] ? [postgres(process.env['TEST_DATABASE_URL'])] : []),
];
