/**
 * The staff realm in the console's browser tests: staff members added the way `rampart staff add`
 * adds them, TOTP codes computed as an authenticator app would, staff API calls made the way a
 * script would (a bearer token that proved TOTP), and SQL run as the embedded database's
 * superuser for what no API allows (moving a grant's expiry into the past, tampering).
 */
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { expect } from 'vitest';
import type { StaffRole } from '../../src/modules/events/actors.js';
import { addStaffMember } from '../../src/modules/staff/index.js';
import { PgliteDatabase } from '../../src/platform/db/pglite.js';
import type { RunningServer } from '../../src/server.js';
import { registerSecret } from '../../test/helpers/secret-capture.js';

export const STAFF_PASSWORD = 'staff passphrase for the console';

/** Runs SQL as the superuser of the server's embedded database (PGlite's one session). */
export async function superuser<R extends Record<string, unknown>>(server: RunningServer, sql: string, params: unknown[] = []): Promise<R[]> {
  if (!(server.db instanceof PgliteDatabase)) throw new Error('the console tests run on the embedded database');
  return server.db.pg.transaction(async (t) => {
    await t.query('SET LOCAL search_path TO rampart');
    return (await t.query<R>(sql, params)).rows;
  });
}

/**
 * The code an authenticator app shows now. Each 30-second step works once per staff member, and
 * a test proves codes more often than that: the member's last used step is wound back first (as
 * the API suites do; replay refusal is tested there).
 */
export async function staffCode(server: RunningServer, staffId: string, secret: string): Promise<string> {
  await superuser(server, 'UPDATE staff_totp_factors SET last_used_step = 0 WHERE staff_id = $1', [staffId]);
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) });
}

export interface AddedStaff {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: StaffRole;
  readonly setupToken: string;
}

let counter = 0;

/** Adds a staff member as the CLI does; returns the one-time setup token. */
export async function addStaff(server: RunningServer, role: StaffRole, name: string): Promise<AddedStaff> {
  counter += 1;
  const email = `${role}-${counter}-${randomBytes(3).toString('hex')}@staff.example.test`;
  const { member, setupToken } = await addStaffMember(server.db, server.services.staffEvents, { email, name, role }, null, null);
  registerSecret(setupToken, 'staff setup token');
  return { id: member.id, email, name, role, setupToken };
}

export interface StaffScript {
  readonly staff: AddedStaff;
  /** Calls the staff API with a bearer token that proved TOTP; the answer's shape is the caller's to name. */
  call: <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => Promise<{ status: number; json: T }>;
}

/** Onboards a staff member through the API (setup link, authenticator app) and signs them in for API use. */
export async function staffScript(server: RunningServer, role: StaffRole, name: string): Promise<StaffScript> {
  const staff = await addStaff(server, role, name);
  const raw = async <T>(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${server.url}/api/v1/staff${path}`, {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
  };
  expect((await raw<unknown>('POST', '/setup', { token: staff.setupToken, password: STAFF_PASSWORD })).status).toBe(201);
  const token = await raw<{ token: string }>('POST', '/auth/tokens', { email: staff.email, password: STAFF_PASSWORD });
  expect(token.status).toBe(201);
  const bearer = { authorization: `Bearer ${token.json.token}` };
  const enrol = await raw<{ secret: string }>('POST', '/mfa/totp', undefined, bearer);
  expect(enrol.status).toBe(200);
  const proved = await raw('POST', '/mfa/totp/verify', { code: await staffCode(server, staff.id, enrol.json.secret) }, bearer);
  expect(proved.status, JSON.stringify(proved.json)).toBe(200);
  return { staff, call: <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => raw<T>(method, path, body, bearer) };
}
