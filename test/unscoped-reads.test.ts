/**
 * An SQL injection's view of the database. The attacker runs any SELECT as the app role inside a
 * transaction Rampart opened: one with no scope (withGlobal), one of workspace A, one of account
 * X, one of staff member S. Whatever table it names, it reads nothing of anyone else: every table
 * the app role can read (taken from the catalog, so a new table joins by itself) is walked in each
 * scope, against rows of two of everything written beside it. The narrow SECURITY DEFINER
 * functions it can call answer one row for an exact key and nothing for a wrong, empty or
 * wildcard one. On both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNSCOPED_EXEMPTIONS } from '../src/platform/db/catalog-audit.js';
import { operatorContext, tenantContext, type Tx } from '../src/platform/db/types.js';
import { newId, sha256 } from '../src/platform/ids.js';
import { BACKENDS, type TestDatabase } from './helpers/backends.js';

/** Two of everything: accounts X (of workspace A), Y (of B) and Z (of none); staff S and T. */
interface World {
  readonly tenantA: string;
  readonly tenantB: string;
  readonly x: string;
  readonly y: string;
  readonly z: string;
  readonly s: string;
  readonly staffT: string;
  readonly email: (id: string) => string;
  /** The raw secret behind each digest written for an account, by account. */
  readonly tokens: Map<string, string>;
}

const digest = (label: string) => sha256(label);
const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

/** Rows in every global table for each principal, written by the superuser as the flows would. */
async function seed(t: TestDatabase): Promise<World> {
  const [tenantA, tenantB, x, y, z, s, staffT] = [newId(), newId(), newId(), newId(), newId(), newId(), newId()];
  const email = (id: string) => `${id.slice(-12)}@example.test`;
  const tokens = new Map<string, string>();
  const raw = (sql: string, params: readonly unknown[] = []) => t.raw(sql, params);
  for (const [tenant, name] of [
    [tenantA, 'A'],
    [tenantB, 'B'],
  ] as const) {
    await raw(`INSERT INTO workspaces (tenant_id, name, region) VALUES ($1, $2, 'eu')`, [tenant, name]);
  }
  let seq = 0;
  for (const account of [x, y, z]) {
    const token = `token-${account}`;
    tokens.set(account, token);
    await raw(`INSERT INTO accounts (id, email, name, password_hash, email_verified_at) VALUES ($1, $2, 'Someone', $3, now())`, [account, email(account), `hash-of-${account}`]);
    await raw(`INSERT INTO sessions (id, token_hash, account_id, kind, expires_at) VALUES ($1, $2, $3, 'bearer', now() + interval '1 hour')`, [
      newId(),
      digest(token),
      account,
    ]);
    await raw(`INSERT INTO email_tokens (id, purpose, account_id, email, token_hash, expires_at) VALUES ($1, 'magic_link', $2, $3, $4, now() + interval '1 hour')`, [
      newId(),
      account,
      email(account),
      digest(`link-${account}`),
    ]);
    await raw(
      `INSERT INTO pending_sign_ins (id, token_hash, account_id, kind, method, expires_at) VALUES ($1, $2, $3, 'bearer', 'password', now() + interval '1 hour')`,
      [newId(), digest(`pending-${account}`), account],
    );
    await raw(`INSERT INTO totp_factors (account_id, secret_ciphertext, confirmed_at) VALUES ($1, $2, now())`, [account, bytes(40, 1)]);
    await raw(
      `INSERT INTO webauthn_credentials (id, account_id, credential_id, public_key, name, aaguid, device_type) VALUES ($1, $2, $3, $4, 'key', $5, 'singleDevice')`,
      [newId(), account, Buffer.from(`credential-${account}`), bytes(64, 2), newId()],
    );
    await raw(`INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)`, [account, digest(`code-${account}`)]);
    await raw(`INSERT INTO webauthn_registrations (account_id, challenge, expires_at) VALUES ($1, $2, now() + interval '5 minutes')`, [account, `challenge-${account}`]);
    await raw(`INSERT INTO account_identities (id, account_id, issuer, subject, email) VALUES ($1, $2, 'https://idp.example.test', $3, $4)`, [
      newId(),
      account,
      `subject-${account}`,
      email(account),
    ]);
    await raw(
      `INSERT INTO oidc_flows (id, binding_hash, state, nonce, code_verifier, purpose, account_id, expires_at)
       VALUES ($1, $2, $3, $3, $4, 'link', $5, now() + interval '10 minutes')`,
      [newId(), digest(`flow-${account}`), `state-${account}`, `verifier-${account}-${account}`, account],
    );
    await raw(
      `INSERT INTO oidc_link_offers (id, token_hash, binding_hash, account_id, issuer, subject, email, expires_at)
       VALUES ($1, $2, $3, $4, 'https://idp.example.test', $5, $6, now() + interval '15 minutes')`,
      [newId(), digest(`offer-${account}`), digest(`offer-binding-${account}`), account, `offered-${account}`, email(account)],
    );
    await raw(`INSERT INTO outbox (id, template, recipient, subject, text_body, html_body, status) VALUES ($1, 'magic_link', $2, 'Sign in', $3, $3, 'pending')`, [
      newId(),
      email(account),
      `https://rampart.example.test/magic#token=link-${account}`,
    ]);
    const body = `{"v":1,"account":"${account}","email":"${email(account)}"}`;
    await raw(
      `INSERT INTO platform_audit_queue (chain, id, occurred_at, actor_type, actor_id, account_id, action, outcome, body)
       VALUES ('accounts', $1, now(), 'account', $2, $2, 'auth.sign_in', 'success', $3)`,
      [newId(), account, body],
    );
    seq += 1;
    await raw(
      `INSERT INTO platform_audit_events (chain, seq, id, occurred_at, actor_type, actor_id, account_id, action, outcome, body, prev_hash, hash)
       VALUES ('accounts', $1, $2, now(), 'account', $3, $3, 'auth.sign_in', 'success', $4, $5, $5)`,
      [seq, newId(), account, body, bytes(32, seq)],
    );
  }
  await raw(`INSERT INTO memberships (tenant_id, account_id) VALUES ($1, $2), ($3, $4)`, [tenantA, x, tenantB, y]);
  await raw(
    `INSERT INTO oidc_flows (id, binding_hash, state, nonce, code_verifier, purpose, expires_at)
     VALUES ($1, $2, 'state-of-a-sign-in-flow', 'nonce-of-a-sign-in-flow', $3, 'sign_in', now() + interval '10 minutes')`,
    [newId(), digest('flow-anyone'), 'v'.repeat(43)],
  );
  await raw(`INSERT INTO setup_tokens (id, token_hash, expires_at) VALUES (1, $1, now() + interval '1 day') ON CONFLICT (id) DO NOTHING`, [digest('setup')]);
  for (const [staff, workspace, n] of [
    [s, tenantA, 1],
    [staffT, tenantB, 2],
  ] as const) {
    const token = `staff-token-${staff}`;
    tokens.set(staff, token);
    await raw(`INSERT INTO staff_members (id, email, name, role, password_hash) VALUES ($1, $2, 'Staff', 'support', $3)`, [staff, email(staff), `hash-of-${staff}`]);
    await raw(`INSERT INTO staff_sessions (id, token_hash, staff_id, kind, expires_at) VALUES ($1, $2, $3, 'bearer', now() + interval '1 hour')`, [
      newId(),
      digest(token),
      staff,
    ]);
    await raw(`INSERT INTO staff_setup_tokens (staff_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 day')`, [staff, digest(`staff-setup-${staff}`)]);
    await raw(`INSERT INTO staff_totp_factors (staff_id, secret_ciphertext) VALUES ($1, $2)`, [staff, bytes(40, 3)]);
    await raw(`INSERT INTO staff_access_index (request_id, workspace_id, staff_id) VALUES ($1, $2, $3)`, [newId(), workspace, staff]);
    await raw(
      `INSERT INTO platform_audit_queue (chain, id, occurred_at, actor_type, actor_id, action, outcome, body)
       VALUES ('staff', $1, now(), 'staff', $2, 'staff.sign_in', 'success', $3)`,
      [newId(), staff, `{"v":1,"staff":"${staff}","email":"${email(staff)}"}`],
    );
    await raw(
      `INSERT INTO platform_audit_events (chain, seq, id, occurred_at, actor_type, actor_id, action, outcome, body, prev_hash, hash)
       VALUES ('staff', $1, $2, now(), 'staff', $3, 'staff.sign_in', 'success', $4, $5, $5)`,
      [n, newId(), staff, `{"v":1,"staff":"${staff}","email":"${email(staff)}"}`, bytes(32, n)],
    );
  }
  return { tenantA, tenantB, x, y, z, s, staffT, email, tokens };
}

describe.each(BACKENDS)('unscoped reads on $name', (backend) => {
  let t: TestDatabase;
  let w: World;
  /** Every table the app role can read, with the columns it can read, but the listed exemptions. */
  let readable: Array<{ table: string; columns: string[] }>;

  beforeAll(async () => {
    t = await backend.open();
    w = await seed(t);
    const exempt = new Set(UNSCOPED_EXEMPTIONS.filter((e) => e.policy === undefined).map((e) => e.table));
    const rows = await t.raw<{ table: string; columns: string[] }>(
      `SELECT c.relname AS table,
              ARRAY(SELECT a.attname::text FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                       AND has_column_privilege('rampart_app', c.oid, a.attnum, 'SELECT') ORDER BY a.attnum) AS columns
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'rampart' AND c.relkind = 'r' AND has_any_column_privilege('rampart_app', c.oid, 'SELECT')
        ORDER BY 1`,
    );
    readable = rows.filter((r) => !exempt.has(r.table));
  });
  afterAll(async () => t?.close());

  /** Every readable row of every table, as the app role in the transaction `run` opens. */
  async function everything(run: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>): Promise<Map<string, Array<Record<string, unknown>>>> {
    const seen = new Map<string, Array<Record<string, unknown>>>();
    for (const { table, columns } of readable) {
      seen.set(table, await run(async (tx) => (await tx.query(`SELECT ${columns.join(', ')} FROM ${table}`)).rows));
    }
    return seen;
  }

  /** The rows of `seen` that mention any of these principals (ids or email addresses). */
  function mentions(seen: Map<string, Array<Record<string, unknown>>>, principals: readonly string[]): string[] {
    const marks = principals.flatMap((p) => [p, w.email(p)]);
    const found: string[] = [];
    for (const [table, rows] of seen) {
      for (const row of rows) {
        const text = JSON.stringify(row);
        for (const mark of marks) if (text.includes(mark)) found.push(`${table}: ${mark}`);
      }
    }
    return found;
  }

  it('has rows of at least two principals in every global table it walks (the walk below is not vacuous)', async () => {
    const tenantTables = new Set(
      (
        await t.raw<{ table: string }>(
          `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'rampart' AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`,
        )
      ).map((r) => r.table),
    );
    const global = readable.filter((r) => !tenantTables.has(r.table)).map((r) => r.table);
    expect(global.length).toBeGreaterThan(15);
    for (const table of global) {
      const [row] = await t.raw<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      expect(row?.n, table).toBeGreaterThanOrEqual(2);
    }
  });

  it('reads no row of any table it can name in a transaction with no scope (withGlobal)', async () => {
    const seen = await everything((fn) => t.db.withGlobal(fn, { readOnly: true }));
    const nonEmpty = [...seen].filter(([, rows]) => rows.length > 0).map(([table]) => table);
    expect(nonEmpty).toEqual([]);
  });

  it("reads only workspace A's rows and its members' accounts in A's transaction", async () => {
    const seen = await everything((fn) => t.db.withTenant(tenantContext(w.tenantA, null), fn, { readOnly: true }));
    expect(mentions(seen, [w.tenantB, w.y, w.z, w.staffT])).toEqual([]);
    // Staff member S asked A for access: A's own index of it, and nothing else of S.
    expect(mentions(seen, [w.s])).toEqual(['staff_access_index: ' + w.s]);
    // Its member's account row, and nothing else of that account: no session, link, factor or event.
    expect(seen.get('accounts')?.map((a) => a['id'])).toEqual([w.x]);
    const ofX = [...seen].filter(([table, rows]) => !['accounts', 'memberships', 'workspaces'].includes(table) && JSON.stringify(rows).includes(w.x));
    expect(ofX.map(([table]) => table)).toEqual([]);
  });

  it("reads only account X's own rows in X's transaction", async () => {
    const seen = await everything((fn) => t.db.withAccount(w.x, fn, { readOnly: true }));
    expect(mentions(seen, [w.tenantB, w.y, w.z, w.s, w.staffT])).toEqual([]);
    for (const table of ['accounts', 'sessions', 'email_tokens', 'pending_sign_ins', 'totp_factors', 'webauthn_credentials', 'recovery_codes', 'account_identities']) {
      expect(seen.get(table)?.length, table).toBe(1);
    }
    // The outbox and the platform chains' queue are the operator realm's, not the account's.
    expect([seen.get('outbox'), seen.get('platform_audit_queue')]).toEqual([[], []]);
  });

  it("reads only staff member S's own rows in S's transaction", async () => {
    const seen = await everything((fn) => t.db.withAccount(w.s, fn, { readOnly: true }));
    expect(mentions(seen, [w.tenantB, w.x, w.y, w.z, w.staffT])).toEqual([]);
    for (const table of ['staff_members', 'staff_sessions', 'staff_totp_factors', 'staff_access_index']) expect(seen.get(table)?.length, table).toBe(1);
  });

  it("cannot read a password hash, the setup link or a flow's secrets in any scope", async () => {
    for (const [scope, run] of [
      ['global', <T>(fn: (tx: Tx) => Promise<T>) => t.db.withGlobal(fn)],
      ['account', <T>(fn: (tx: Tx) => Promise<T>) => t.db.withAccount(w.x, fn)],
      ['staff', <T>(fn: (tx: Tx) => Promise<T>) => t.db.withAccount(w.s, fn)],
      ['operator', <T>(fn: (tx: Tx) => Promise<T>) => t.db.withTenant(operatorContext(), fn)],
    ] as const) {
      for (const sql of [
        'SELECT password_hash FROM accounts',
        'SELECT * FROM accounts',
        'SELECT password_hash FROM staff_members',
        'SELECT token_hash FROM setup_tokens',
        'SELECT code_verifier FROM oidc_flows',
      ]) {
        await expect(run((tx) => tx.query(sql)), `${scope}: ${sql}`).rejects.toThrow(/permission denied/);
      }
    }
  });

  it("writes no one else's rows: no session minted, no link flow, mail or chain event forged, no session revived", async () => {
    const session = (account: string) => [
      `INSERT INTO sessions (id, token_hash, account_id, kind, expires_at) VALUES ($1, $2, $3, 'bearer', now() + interval '1 year')`,
      [newId(), digest(`minted-${newId()}`), account],
    ] as const;
    const linkFlow = (account: string) => [
      `INSERT INTO oidc_flows (id, binding_hash, state, nonce, code_verifier, purpose, account_id, expires_at)
       VALUES ($1, $2, 'state-of-a-forged-flow', 'nonce-of-a-forged-flow', $3, 'link', $4, now() + interval '10 minutes')`,
      [newId(), digest(`forged-${newId()}`), 'v'.repeat(43), account],
    ] as const;
    const event = [
      `INSERT INTO platform_audit_events (chain, seq, id, occurred_at, actor_type, action, outcome, body, prev_hash, hash)
       VALUES ('accounts', 999, $1, now(), 'system', 'auth.sign_in', 'success', '{"v":1}', $2, $2)`,
      [newId(), bytes(32, 9)],
    ] as const;
    const sentMail = [`INSERT INTO outbox (id, template, recipient, subject, status) VALUES ($1, 'x', 'a@example.test', 's', 'sent')`, [newId()]] as const;
    const refused: Array<[string, <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>, readonly [string, readonly unknown[]]]> = [
      ['global: a session for Y', (fn) => t.db.withGlobal(fn), session(w.y)],
      ['account X: a session for Y', (fn) => t.db.withAccount(w.x, fn), session(w.y)],
      ['workspace A: a session for its member X', (fn) => t.db.withTenant(tenantContext(w.tenantA, null), fn), session(w.x)],
      ['global: a link flow for X', (fn) => t.db.withGlobal(fn), linkFlow(w.x)],
      ['account Y: a link flow for X', (fn) => t.db.withAccount(w.y, fn), linkFlow(w.x)],
      ['account X: an accounts-chain event', (fn) => t.db.withAccount(w.x, fn), event],
      ['global: mail marked sent', (fn) => t.db.withGlobal(fn), sentMail],
    ];
    for (const [what, run, [sql, params]] of refused) {
      await expect(run((tx) => tx.query(sql, params)), what).rejects.toThrow(/row-level security/);
    }
    // A link flow of one's own account, and a sign-in flow of nobody's, may be started.
    await t.db.withAccount(w.x, (tx) => tx.query(linkFlow(w.x)[0], linkFlow(w.x)[1]));
    await t.db.withGlobal((tx) => tx.query(`INSERT INTO outbox (id, template, recipient, subject, status) VALUES ($1, 'x', 'a@example.test', 's', 'pending')`, [newId()]));
    const revived = await t.db.withAccount(w.x, async (tx) => ({
      sessions: (await tx.query(`UPDATE sessions SET revoked_at = NULL, expires_at = now() + interval '1 year'`)).rowCount,
      accounts: (await tx.query(`UPDATE accounts SET name = 'Mallory'`)).rowCount,
      outbox: (await tx.query(`UPDATE outbox SET text_body = 'changed'`)).rowCount,
    }));
    expect(revived).toEqual({ sessions: 1, accounts: 1, outbox: 0 });
    const inWorkspace = await t.db.withTenant(tenantContext(w.tenantA, null), async (tx) => ({
      accounts: (await tx.query(`UPDATE accounts SET name = 'Mallory'`)).rowCount,
      staff: (await tx.query(`UPDATE staff_access_index SET grant_id = $1`, [newId()])).rowCount,
    }));
    expect(inWorkspace).toEqual({ accounts: 0, staff: 1 });
    const names = await t.raw<{ id: string; name: string }>('SELECT id, name FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY name', [[w.x, w.y, w.z]]);
    expect(names.filter((a) => a.name === 'Mallory').map((a) => a.id)).toEqual([w.x]);
  });

  it('keeps the operator realm from any workspace', async () => {
    await expect(t.raw(`INSERT INTO workspaces (tenant_id, name, region) VALUES (operator_realm_id(), 'Realm', 'eu')`)).rejects.toThrow(/workspaces_not_operator_realm/);
  });

  describe('binding the account a proof named', () => {
    const sessionsSeen = (tx: Tx) => tx.query<{ account_id: string }>('SELECT account_id FROM sessions').then((r) => r.rows.map((row) => row.account_id));

    it("makes that account's rows, and only its, readable for the rest of the transaction, and not after it", async () => {
      const seen = await t.db.withGlobal(async (tx) => {
        const before = await sessionsSeen(tx);
        await tx.bindAccount(w.y);
        const y = await sessionsSeen(tx);
        await tx.bindAccount(w.z);
        return { before, y, z: await sessionsSeen(tx) };
      });
      expect(seen).toEqual({ before: [], y: [w.y], z: [w.z] });
      // Transaction-local: the connection carries nothing into the next transaction.
      expect(await t.db.withGlobal(sessionsSeen)).toEqual([]);
      const inTenant = await t.db.withTenant(tenantContext(w.tenantB, null), async (tx) => {
        await tx.bindAccount(w.y);
        return sessionsSeen(tx);
      });
      expect(inTenant).toEqual([w.y]);
    });

    it("refuses to turn an account's transaction into another's, and needs one transaction", async () => {
      await expect(t.db.withAccount(w.x, (tx) => tx.bindAccount(w.y))).rejects.toThrow(/cannot act for another/);
      await expect(t.db.withTenant(tenantContext(w.tenantA, w.x), (tx) => tx.bindAccount(w.y))).rejects.toThrow(/cannot act for another/);
      expect(await t.db.withAccount(w.x, async (tx) => (await tx.bindAccount(w.x), sessionsSeen(tx)))).toEqual([w.x]);
      await expect(t.db.withGlobal((tx) => tx.bindAccount(w.y), { readOnly: true })).rejects.toThrow(/needs one transaction/);
      await expect(t.db.withGlobal((tx) => tx.bindAccount(w.y), { autocommit: true })).rejects.toThrow(/needs one transaction/);
      await expect(t.db.withGlobal((tx) => tx.bindAccount("x' OR true --"))).rejects.toThrow(TypeError);
    });
  });

  describe('the SECURITY DEFINER functions', () => {
    let functions: Array<{ name: string; args: string[]; set: boolean }>;

    beforeAll(async () => {
      functions = await t.raw<{ name: string; args: string[]; set: boolean }>(
        `SELECT p.proname AS name, p.proretset AS set,
                ARRAY(SELECT format_type(a, NULL) FROM unnest(p.proargtypes::oid[]) a) AS args
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'rampart' AND p.prosecdef ORDER BY 1`,
      );
    });

    const call = (name: string, args: readonly string[]) => `SELECT * FROM ${name}(${args.map((type, i) => `$${i + 1}::${type}`).join(', ')})`;

    it('exist, and none returns a set', () => {
      expect(functions.length).toBeGreaterThan(10);
      expect(functions.filter((f) => f.set).map((f) => f.name)).toEqual([]);
    });

    it('answer exactly one row, with nothing of anyone in it, for an empty key, in any scope', async () => {
      const scopes = [
        <T>(fn: (tx: Tx) => Promise<T>) => t.db.withGlobal(fn),
        <T>(fn: (tx: Tx) => Promise<T>) => t.db.withTenant(tenantContext(w.tenantA, null), fn),
      ];
      for (const run of scopes) {
        for (const f of functions) {
          const rows = await run(async (tx) => (await tx.query(call(f.name, f.args), f.args.map(() => null))).rows);
          expect(rows, f.name).toHaveLength(1);
          // A yes or no (does any account exist), a count of nothing, nulls, or why a link was refused.
          const values = Object.entries(rows[0] as Record<string, unknown>)
            .filter(([k, v]) => k !== 'refused' && v !== null && v !== false && v !== 0 && v !== '')
            .map(([, v]) => v);
          expect(values, f.name).toEqual(f.name === 'auth_accounts_exist' ? [true] : []);
        }
      }
    });

    it('match an exact key only: a wrong digest, a wildcard or a quoted email finds nobody', async () => {
      const probes: Array<[string, unknown[]]> = [
        ['SELECT * FROM auth_session($1, 3600)', [digest('no such token')]],
        ['SELECT * FROM auth_session($1, 3600)', [Buffer.alloc(0)]],
        ['SELECT * FROM auth_pending_sign_in($1, 5)', [digest('no such token')]],
        ['SELECT * FROM auth_account_by_email($1)', ['%']],
        ['SELECT * FROM auth_account_by_email($1)', ["' OR '1'='1"]],
        ['SELECT * FROM auth_account_credentials($1)', ['%@example.test']],
        ['SELECT * FROM auth_account_credentials($1)', [w.email(w.x).toUpperCase()]],
        ['SELECT * FROM auth_passkey($1)', [Buffer.from('credential-%')]],
        ['SELECT * FROM staff_credentials($1)', ['%']],
        ['SELECT * FROM staff_session($1, 3600)', [digest('no such token')]],
        ['SELECT * FROM oidc_touch_identity($1, $2, NULL)', ['https://idp.example.test', '%']],
        ['SELECT * FROM auth_consume_email_token($1, $2, NULL)', [digest('no such link'), 'magic_link']],
      ];
      for (const [sql, params] of probes) {
        const rows = await t.db.withGlobal(async (tx) => (await tx.query(sql, params)).rows);
        expect(rows, sql).toHaveLength(1);
        const found = Object.entries(rows[0] as Record<string, unknown>).filter(([k, v]) => v !== null && k !== 'refused');
        expect(found, `${sql} ${JSON.stringify(params)}`).toEqual([]);
      }
    });

    it('answer the one row an exact key names', async () => {
      const token = w.tokens.get(w.y) as string;
      const session = await t.db.withGlobal(async (tx) => (await tx.query<{ account_id: string }>('SELECT account_id FROM auth_session($1, 3600)', [digest(token)])).rows);
      expect(session).toEqual([{ account_id: w.y }]);
      const account = await t.db.withGlobal(async (tx) => (await tx.query<{ id: string }>('SELECT id FROM auth_account_by_email($1)', [w.email(w.z)])).rows);
      expect(account).toEqual([{ id: w.z }]);
      const staff = await t.db.withGlobal(
        async (tx) => (await tx.query<{ staff_id: string }>('SELECT staff_id FROM staff_session($1, 3600)', [digest(w.tokens.get(w.staffT) as string)])).rows,
      );
      expect(staff).toEqual([{ staff_id: w.staffT }]);
    });

    it("member_has_mfa answers for the transaction's own workspace's members only", async () => {
      // x (of A), y (of B) and z (of none) each have a confirmed authenticator app and a passkey.
      const ask = (run: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>, account: string) =>
        run(async (tx) => (await tx.query<{ mfa: boolean }>('SELECT member_has_mfa($1) AS mfa', [account])).rows[0]?.mfa);
      const inA = <T>(fn: (tx: Tx) => Promise<T>) => t.db.withTenant(tenantContext(w.tenantA, null), fn, { readOnly: true });
      const inB = <T>(fn: (tx: Tx) => Promise<T>) => t.db.withTenant(tenantContext(w.tenantB, null), fn, { readOnly: true });
      const global = <T>(fn: (tx: Tx) => Promise<T>) => t.db.withGlobal(fn, { readOnly: true });
      const asX = <T>(fn: (tx: Tx) => Promise<T>) => t.db.withAccount(w.x, fn, { readOnly: true });
      expect([await ask(inA, w.x), await ask(inA, w.y), await ask(inA, w.z)]).toEqual([true, false, false]);
      expect([await ask(inB, w.x), await ask(inB, w.y)]).toEqual([false, true]);
      expect([await ask(global, w.x), await ask(asX, w.x), await ask(asX, w.y)]).toEqual([false, false, false]);
    });

    it("api_key_workspace answers the workspace of an exact, live key's digest, and nothing else", async () => {
      const key = (label: string, revokedAt: Date | null, expiresAt: Date | null) =>
        t.raw(
          `INSERT INTO api_keys (tenant_id, id, name, display_prefix, secret_hash, scopes, created_by, revoked_at, expires_at)
           VALUES ($1, $2, $3, 'rk_live_AAAA', $4, '{records:read}', $5, $6, $7)`,
          [w.tenantA, newId(), label, digest(label), w.x, revokedAt, expiresAt],
        );
      await key('key-live', null, new Date(Date.now() + 3_600_000));
      await key('key-revoked', new Date(), null);
      await key('key-expired', null, new Date(Date.now() - 1000));
      const ask = (hash: Buffer | null) => t.db.withGlobal(async (tx) => (await tx.query<{ ws: string | null }>('SELECT api_key_workspace($1) AS ws', [hash])).rows, { readOnly: true });
      expect(await ask(digest('key-live'))).toEqual([{ ws: w.tenantA }]);
      for (const hash of [digest('key-revoked'), digest('key-expired'), digest('no such key'), Buffer.alloc(0), null]) expect(await ask(hash)).toEqual([{ ws: null }]);
      // The key's row itself stays its workspace's: without the tenant, the app role reads none.
      expect((await t.db.withGlobal(async (tx) => (await tx.query('SELECT id FROM api_keys')).rows, { readOnly: true }))).toEqual([]);
    });

    it.skipIf(backend.name === 'pglite')('cannot be reached by becoming their owner (PostgreSQL server only)', async () => {
      await expect(t.raw('SET ROLE rampart_auth', [], 'app-login')).rejects.toThrow(/permission denied/);
    });
  });
});
