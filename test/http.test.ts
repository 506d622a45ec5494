/**
 * The HTTP surface every route shares: security headers, request ids, the error body for each
 * kind of bad input, health and readiness, the OpenAPI document, deny-by-default route
 * declarations, and logs that never carry a secret.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAuth } from '../src/platform/http/auth.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { openApiPath } from './helpers/samples.js';

describe('HTTP platform', () => {
  let t: TestApp;
  let alice: Caller;

  beforeAll(async () => {
    t = await buildTestApp(BACKENDS[0]!, { bodyLimitBytes: 4096 });
    alice = await signUp(t, 'alice');
  });
  afterAll(async () => t?.close());

  it('sends the security headers on API responses and errors', async () => {
    for (const url of ['/api/v1/workspaces', '/healthz', '/nope']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.headers['strict-transport-security'], url).toBe('max-age=63072000; includeSubDomains');
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
      const csp = String(res.headers['content-security-policy']);
      expect(csp, url).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
    }
  });

  it('gives every response its own request id, the same one the error body carries', async () => {
    const a = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: { 'x-request-id': 'client-chosen' } });
    const b = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces' });
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    expect(a.json().error.requestId).toBe(a.headers['x-request-id']);
  });

  it('API responses are not cached', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: alice.bearer });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  describe('bad input gets a 4xx with a stable code', () => {
    const post = (payload: string | Buffer, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: { ...alice.bearer, 'content-type': 'application/json', ...headers }, payload });

    it('malformed JSON', async () => {
      const res = await post('{"name": ');
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('invalid_json');
    });

    it('an empty JSON body', async () => {
      const res = await post('');
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('invalid_json');
    });

    it('wrong types and unknown fields, with the fields named', async () => {
      const res = await post(JSON.stringify({ name: 42, colour: 'red' }));
      expect(res.statusCode).toBe(400);
      const body = res.json().error;
      expect(body.code).toBe('validation_failed');
      const paths = body.details.issues.map((i: { path: string }) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['body.name']));
      expect(JSON.stringify(body.details)).toContain('colour');
    });

    it('a body over the limit', async () => {
      const res = await post(JSON.stringify({ name: 'x'.repeat(5000) }));
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('payload_too_large');
    });

    it('JSON nested deeper than the limit', async () => {
      const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
      const res = await post(`{"name":"x","region":${deep}}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    });

    it('a content type other than JSON', async () => {
      const res = await post('name=x', { 'content-type': 'text/plain' });
      expect(res.statusCode).toBe(415);
      expect(res.json().error.code).toBe('unsupported_media_type');
      const form = await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(form.statusCode).toBe(415);
    });

    it('a NUL character anywhere in the JSON', async () => {
      for (const body of ['{"name":"a\\u0000b"}', '{"name":"ok","x\\u0000":1}']) {
        const res = await post(body);
        expect(res.statusCode, body).toBe(400);
        expect(res.json().error.code).toBe('validation_failed');
      }
    });

    it('an undecodable URL, and a path segment longer than any id', async () => {
      const bad = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces/%E0%A4%A', headers: alice.bearer });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('bad_request');
      const long = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${'a'.repeat(300)}`, headers: alice.bearer });
      expect(long.statusCode).toBe(414);
      expect(long.json().error.code).toBe('uri_too_long');
    });

    it('an unknown route', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatchObject({ code: 'not_found', details: null });
    });

    it('prototype-polluting keys are refused or harmless', async () => {
      const res = await post('{"name":"x","__proto__":{"admin":true}}');
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('invalid_json');
      expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
    });
  });

  it('answers liveness and readiness', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });

  it('reports not ready, with no internals, when the database is gone', async () => {
    const other = await buildTestApp(BACKENDS[0]!);
    await other.database.db.close();
    const res = await other.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'not_ready', message: 'The service is not ready.', details: null });
    await other.app.close();
  });

  describe('OpenAPI', () => {
    it('serves an OpenAPI 3.1 document describing every API route', async () => {
      const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
      expect(spec.openapi).toBe('3.1.0');
      const documented = new Set<string>();
      for (const [path, item] of Object.entries<Record<string, unknown>>(spec.paths)) {
        for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
      }
      const apiRoutes = t.routes.filter((r) => r.url.startsWith('/api/v1/') && !r.hidden && r.method !== 'HEAD' && !r.url.startsWith('/api/v1/docs'));
      expect(apiRoutes.length).toBeGreaterThan(20);
      for (const r of apiRoutes) {
        const op = `${r.method} ${openApiPath(r.url)}`;
        expect(documented.has(op), op).toBe(true);
      }
      // Every reference points at a schema the document defines.
      const refs = new Set(JSON.stringify(spec).match(/#\/components\/schemas\/[^"]+/g));
      for (const ref of refs) expect(spec.components.schemas[ref.split('/').at(-1) as string], ref).toBeDefined();
      // Public operations say so; the others need a session or a bearer token.
      expect(spec.paths['/api/v1/auth/sign-in'].post.security).toEqual([]);
      expect(spec.paths['/api/v1/workspaces'].get.security).toBeUndefined();
      expect(spec.security).toEqual([{ session: [] }, { bearer: [] }]);
    });

    it('serves browsable documentation', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/docs/' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('swagger-ui');
    });
  });

  it('refuses to start with an API route that declares no access (deny by default)', async () => {
    const app = Fastify();
    installAuth(app, { resolve: () => Promise.resolve(null), resolveApiKey: () => Promise.resolve(null), touch: () => {}, touchApiKey: () => {} });
    expect(() => app.get('/api/v1/forgotten', async () => 'oops')).toThrow(/declares no access/);
    expect(() => app.get('/api/v1/things/:id', { config: { access: 'workspace', scope: 'records:read' } }, async () => 'x')).toThrow(/without :workspaceId/);
    // A workspace route must name a scope, and one the catalogue knows.
    expect(() => app.get('/api/v1/workspaces/:workspaceId/things', { config: { access: 'workspace' } }, async () => 'x')).toThrow(/declares no known scope/);
    expect(() =>
      app.get('/api/v1/workspaces/:workspaceId/stuff', { config: { access: 'workspace', scope: 'things:do' as never } }, async () => 'x'),
    ).toThrow(/declares no known scope/);
    expect(() => app.get('/api/v1/mine', { config: { access: 'account', scope: 'records:read' } }, async () => 'x')).toThrow(/not a workspace route/);
    expect(() => app.get('/api/v1/workspaces/:workspaceId/fine', { config: { access: 'workspace', scope: 'records:read' } }, async () => 'x')).not.toThrow();
    // Routes outside /api (console, health) need no declaration.
    expect(() => app.get('/healthz', async () => 'ok')).not.toThrow();
    await app.close();
  });

  it('never writes a secret to the log', async () => {
    const user = await signUp(t, 'logged');
    const ws = await createWorkspace(t, user, 'Logged');
    await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws.id}`, headers: user.bearer });
    await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws.id}`, headers: user.cookie });
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: user.email, password: 'wrong-password-123' } });
    await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: { authorization: `Bearer ${user.token}x` } });
    const setupToken = 'rsu_' + 'A'.repeat(43);
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email: 'new@example.test', password: user.password, setupToken } });
    const log = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(10);
    const cookieToken = (user.cookie['cookie'] as string).split('=')[1] as string;
    for (const secret of [user.password, user.token, cookieToken, user.cookie['x-csrf-token'] as string, t.config.rootSecret, 'wrong-password-123', setupToken]) {
      expect(log).not.toContain(secret);
    }
  });
});
