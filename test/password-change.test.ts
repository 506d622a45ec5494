/**
 * Changing the password from an API client (bearer token) or the console (cookie): the session
 * that asked goes on under a new token, every other session ends. A bearer client is handed its
 * new token in the answer (else it would be signed out); a cookie session gets a new cookie and
 * never a token in a body a page's script could read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, sessionCookie, signUp, type TestApp } from './helpers/app.js';

describe.each(BACKENDS)('changing the password on $name', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp(backend);
  });
  afterAll(async () => t?.close());

  const session = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('with a bearer token: answers the new token; the old one and every other session end', async () => {
    const user = await signUp(t, 'bearer-change');
    const newPassword = `new-${user.password}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: user.bearer,
      payload: { currentPassword: user.password, newPassword },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: 'signed_in', account: { id: user.accountId }, session: { kind: 'bearer' }, csrfToken: null, tokenType: 'Bearer' });
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{16,200}$/);
    expect(body.token).not.toBe(user.token);
    expect(res.cookies).toEqual([]);
    // The new token is the same session, signed in; the old token and the cookie session are gone.
    const now = await session(bearer(body.token));
    expect(now.statusCode).toBe(200);
    expect(now.json().session.id).toBe(body.session.id);
    expect((await session(user.bearer)).statusCode).toBe(401);
    expect((await session(user.cookie)).statusCode).toBe(401);
    // And the new password is the one that signs in.
    const signIn = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email: user.email, password: newPassword } });
    expect(signIn.statusCode).toBe(201);
  });

  it('with the session cookie: a new cookie and CSRF token, and no token in the body', async () => {
    const user = await signUp(t, 'cookie-change');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: user.cookie,
      payload: { currentPassword: user.password, newPassword: `new-${user.password}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: 'signed_in', session: { kind: 'cookie' } });
    expect(body).not.toHaveProperty('token');
    expect(body).not.toHaveProperty('tokenType');
    const cookie = sessionCookie(res);
    expect(res.body).not.toContain(cookie);
    expect(body.csrfToken).not.toBe(user.cookie['x-csrf-token']);
    expect((await session({ cookie: `__Host-rampart_session=${cookie}` })).statusCode).toBe(200);
    expect((await session(user.cookie)).statusCode).toBe(401);
    expect((await session(user.bearer)).statusCode).toBe(401);
  });

  it('a wrong current password changes nothing and hands out nothing', async () => {
    const user = await signUp(t, 'wrong-change');
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: user.bearer, payload: { currentPassword: 'not-the-password', newPassword: `new-${user.password}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('reauthentication_required');
    expect((await session(user.bearer)).statusCode).toBe(200);
    expect((await session(user.cookie)).statusCode).toBe(200);
  });

  it('the OpenAPI document describes the token answer', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    const answer = spec.paths['/api/v1/auth/password'].post.responses['200'].content['application/json'].schema;
    const refs = (answer.anyOf as Array<{ $ref: string }>).map((s) => s.$ref.split('/').at(-1) as string);
    expect(refs).toEqual(['RotatedBearerSession', 'Session']);
    expect(spec.components.schemas.RotatedBearerSession.required).toEqual(expect.arrayContaining(['token', 'tokenType', 'session']));
    expect(spec.components.schemas.Session.properties).not.toHaveProperty('token');
  });
});
