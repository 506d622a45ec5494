/**
 * The README's PostgreSQL setup, as an operator without a superuser for Rampart runs it: a fresh
 * schema owner with exactly the privileges the README names (LOGIN, CREATEROLE) and a database it
 * owns; `rampart migrate` as that owner; the runtime login the README creates; `rampart start`
 * with the owner for migrations and the runtime login for requests, then with the owner alone.
 * An owner without CREATEROLE is refused with the fix named, and nothing is written.
 *
 * On the PostgreSQL server only (TEST_DATABASE_URL); roles are cluster-wide, so every role here has
 * a random name and is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { capturingLogger, instrumentApp, registerSecret } from './helpers/secret-capture.js';

const adminUrl = process.env['TEST_DATABASE_URL'];

function urlFor(database: string, user: string, password: string): string {
  const u = new URL(adminUrl as string);
  u.pathname = `/${database}`;
  u.username = user;
  u.password = password;
  return u.toString();
}

async function sql(url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

async function cli(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'rampart', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env: { LOG_LEVEL: 'silent', ...env } });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe.skipIf(!adminUrl)('on PostgreSQL with a non-superuser schema owner (needs TEST_DATABASE_URL)', () => {
  const suffix = randomBytes(5).toString('hex');
  const owner = `rampart_owner_${suffix}`;
  const runtime = `rampart_runtime_${suffix}`;
  const database = `rampart_own_${suffix}`;
  const ownerPassword = randomBytes(18).toString('base64url');
  const runtimePassword = randomBytes(18).toString('base64url');
  registerSecret(ownerPassword, 'owner login password');
  registerSecret(runtimePassword, 'runtime login password');
  const made: { roles: string[]; databases: string[] } = { roles: [], databases: [] };

  afterAll(async () => {
    if (!adminUrl) return;
    for (const d of made.databases) await sql(adminUrl, `DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
    // The runtime login first: the owner granted it its membership.
    for (const r of made.roles.reverse()) await sql(adminUrl, `DROP ROLE IF EXISTS ${r}`);
  });

  it('migrates and serves with exactly the documented privileges', async () => {
    // The README's statements, as a superuser: a login with CREATEROLE, and a database it owns.
    await sql(adminUrl as string, `CREATE ROLE ${owner} LOGIN PASSWORD '${ownerPassword}' CREATEROLE`);
    made.roles.push(owner);
    await sql(adminUrl as string, `CREATE DATABASE ${database} OWNER ${owner}`);
    made.databases.push(database);
    const ownerUrl = urlFor(database, owner, ownerPassword);

    const migrated = await cli(['migrate', '--json'], { DATABASE_URL: ownerUrl });
    expect(migrated.code, migrated.err).toBe(0);
    expect(JSON.parse(migrated.out)).toMatchObject({ applied: expect.arrayContaining(['0001_foundation']) });
    expect(migrated.out).not.toContain(ownerPassword);

    // The README's runtime login, made by the owner after the first migrate.
    await sql(ownerUrl, `CREATE ROLE ${runtime} LOGIN PASSWORD '${runtimePassword}' IN ROLE rampart_app`);
    made.roles.push(runtime);
    const runtimeUrl = urlFor(database, runtime, runtimePassword);

    const email = 'owner@example.test';
    const password = 'correct horse battery staple';
    for (const env of [{ DATABASE_OWNER_URL: ownerUrl, DATABASE_URL: runtimeUrl }, { DATABASE_URL: ownerUrl }]) {
      const config = loadConfig({ env: { LOG_LEVEL: 'warn', RAMPART_ROOT_SECRET: randomBytes(32).toString('base64url'), ...env }, flags: { port: 0 } });
      registerSecret(config.rootSecret as string, 'root secret');
      const s = await startServer(config, () => {}, { logger: capturingLogger(config), beforeListen: instrumentApp });
      try {
        expect(s.db.kind).toBe('postgres');
        expect(await (await fetch(`${s.url}/readyz`)).json()).toEqual({ status: 'ready' });
        // Writes and reads under row-level security, as the app role: the first start makes the
        // first account and its workspace; the second (the owner alone) reads them back.
        if (s.setupLink) {
          const signUp = await s.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email, password, name: 'Owner', setupToken: s.setupLink.split('#token=')[1] } });
          expect(signUp.statusCode, signUp.body).toBe(201);
        }
        const token = (await s.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email, password } })).json<{ token: string }>().token;
        const headers = { authorization: `Bearer ${token}` };
        if (env.DATABASE_OWNER_URL) {
          const created = await s.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers, payload: { name: 'Owned' } });
          expect(created.statusCode, created.body).toBe(201);
        }
        const listed = await s.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers });
        expect(listed.json<{ data: Array<{ name: string }> }>().data.map((w) => w.name)).toEqual(['Owned']);
      } finally {
        await s.close();
      }
    }
  });

  it('refuses an owner without CREATEROLE with the fix named, and writes nothing', async () => {
    const bare = `rampart_bare_${suffix}`;
    const bareDb = `rampart_bare_${suffix}`;
    await sql(adminUrl as string, `CREATE ROLE ${bare} LOGIN`);
    made.roles.push(bare);
    await sql(adminUrl as string, `CREATE DATABASE ${bareDb} OWNER ${bare}`);
    made.databases.push(bareDb);
    const res = await cli(['migrate'], { DATABASE_URL: urlFor(bareDb, bare, '') });
    expect(res.code).not.toBe(0);
    expect(res.err).toMatch(new RegExp(`${bare}.*CREATEROLE`));
    expect(res.err).toMatch(/WITH ADMIN OPTION/);
    expect(res.err).not.toMatch(/^\s+at /m);
    const client = new pg.Client({ connectionString: urlFor(bareDb, bare, '') });
    await client.connect();
    try {
      const schema = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'rampart'`);
      expect(schema.rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });
});
