/**
 * The staff permission table: docs/staff-access.md lists exactly what the code allows each role,
 * and the server refuses to start with a staff route that names no permission (deny by default).
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { STAFF_ROLES } from '../src/modules/events/actors.js';
import { STAFF_PERMISSION_CATALOGUE, STAFF_PERMISSIONS, STAFF_ROLE_PERMISSIONS, staffMay } from '../src/modules/staff/index.js';
import { assertRouteDeclaration, installAuth } from '../src/platform/http/auth.js';
import { installErrorHandling } from '../src/platform/http/errors.js';

describe('staff permissions', () => {
  it('docs/staff-access.md has one row per permission, in order, with the roles holding it', () => {
    const text = readFileSync(new URL('../docs/staff-access.md', import.meta.url), 'utf8');
    const rows = [...text.matchAll(/^\| `([a-z:-]+)` \| (.+?) \| (✓?) \| (✓?) \| (✓?) \| (✓?) \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual(STAFF_PERMISSIONS);
    for (const [, permission, description, ...marks] of rows) {
      const p = permission as (typeof STAFF_PERMISSIONS)[number];
      expect(description, p).toBe(STAFF_PERMISSION_CATALOGUE[p]);
      expect(marks.map((m) => m === '✓'), p).toEqual(STAFF_ROLES.map((role) => STAFF_ROLE_PERMISSIONS[role].has(p)));
    }
  });

  it('least privilege: staff-admin reaches no workspace data; only security opens break-glass', () => {
    expect(staffMay('staff-admin', 'access:request')).toBe(false);
    expect(staffMay('staff-admin', 'access:use')).toBe(false);
    expect(STAFF_ROLES.filter((r) => staffMay(r, 'break-glass:open'))).toEqual(['security']);
    expect(STAFF_ROLES.filter((r) => staffMay(r, 'staff:manage'))).toEqual(['staff-admin']);
    for (const role of STAFF_ROLES) {
      expect(staffMay(role, 'self')).toBe(true);
      expect(staffMay(role, 'enrolment')).toBe(true);
    }
  });

  it('a staff route must name a known permission and live under /api/v1/staff/', async () => {
    const check = (url: string, config: Record<string, unknown>) => () => assertRouteDeclaration({ url, method: 'GET', config });
    expect(check('/api/v1/staff/things', { access: 'staff' })).toThrow(/declares no known staff permission/);
    expect(check('/api/v1/staff/things', { access: 'staff', staffPermission: 'root:everything' })).toThrow(/declares no known staff permission/);
    expect(check('/api/v1/things', { access: 'staff', staffPermission: 'access:use' })).toThrow(/not under \/api\/v1\/staff\//);
    expect(check('/api/v1/mine', { access: 'account', staffPermission: 'access:use' })).toThrow(/not a staff route/);
    expect(check('/api/v1/staff/things', { access: 'staff', staffPermission: 'access:use' })).not.toThrow();
    expect(check('/api/v1/staff/session', { access: 'staff', staffPermission: 'enrolment' })).not.toThrow();

    // Without a staff realm wired in, every staff route answers 401.
    const app = Fastify();
    installErrorHandling(app);
    await app.register((await import('@fastify/cookie')).default);
    installAuth(app, { resolve: () => Promise.resolve(null), resolveApiKey: () => Promise.resolve(null), touch: () => {}, touchApiKey: () => {} });
    app.get('/api/v1/staff/probe', { config: { access: 'staff', staffPermission: 'self' } }, async () => 'in');
    const res = await app.inject({ method: 'GET', url: '/api/v1/staff/probe', headers: { authorization: 'Bearer rst_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    await app.close();
  });
});
