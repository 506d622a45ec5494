/**
 * The HTTP surface every route shares: security headers, request ids, the error body for each
 * kind of bad input, health and readiness, the OpenAPI document, deny-by-default route
 * declarations, and logs that never carry a secret.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG, RampartError, type ErrorCode } from '../src/platform/errors.js';
import { installAuth } from '../src/platform/http/auth.js';
import { clientErrorHandler } from '../src/platform/http/client-errors.js';
import { securityHeaders } from '../src/platform/http/security-headers.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, multipart, signUp, type Caller, type TestApp } from './helpers/app.js';
import { rawRequest } from './helpers/raw-http.js';
import { openApiPath } from './helpers/samples.js';

/** The headers helmet sets (decision 0006): every answer, error or not, carries all of them. */
const SECURITY_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

/** Every error code this file's requests got, by route: each must be declared in the OpenAPI document. */
const seenErrors = new Map<string, Set<string>>();

function recordErrors(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (reply.statusCode >= 400 && reply.statusCode < 500 && route && typeof payload === 'string' && request.method !== 'HEAD') {
      const code = (JSON.parse(payload) as { error?: { code?: string } }).error?.code;
      const key = `${request.method} ${route}`;
      if (code) seenErrors.set(key, (seenErrors.get(key) ?? new Set()).add(code));
    }
    return payload;
  });
}

/** A test-only route that sets headers of its own answer, then fails (as a download can). */
function failsLate(app: FastifyInstance): void {
  recordErrors(app);
  app.get('/api/v1/test/fails-late', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-disposition', 'attachment; filename="report.pdf"').header('etag', '"v1"').header('content-length', '999999');
    reply.header('content-type', 'application/pdf');
    throw new RampartError('conflict');
  });
}

describe('HTTP platform', () => {
  let t: TestApp;
  let alice: Caller;

  beforeAll(async () => {
    t = await buildTestApp(BACKENDS[0]!, { bodyLimitBytes: 4096 }, { beforeReady: failsLate });
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

    it('validation messages name the field in plain words; issue paths stay as they were', async () => {
      const ws = await createWorkspace(t, alice, 'Messages');
      const member = (await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws.id}/roles`, headers: alice.bearer })).json().data.find((r: { builtin: string | null }) => r.builtin === 'member').id;
      const cases: Array<[string, string, unknown, string, Array<[string, string]>, string?]> = [
        ['POST', '/api/v1/workspaces', { name: 'x'.repeat(101) }, 'name must be at most 100 characters.', [['body.name', 'name must be at most 100 characters']]],
        ['POST', '/api/v1/workspaces', {}, 'name is required.', [['body.name', 'name is required']]],
        ['POST', '/api/v1/workspaces', { name: '   ' }, 'name must not be empty.', [['body.name', 'name must not be empty']]],
        [
          'POST',
          '/api/v1/workspaces',
          { name: 42, colour: 'red' },
          'name must be text, not a number; the request body has an unknown field "colour".',
          [['body.name', 'name must be text, not a number'], ['body', 'the request body has an unknown field "colour"']],
        ],
        ['POST', `/api/v1/workspaces/${ws.id}/invitations`, { email: 'nope', roleId: member }, 'email is not an email address.', [['body.email', 'email is not an email address']]],
        ['POST', `/api/v1/workspaces/${ws.id}/invitations`, { email: 'a@example.test' }, 'roleId is required.', [['body.roleId', 'roleId is required']]],
        ['POST', `/api/v1/workspaces/${ws.id}/roles`, { name: 'R', scopes: ['records:fly'] }, 'scopes[0] must be one of ', [['body.scopes.0', 'scopes[0] must be one of ']]],
        ['GET', `/api/v1/workspaces/${ws.id}/collections/things/records?limit=500`, undefined, 'limit must be at most 200.', [['querystring.limit', 'limit must be at most 200']]],
        ['GET', `/api/v1/workspaces/${ws.id}/collections/things/records?limit=many`, undefined, 'limit must be a number.', [['querystring.limit', 'limit must be a number']]],
        ['GET', `/api/v1/workspaces/${ws.id}/collections/things/records/nope`, undefined, 'recordId must be a lowercase UUID.', [['params.recordId', 'recordId must be a lowercase UUID']], 'invalid_id'],
      ];
      for (const [method, url, payload, message, issues, code = 'validation_failed'] of cases) {
        const res = await t.app.inject({ method: method as 'POST', url, headers: alice.bearer, ...(payload === undefined ? {} : { payload: payload as object }) });
        const where = `${method} ${url} ${JSON.stringify(payload)}`;
        expect(res.statusCode, where).toBe(400);
        const error = res.json().error;
        expect(error.code, where).toBe(code);
        expect(error.message.startsWith(message), `${where}: ${error.message}`).toBe(true);
        expect(error.details.issues.length, where).toBe(issues.length);
        for (const [i, [path, said]] of issues.entries()) {
          expect(error.details.issues[i].path, where).toBe(path);
          expect(error.details.issues[i].message.startsWith(said), `${where}: ${error.details.issues[i].message}`).toBe(true);
        }
      }
    });

    it('a body over the limit', async () => {
      const res = await post(JSON.stringify({ name: 'x'.repeat(5000) }));
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('payload_too_large');
    });

    it('sizes are said in human units', async () => {
      const body = await post(JSON.stringify({ name: 'x'.repeat(5000) }));
      expect(body.statusCode).toBe(413);
      expect(body.json().error).toMatchObject({ code: 'payload_too_large', message: 'The request body is larger than 4 KiB.', details: { limitBytes: 4096 } });
      const ws = await createWorkspace(t, alice, 'Sizes');
      const upload = multipart('big.bin', Buffer.alloc(64 * 1024 + 1, 1));
      const document = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/documents`, headers: { ...alice.bearer, ...upload.headers }, payload: upload.payload });
      expect(document.statusCode).toBe(413);
      expect(document.json().error).toMatchObject({ code: 'payload_too_large', message: 'A document can be at most 64 KiB.', details: { limitBytes: 65536 } });
      const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
      expect(spec.paths['/api/v1/workspaces/{workspaceId}/documents'].post.summary).toContain('at most 64 KiB');
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

    it('an empty body declared as JSON is no body on routes that take none (DELETE and body-less POSTs)', async () => {
      const json = { ...alice.bearer, 'content-type': 'application/json' };
      const other = (await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email: alice.email, password: alice.password } })).json();
      const sessions = (await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: { authorization: `Bearer ${other.token}` } })).json().data;
      const otherId = sessions.find((x: { current: boolean }) => x.current).id;
      const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${otherId}`, headers: json, payload: '' });
      expect(del.statusCode, del.body).toBe(204);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { authorization: `Bearer ${other.token}` } })).statusCode).toBe(401);
      const ws = await createWorkspace(t, alice, 'Empty bodies');
      const rotate = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/keys/rotate`, headers: json, payload: '' });
      expect(rotate.statusCode, rotate.body).toBe(200);
      // A route that takes a body still needs one.
      const deleteWorkspace = await t.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${ws.id}`, headers: json, payload: '' });
      expect(deleteWorkspace.statusCode).toBe(400);
      expect(deleteWorkspace.json().error.code).toBe('invalid_json');
      // Not an empty body: still parsed, and refused.
      const junk = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${otherId}`, headers: json, payload: ' x' });
      expect(junk.json().error.code).toBe('invalid_json');
    });

    it('a known path with a method it does not take: 405 with Allow', async () => {
      const ws = await createWorkspace(t, alice, 'Methods');
      const cases: Array<[string, string, string]> = [
        ['PUT', '/api/v1/workspaces', 'GET, HEAD, POST'],
        ['DELETE', '/api/v1/auth/sign-in', 'POST'],
        ['POST', `/api/v1/workspaces/${ws.id}`, 'DELETE, GET, HEAD, PATCH'],
        ['PATCH', `/api/v1/workspaces/${ws.id}/collections/things/records/018f0000-0000-7000-8000-000000000000?x=1`, 'DELETE, GET, HEAD, PUT'],
        ['OPTIONS', '/healthz', 'GET, HEAD'],
      ];
      for (const [method, url, allow] of cases) {
        const res = await t.app.inject({ method: method as 'PUT', url, headers: alice.bearer });
        expect(res.statusCode, `${method} ${url}`).toBe(405);
        expect(res.headers['allow'], `${method} ${url}`).toBe(allow);
        expect(res.json().error, `${method} ${url}`).toMatchObject({ code: 'method_not_allowed', requestId: res.headers['x-request-id'] });
        expect(res.headers['x-frame-options']).toBe('DENY');
      }
      // A path no route has is still not found, whatever the method.
      const none = await t.app.inject({ method: 'PUT', url: '/api/v1/nothing-here' });
      expect(none.statusCode).toBe(404);
      expect(none.headers['allow']).toBeUndefined();
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

  it('an API key on another workspace\'s routes answers as an unknown key does, as the docs say', async () => {
    const mine = await createWorkspace(t, alice, 'Key home');
    const other = await createWorkspace(t, alice, 'Key elsewhere');
    const created = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${mine.id}/api-keys`, headers: alice.bearer, payload: { name: 'home', scopes: ['records:read'] } });
    const key = { authorization: `Bearer ${created.json().secret}` };
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${mine.id}/collections`, headers: key })).statusCode).toBe(200);
    const answers = [];
    for (const ws of [other.id, '018f0000-0000-7000-8000-00000000abcd']) {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/collections`, headers: key });
      answers.push({ status: res.statusCode, code: res.json().error.code, message: res.json().error.message });
    }
    // Revoked, it answers the same at home.
    await t.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${mine.id}/api-keys/${created.json().id}`, headers: alice.bearer });
    const revoked = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${mine.id}/collections`, headers: key });
    answers.push({ status: revoked.statusCode, code: revoked.json().error.code, message: revoked.json().error.message });
    const expected = { status: 401, code: 'unauthenticated', message: 'This API key does not open this workspace: it is unknown, revoked, expired, or another workspace\'s.' };
    expect(answers).toEqual([expected, expected, expected]);
    // What the docs say.
    const docs = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
    expect(docs).toMatch(/any other\s+workspace's routes it answers `401 unauthenticated`/);
    const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    expect(spec.components.securitySchemes.bearer.description).toMatch(/another workspace's routes: 401/);
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

    it('names every operation with a unique camelCase operationId, and keeps the published ones', async () => {
      const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
      const ids = new Map<string, string>();
      for (const [path, item] of Object.entries<Record<string, { operationId?: string }>>(spec.paths)) {
        for (const [method, op] of Object.entries(item)) {
          const where = `${method.toUpperCase()} ${path}`;
          expect(op.operationId ?? '', `${where} has no operationId (name it in src/platform/http/operation-ids.ts)`).toMatch(/^[a-z][a-z]*[A-Z][A-Za-z0-9]*$/);
          expect(ids.get(op.operationId as string), `${op.operationId} is used twice`).toBeUndefined();
          ids.set(op.operationId as string, where);
        }
      }
      expect(ids.size).toBeGreaterThan(100);
      const published: Array<[string, string]> = [
        ['listWorkspaces', 'GET /api/v1/workspaces'],
        ['createWorkspace', 'POST /api/v1/workspaces'],
        ['listRecords', 'GET /api/v1/workspaces/{workspaceId}/collections/{collection}/records'],
        ['getRecord', 'GET /api/v1/workspaces/{workspaceId}/collections/{collection}/records/{recordId}'],
        ['changePassword', 'POST /api/v1/auth/password'],
        ['createApiKey', 'POST /api/v1/workspaces/{workspaceId}/api-keys'],
      ];
      for (const [id, where] of published) expect(ids.get(id), id).toBe(where);
    });

    it('lists the error codes each operation can answer, by status, with an example of each', async () => {
      const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
      const codes = (path: string, method: string, status: string) => Object.keys(spec.paths[path][method].responses[status]?.content['application/json'].examples ?? {});
      const records = '/api/v1/workspaces/{workspaceId}/collections/{collection}/records';
      expect(codes(records, 'get', '400')).toEqual(expect.arrayContaining(['validation_failed', 'invalid_id', 'invalid_cursor', 'invalid_filter']));
      expect(codes(records, 'get', '401')).toEqual(['unauthenticated']);
      expect(codes(records, 'get', '403')).toEqual(expect.arrayContaining(['forbidden', 'mfa_enrolment_required']));
      expect(codes(records, 'get', '404')).toEqual(expect.arrayContaining(['workspace_not_found', 'collection_not_found']));
      expect(codes(records, 'post', '400')).toEqual(expect.arrayContaining(['invalid_json', 'validation_failed']));
      expect(codes(records, 'post', '415')).toEqual(['unsupported_media_type']);
      expect(codes(records, 'post', '403')).toEqual(expect.arrayContaining(['csrf_failed', 'forbidden']));
      // A public route says nothing of sessions; sign-in says what it does say.
      expect(codes('/api/v1/auth/sign-in', 'post', '401')).toEqual(['invalid_credentials']);
      expect(codes('/api/v1/auth/sign-in', 'post', '429')).toEqual(['rate_limited']);
      const example = spec.paths[records].get.responses['404'].content['application/json'].examples.collection_not_found.value;
      expect(example.error).toMatchObject({ code: 'collection_not_found', details: null });
      // The generic fallbacks stay for what no route can list (a proxy's, a new code's).
      expect(spec.paths[records].get.responses['4XX']).toBeDefined();
    });

    it('request examples are bodies their operation accepts', async () => {
      const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
      const ws = await createWorkspace(t, alice, 'Examples');
      await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/collections`, headers: alice.bearer, payload: { name: 'things' } });
      let tried = 0;
      for (const [path, item] of Object.entries<Record<string, { requestBody?: { content?: Record<string, { example?: unknown }> } }>>(spec.paths)) {
        for (const [method, op] of Object.entries(item)) {
          const example = op.requestBody?.content?.['application/json']?.example;
          if (example === undefined) continue;
          const url = path.replace('{workspaceId}', ws.id).replace('{collection}', 'things').replace(/\{[A-Za-z*]+\}/g, randomUUID());
          const res = await t.app.inject({ method: method.toUpperCase() as 'POST', url, headers: alice.bearer, payload: example as object });
          const where = `${method.toUpperCase()} ${path}: ${res.body}`;
          if (res.statusCode >= 400) expect(['validation_failed', 'invalid_json', 'invalid_id'], where).not.toContain(res.json().error.code);
          tried += 1;
        }
      }
      expect(tried).toBeGreaterThanOrEqual(5);
      const workspace = spec.paths['/api/v1/workspaces'].post.requestBody.content['application/json'];
      expect(workspace.example).toEqual({ name: 'Acme Support' });
    });

    it('declares the filter[field] query parameters as a deepObject', async () => {
      const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
      for (const path of ['/api/v1/workspaces/{workspaceId}/collections/{collection}/records', '/api/v1/staff/grants/{grantId}/collections/{collection}/records']) {
        const filter = spec.paths[path].get.parameters.find((p: { name: string }) => p.name === 'filter');
        expect(filter, path).toMatchObject({ in: 'query', style: 'deepObject', explode: true, schema: { type: 'object', additionalProperties: { type: 'string' } } });
        expect(filter.description, path).toMatch(/filter\[field\]=value/);
      }
      // And what it declares is what the route does.
      const ws = await createWorkspace(t, alice, 'Filters');
      const base = `/api/v1/workspaces/${ws.id}/collections`;
      await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { name: 'things' } });
      for (const data of [{ colour: 'red', n: 1 }, { colour: 'blue', n: 1 }]) await t.app.inject({ method: 'POST', url: `${base}/things/records`, headers: alice.bearer, payload: { data } });
      const found = await t.app.inject({ method: 'GET', url: `${base}/things/records?filter[colour]=red&filter[n]=1`, headers: alice.bearer });
      expect(found.json().data.map((r: { data: unknown }) => r.data)).toEqual([{ colour: 'red', n: 1 }]);
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

  describe('every answer carries the error contract', () => {
    let port: number;
    let reference: Record<string, string>;
    let walker: Caller;
    let walkerWorkspace: string;

    beforeAll(async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (t.app.server.address() as AddressInfo).port;
      const ok = await t.app.inject({ method: 'GET', url: '/healthz' });
      reference = Object.fromEntries(SECURITY_HEADERS.map((name) => [name, String(ok.headers[name])]));
      for (const name of SECURITY_HEADERS) expect(ok.headers[name], name).toBeDefined();
      walker = await signUp(t, 'walker');
      walkerWorkspace = (await createWorkspace(t, walker, 'Walked')).id;
    });

    /** The documented body with the answer's own request id, the security headers, no caching. */
    function expectContract(res: { status: number; headers: Record<string, string | string[] | number | undefined>; body: string }, where: string, scim = false) {
      expect(res.status, where).toBeGreaterThanOrEqual(400);
      const requestId = String(res.headers['x-request-id']);
      expect(requestId, where).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      for (const name of SECURITY_HEADERS) expect(res.headers[name], `${where}: ${name}`).toBe(reference[name]);
      expect(res.headers['cache-control'], where).toBe('no-store');
      expect(res.headers['content-disposition'], where).toBeUndefined();
      expect(res.headers['etag'], where).toBeUndefined();
      if (res.body === '') return; // HEAD
      expect(Number(res.headers['content-length'] ?? Buffer.byteLength(res.body)), where).toBe(Buffer.byteLength(res.body));
      if (scim) {
        expect(String(res.headers['content-type']), where).toMatch(/^application\/scim\+json/);
        expect(JSON.parse(res.body), where).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(res.status) });
        return;
      }
      expect(String(res.headers['content-type']), where).toBe('application/json; charset=utf-8');
      const { error } = JSON.parse(res.body) as { error: { code: ErrorCode; message: string; details: unknown; requestId: string } };
      expect(Object.keys(error).sort(), where).toEqual(['code', 'details', 'message', 'requestId']);
      expect(error.requestId, where).toBe(requestId);
      expect(ERROR_CATALOG[error.code]?.status, `${where}: ${error.code}`).toBe(res.status);
      return error;
    }

    const request = (lines: string[], body = '') => `${lines.join('\r\n')}\r\n\r\n${body}`;

    it('answers requests Node cannot parse with the error body, the security headers and a request id, and closes', async () => {
      const cases: Array<[string, string, number, ErrorCode, RegExp]> = [
        ['a 20 KB header', request(['GET /api/v1/workspaces HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`]), 431, 'request_header_fields_too_large', /16 KiB/],
        ['a garbage request line', request(['HELLO WORLD']), 400, 'bad_request', /not valid HTTP/],
        ['an invalid Content-Length', request(['POST /api/v1/workspaces HTTP/1.1', 'Host: x', 'Content-Length: abc']), 400, 'bad_request', /Content-Length/],
        ['two Content-Lengths', request(['POST /api/v1/workspaces HTTP/1.1', 'Host: x', 'Content-Length: 1', 'Content-Length: 2'], 'ab'), 400, 'bad_request', /./],
        [
          'a malformed chunked body',
          request(['POST /api/v1/workspaces HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n'),
          400,
          'bad_request',
          /chunked/,
        ],
      ];
      for (const [where, bytes, status, code, message] of cases) {
        const res = await rawRequest(port, bytes);
        expect(res.status, where).toBe(status);
        expect(res.headers['connection'], where).toBe('close');
        const error = expectContract(res, where);
        expect(error?.code, where).toBe(code);
        expect(error?.message, where).toMatch(message);
      }
      // The server is still serving.
      expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    });

    it('answers a request that is too slow to arrive with 408 and the error body', async () => {
      const server: Server = createServer({ connectionsCheckingInterval: 20, headersTimeout: 150, requestTimeout: 150 }, (_req, res) => res.end('late'));
      const log = t.app.log;
      server.on('clientError', clientErrorHandler(securityHeaders({ secureOrigin: false }), () => log));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const res = await rawRequest((server.address() as AddressInfo).port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
        expect(res.status).toBe(408);
        expect(res.headers['connection']).toBe('close');
        expect(expectContract(res, 'slow headers')?.code).toBe('request_timeout');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('refuses a body whose content type lies with 415, and writes nothing', async () => {
      const auth = `Authorization: Bearer ${walker.token}`;
      const before = (await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: walker.bearer })).json().data.length;
      const json = '{"name":"Lied"}';
      const cases: Array<[string, string]> = [
        ['JSON declared as UTF-16', 'application/json; charset=utf-16'],
        ['JSON declared as Latin-1', 'application/json; charset=iso-8859-1'],
        ['multipart without a boundary', 'multipart/form-data'],
        ['multipart on a JSON route', 'multipart/form-data; boundary=xyz'],
        ['a form on a JSON route', 'application/x-www-form-urlencoded'],
      ];
      for (const [where, type] of cases) {
        const res = await rawRequest(
          port,
          request(['POST /api/v1/workspaces HTTP/1.1', 'Host: x', auth, `Content-Type: ${type}`, `Content-Length: ${json.length}`, 'Connection: close'], json),
        );
        expect(res.status, where).toBe(415);
        expect(expectContract(res, where)?.code, where).toBe('unsupported_media_type');
      }
      // Declared UTF-8 (in any case) is JSON.
      const utf8 = await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: { ...walker.bearer, 'content-type': 'application/json; charset=UTF-8' }, payload: json });
      expect(utf8.statusCode).toBe(201);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: walker.bearer })).json().data.length).toBe(before + 1);
    });

    it('an error after the handler set headers of its own answer drops them', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/test/fails-late' });
      expect(res.statusCode).toBe(409);
      expect(expectContract({ status: res.statusCode, headers: res.headers, body: res.body }, 'fails late')?.code).toBe('conflict');
    });

    it('walks the route table with bad requests: every error answer carries the body, a request id and the security headers', async () => {
      const ids = (workspaceId: string) => ({ workspaceId, collection: 'things', recordId: randomUUID(), documentId: randomUUID(), id: randomUUID() });
      const fill = (url: string, values: Record<string, string>) =>
        url.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(values[name] ?? randomUUID())).replace(/\*$/, 'token');
      // Signing out or ending the walker's other sessions would end the walk's credentials early.
      const routes = t.routes.filter((r) => !/\/(sign-out|revoke-others)$/.test(r.url) && !r.url.startsWith('/api/v1/docs'));
      expect(routes.length).toBeGreaterThan(100);
      const seen = new Set<string>();
      let errors = 0;
      for (const route of routes) {
        const withBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method);
        const attempts: Array<{ url: string; headers: Record<string, string>; payload?: string }> = [
          { url: fill(route.url, ids(randomUUID())), headers: withBody ? { 'content-type': 'application/json' } : {}, ...(withBody ? { payload: '{' } : {}) },
          { url: fill(route.url, ids('not-a-workspace')), headers: walker.bearer },
          { url: fill(route.url, ids(randomUUID())), headers: walker.bearer },
          { url: fill(route.url, ids(walkerWorkspace)), headers: { ...walker.bearer, 'content-type': 'application/json' }, ...(withBody ? { payload: '{"a":' } : {}) },
          { url: fill(route.url, ids(walkerWorkspace)), headers: { ...walker.bearer, 'content-type': 'application/json' }, ...(withBody ? { payload: '{"unknown field":1}' } : {}) },
          { url: fill(route.url, ids(walkerWorkspace)), headers: { ...walker.bearer, 'content-type': 'text/plain' }, ...(withBody ? { payload: 'x' } : {}) },
          { url: fill(route.url, ids(walkerWorkspace)), headers: { authorization: 'Bearer not a token' } },
        ];
        for (const attempt of attempts) {
          const res = await t.app.inject({ method: route.method as 'GET', ...attempt });
          if (res.statusCode < 400) continue;
          errors += 1;
          const where = `${route.method} ${attempt.url} ${JSON.stringify(attempt.headers['content-type'] ?? '')}`;
          const error = expectContract({ status: res.statusCode, headers: res.headers, body: res.body }, where, route.url.startsWith('/scim/'));
          if (error) seen.add(error.code);
        }
      }
      expect(errors).toBeGreaterThan(routes.length * 3);
      expect([...seen]).toEqual(
        expect.arrayContaining(['unauthenticated', 'invalid_id', 'invalid_json', 'validation_failed', 'unsupported_media_type', 'workspace_not_found', 'not_found']),
      );
      // Beyond the route table: no route, an undecodable URL, an over-long segment.
      for (const url of ['/api/v1/nothing-here', '/nothing-here', '/api/v1/workspaces/%E0%A4%A', `/api/v1/workspaces/${'a'.repeat(300)}`]) {
        const res = await t.app.inject({ method: 'GET', url, headers: walker.bearer });
        expectContract({ status: res.statusCode, headers: res.headers, body: res.body }, url);
      }
    });
  });

  // Last in the file: every error answered by a documented operation in the tests above is one
  // its OpenAPI entry lists.
  it('every error code the tests above saw on a route is declared for that operation', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    let checked = 0;
    for (const [key, codes] of seenErrors) {
      const [method, url] = key.split(' ') as [string, string];
      const op = spec.paths[openApiPath(url)]?.[method.toLowerCase()];
      if (!op) continue; // not in the document (hidden, or outside /api/v1)
      for (const code of codes) {
        const status = String(ERROR_CATALOG[code as ErrorCode].status);
        const declared = Object.keys(op.responses[status]?.content?.['application/json']?.examples ?? {});
        expect(declared, `${key} answered ${code} (declare it in config.errors next to the route)`).toContain(code);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(200);
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
