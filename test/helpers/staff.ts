/**
 * The staff realm in tests: members added the way the CLI adds them, onboarded the way a staff
 * member is (setup link, password, authenticator app), and the audit chains read with raw SQL.
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { generate } from 'otplib';
import { expect } from 'vitest';
import { addStaffMember } from '../../src/modules/staff/index.js';
import type { StaffRole } from '../../src/modules/events/actors.js';
import { auditEventCount } from './audit.js';
import type { TestApp } from './app.js';
import { registerSecret } from './secret-capture.js';

export interface StaffCaller {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: StaffRole;
  readonly password: string;
  /** The authenticator app's secret. */
  readonly secret: string;
  /** A staff bearer token that proved TOTP. */
  readonly bearer: Record<string, string>;
}

let counter = 0;

export function errorCode(res: LightMyRequestResponse): string | undefined {
  return res.statusCode >= 400 ? res.json<{ error: { code: string } }>().error.code : undefined;
}

/** The code the authenticator app shows now. */
export function totp(secret: string): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) });
}

/**
 * Proves TOTP for a session. Each 30-second step works once per staff member, and tests sign the
 * same member in many times a step: the last used step is wound back first (raw SQL, as the
 * superuser; replay refusal itself is tested on its own).
 */
export async function proveTotp(t: TestApp, staffId: string, secret: string, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  await t.database.raw('UPDATE staff_totp_factors SET last_used_step = 0 WHERE staff_id = $1', [staffId]);
  return t.app.inject({ method: 'POST', url: '/api/v1/staff/mfa/totp/verify', headers, payload: { code: await totp(secret) } });
}

/** Adds a member as `rampart staff add` does (actor: the system); returns the setup token. */
export async function addViaCli(t: TestApp, role: StaffRole, name = `${role} person`): Promise<{ id: string; email: string; name: string; setupToken: string }> {
  counter += 1;
  const email = `${role}-${counter}-${randomBytes(3).toString('hex')}@staff.example.test`;
  const { member, setupToken } = await addStaffMember(t.database.db, t.services.staffEvents, { email, name, role }, null, null);
  registerSecret(setupToken, 'staff setup token');
  return { id: member.id, email, name, setupToken };
}

/** Signs a member in for API use: a bearer token, then a TOTP code for it. */
export async function staffBearer(t: TestApp, who: { id: string; email: string; password: string; secret: string }): Promise<Record<string, string>> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/staff/auth/tokens', payload: { email: who.email, password: who.password } });
  expect(res.statusCode, res.body).toBe(201);
  const bearer = { authorization: `Bearer ${res.json<{ token: string }>().token}` };
  const proved = await proveTotp(t, who.id, who.secret, bearer);
  expect(proved.statusCode, proved.body).toBe(200);
  return bearer;
}

/** Uses a setup link (choosing a password), enrols an authenticator app, and signs in for API use. */
export async function onboard(t: TestApp, added: { id: string; email: string; name: string; setupToken: string }, role: StaffRole): Promise<StaffCaller> {
  const password = `staff-pw-${randomBytes(12).toString('base64url')}`;
  const setup = await t.app.inject({ method: 'POST', url: '/api/v1/staff/setup', payload: { token: added.setupToken, password } });
  expect(setup.statusCode, setup.body).toBe(201);
  const token = await t.app.inject({ method: 'POST', url: '/api/v1/staff/auth/tokens', payload: { email: added.email, password } });
  expect(token.statusCode, token.body).toBe(201);
  const bearer = { authorization: `Bearer ${token.json<{ token: string }>().token}` };
  const start = await t.app.inject({ method: 'POST', url: '/api/v1/staff/mfa/totp', headers: bearer });
  expect(start.statusCode, start.body).toBe(200);
  const secret = start.json<{ secret: string }>().secret;
  const proved = await proveTotp(t, added.id, secret, bearer);
  expect(proved.statusCode, proved.body).toBe(200);
  return { id: added.id, email: added.email, name: added.name, role, password, secret, bearer };
}

export interface ChainEvent {
  readonly action: string;
  readonly outcome: string;
  readonly actor: { type: string; id: string | null; name?: string | null; role?: string | null };
  readonly target: { type: string; id: string } | null;
  readonly details: Record<string, unknown>;
}

/** The staff chain's events, queued and chained, oldest first. */
export async function staffChain(t: TestApp): Promise<ChainEvent[]> {
  const rows = await t.database.raw<{ body: string }>(
    `SELECT body FROM (SELECT body, occurred_at, id FROM platform_audit_queue WHERE chain = 'staff'
                       UNION ALL SELECT body, occurred_at, id FROM platform_audit_events WHERE chain = 'staff') e
      ORDER BY occurred_at, id`,
  );
  return rows.map((r) => JSON.parse(r.body) as ChainEvent);
}

/** A workspace chain's events, queued and chained, oldest first. */
export async function workspaceChain(t: TestApp, workspaceId: string): Promise<ChainEvent[]> {
  const rows = await t.database.raw<{ body: string }>(
    `SELECT body FROM (SELECT body, occurred_at, id FROM audit_queue WHERE tenant_id = $1
                       UNION ALL SELECT body, occurred_at, id FROM audit_events WHERE tenant_id = $1) e
      ORDER BY occurred_at, id`,
    [workspaceId],
  );
  return rows.map((r) => JSON.parse(r.body) as ChainEvent);
}

/** Every audit event there is, in every chain. */
export const allEventCount = auditEventCount;
