/**
 * The secret-capture harness can fail: a secret in a message string or an error response is
 * reported (by kind and fingerprint, never in full), one under a redacted field is not; and on
 * real traffic it harvests the credentials the app handles and finds none of them leaked.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type TestApp } from './helpers/app.js';
import { captureSummary, discardCaptured, findLeaks, formatFindings, registeredSecrets, registerSecret } from './helpers/secret-capture.js';

function leakRoutes(app: FastifyInstance): void {
  const config = { access: 'public' as const };
  app.post('/test/log-field', { config }, async (request) => {
    const { secret: value } = request.body as { secret: string };
    request.log.info({ password: value, mfaToken: value, user: { token: value }, config: { pkcs11Pin: value }, err: { config: { secret: value } } }, 'fields');
    return { ok: true };
  });
  app.post('/test/log-message', { config }, async (request) => {
    const { secret: value, encoding } = request.body as { secret: string; encoding?: 'url' | 'base64' };
    const shown = encoding === 'url' ? encodeURIComponent(value) : encoding === 'base64' ? Buffer.from(value).toString('base64') : value;
    request.log.warn(`could not unlock the token with ${shown}`);
    return { ok: true };
  });
  app.post('/test/error-echo', { config }, async (request, reply) => {
    const { secret: value } = request.body as { secret: string };
    return reply.status(400).send({ error: { code: 'bad_request', message: `rejected ${value}`, details: null, requestId: request.id } });
  });
}

const fresh = (prefix: string) => `${prefix}-${randomBytes(12).toString('base64url')}`;

describe.each(BACKENDS)('secret capture on $name', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp(backend, {}, { beforeReady: leakRoutes });
  });
  afterAll(async () => t?.close());

  const leaksOf = (value: string) => findLeaks().filter((f) => f.fingerprint.startsWith(`"${value.slice(0, 4)}`) && f.fingerprint.endsWith(`(${value.length} chars)`));

  it('passes a secret logged under redacted field names', async () => {
    const value = fresh('field');
    registerSecret(value, 'test field secret');
    const res = await t.app.inject({ method: 'POST', url: '/test/log-field', payload: { secret: value } });
    expect(res.statusCode).toBe(200);
    const line = t.logs.find((l) => l.includes('"msg":"fields"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({
      password: '[redacted]',
      mfaToken: '[redacted]',
      user: { token: '[redacted]' },
      config: { pkcs11Pin: '[redacted]' },
      err: { config: { secret: '[redacted]' } },
    });
    expect(leaksOf(value)).toEqual([]);
  });

  it('reports a secret in a log message, raw, URL-encoded or base64, naming it by kind and fingerprint only', async () => {
    const value = `pin/${randomBytes(9).toString('base64')}+=`;
    registerSecret(value, 'test PKCS#11 PIN');
    for (const encoding of [undefined, 'url', 'base64'] as const) {
      await t.app.inject({ method: 'POST', url: '/test/log-message', payload: { secret: value, encoding } });
    }
    const findings = leaksOf(value);
    expect(findings.map((f) => f.form).sort()).toEqual(['base64', 'raw', 'url-encoded']);
    for (const f of findings) {
      expect(f.kind).toBe('test PKCS#11 PIN');
      expect(f.fingerprint).toBe(`"${value.slice(0, 4)}…" (${value.length} chars)`);
      expect(f.where).toMatch(/^log line #\d+: /);
      expect(f.where).toContain('could not unlock the token with ‹test PKCS#11 PIN');
    }
    const message = formatFindings(findings);
    expect(message).toContain('test PKCS#11 PIN');
    for (const form of [value, encodeURIComponent(value), Buffer.from(value).toString('base64'), value.slice(4)]) expect(message).not.toContain(form);
    // Cleared, so the check at the end of this file passes.
    expect(discardCaptured((text) => text.includes('could not unlock the token with'))).toBe(3);
    expect(leaksOf(value)).toEqual([]);
  });

  it('reports a secret echoed in an error response, with the route and status', async () => {
    const value = fresh('echo');
    registerSecret(value, 'test vault value');
    const res = await t.app.inject({ method: 'POST', url: '/test/error-echo', payload: { secret: value } });
    expect(res.statusCode).toBe(400);
    const [finding, ...more] = leaksOf(value);
    expect(more).toEqual([]);
    expect(finding).toMatchObject({ kind: 'test vault value', form: 'raw' });
    expect(finding?.where).toMatch(/^error response #\d+ \(POST \/test\/error-echo → 400\): [\s\S]*rejected ‹test vault value "echo…" \(\d+ chars\)›/);
    expect(finding?.where).not.toContain(value);
    discardCaptured((text) => text.includes(value));
    expect(leaksOf(value)).toEqual([]);
  });

  it('ignores short values, and values the tests also sent in a URL', async () => {
    registerSecret('short', 'too short');
    expect(registeredSecrets(/^too short$/)).toEqual([]);
    const value = fresh('public');
    registerSecret(value, 'test value also in a URL');
    await t.app.inject({ method: 'GET', url: `/api/v1/workspaces?q=${encodeURIComponent(value)}` });
    await t.app.inject({ method: 'POST', url: '/test/log-message', payload: { secret: value } });
    expect(leaksOf(value)).toEqual([]);
    discardCaptured((text) => text.includes(value));
  });

  it('ignores a value the tests sent inside a longer URL value or as a field name, and still reports one they did not', async () => {
    const inside = fresh('inside');
    const queryName = fresh('qname');
    const fieldName = fresh('field');
    const kept = fresh('kept');
    for (const value of [inside, queryName, fieldName, kept]) registerSecret(value, 'test value');
    await t.app.inject({ method: 'GET', url: `/api/v1/workspaces?cursor=${encodeURIComponent(`${inside}S`)}&${encodeURIComponent(queryName)}=1` });
    await t.app.inject({ method: 'POST', url: '/test/error-echo', payload: { secret: 'x', nested: [{ [`${fieldName}G`]: 1 }] } });
    for (const secret of [inside, queryName, fieldName, kept]) await t.app.inject({ method: 'POST', url: '/test/log-message', payload: { secret } });
    for (const value of [inside, queryName, fieldName]) expect(leaksOf(value)).toEqual([]);
    expect(leaksOf(kept)).toHaveLength(1);
    discardCaptured((text) => [inside, queryName, fieldName, kept].some((v) => text.includes(v)));
  });

  it('end to end: harvests the credentials of sign-up, sign-in, a failed sign-in, API keys and SCIM tokens, and finds none leaked', async () => {
    const before = captureSummary();
    const owner = await signUp(t, 'capture');
    const wrongPassword = fresh('wrong-password');
    const failed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: owner.email, password: wrongPassword } });
    expect(failed.statusCode).toBe(401);
    const signedIn = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: owner.email, password: owner.password } });
    expect(signedIn.statusCode).toBe(200);
    const ws = await createWorkspace(t, owner, 'Capture');
    const created = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/api-keys`, headers: owner.bearer, payload: { name: 'ci', scopes: ['records:read'] } });
    expect(created.statusCode).toBe(201);
    const { id: keyId, secret } = created.json<{ id: string; secret: string }>();
    const used = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws.id}/collections`, headers: { authorization: `Bearer ${secret}` } });
    expect(used.statusCode).toBe(200);
    const revoked = await t.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${ws.id}/api-keys/${keyId}`, headers: owner.bearer });
    expect(revoked.statusCode).toBe(204);
    const refused = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws.id}/collections`, headers: { authorization: `Bearer ${secret}` } });
    expect(refused.statusCode).toBe(401);
    // A SCIM token: shown once, used, revoked, refused.
    const scimCreated = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/scim/tokens`, headers: owner.bearer, payload: { name: 'idp' } });
    expect(scimCreated.statusCode).toBe(201);
    const { id: scimTokenId, token: scimToken } = scimCreated.json<{ id: string; token: string }>();
    const scimUsed = await t.app.inject({ method: 'GET', url: `/scim/v2/${ws.id}/Users?filter=${encodeURIComponent('userName eq "nobody@example.test"')}`, headers: { authorization: `Bearer ${scimToken}` } });
    expect(scimUsed.statusCode).toBe(200);
    const scimRevoked = await t.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${ws.id}/scim/tokens/${scimTokenId}`, headers: owner.bearer });
    expect(scimRevoked.statusCode).toBe(204);
    const scimRefused = await t.app.inject({ method: 'GET', url: `/scim/v2/${ws.id}/Users`, headers: { authorization: `Bearer ${scimToken}` } });
    expect(scimRefused.statusCode).toBe(401);
    // Malformed JSON carrying a password: harvested from the raw body all the same.
    const malformedPassword = fresh('malformed-password');
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/sign-in',
      headers: { 'content-type': 'application/json' },
      payload: `{"email":"${owner.email}","password":"${malformedPassword}"`,
    });
    expect(malformed.statusCode).toBe(400);

    const secrets = registeredSecrets();
    for (const value of [owner.password, owner.token, wrongPassword, secret, scimToken, malformedPassword, owner.cookie['x-csrf-token'] as string]) expect(secrets).toContain(value);
    expect(registeredSecrets(/^set-cookie __Host-rampart_session$/).length).toBeGreaterThan(0);
    expect(registeredSecrets(/^mail verify_email link/).length + registeredSecrets(/^setup token$/).length).toBeGreaterThan(0);
    expect(registeredSecrets(/^config /)).toContain(t.config.rootSecret);
    const after = captureSummary();
    expect(after.secrets).toBeGreaterThan(before.secrets);
    expect(after.errorResponses - before.errorResponses).toBeGreaterThanOrEqual(4);
    expect(after.logLines).toBeGreaterThan(before.logLines);
    expect(findLeaks()).toEqual([]);
  });
});
