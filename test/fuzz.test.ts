/**
 * Generated input against every route that takes JSON (found in the route table, so new routes
 * are fuzzed without being listed), plus generated path ids and query strings on every route:
 * whatever arrives, the answer is never a 5xx, and always the one error shape.
 */
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantContext } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { rawRequest } from './helpers/raw-http.js';
import { bodySchema, sample, type OpenApi } from './helpers/samples.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 40);
const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Bodies near the valid one: each field replaced by something of the wrong shape or odd content. */
function mutations(valid: unknown): fc.Arbitrary<unknown> {
  const odd = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('', ' ', '\u0000', '../../etc/passwd', '\u202e', 'a'.repeat(5000), '<script>', "' OR 1=1 --", '{{7*7}}', '🙂'.repeat(100)),
    fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.1, null, true, [], {}),
  );
  if (typeof valid !== 'object' || valid === null || Array.isArray(valid)) return odd;
  const keys = Object.keys(valid);
  return fc.oneof(
    odd,
    fc.record({ key: fc.constantFrom(...(keys.length > 0 ? keys : ['x'])), value: odd }).map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.record({ key: fc.string({ maxLength: 20 }), value: odd }).map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.constant(Object.fromEntries(keys.map((k) => [k, null]))),
  );
}

describe.each(BACKENDS)('fuzzing on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let spec: OpenApi;
  let ids: Record<string, string>;
  let scimToken: string;
  let scimUser: string;
  let scimGroup: string;

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'fuzz');
    const ws = await createWorkspace(t, owner, 'Fuzz');
    await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/collections`, headers: owner.bearer, payload: { name: 'things' } });
    const rec = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/collections/things/records`, headers: owner.bearer, payload: { data: { a: 1 } } });
    ids = { workspaceId: ws.id, collection: 'things', recordId: rec.json().id, documentId: '018f0000-0000-7000-8000-000000000000' };
    spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    // The SCIM server: a verified domain, a token, a user and a group to aim at.
    await t.database.db.withTenant(tenantContext(ws.id, null), (tx) =>
      tx.query(`INSERT INTO workspace_domains (tenant_id, id, domain, verification_token, verified_at) VALUES (current_tenant_id(), $1, 'fuzz.test', $2, now())`, [newId(), 'f'.repeat(40)]),
    );
    scimToken = (await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/scim/tokens`, headers: owner.bearer, payload: { name: 'fuzz' } })).json().token;
    const scimHeaders = { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' };
    scimUser = (
      await t.app.inject({ method: 'POST', url: `/scim/v2/${ws.id}/Users`, headers: scimHeaders, payload: JSON.stringify({ schemas: [SCIM_USER], userName: 'fuzz@fuzz.test' }) })
    ).json().id;
    scimGroup = (
      await t.app.inject({ method: 'POST', url: `/scim/v2/${ws.id}/Groups`, headers: scimHeaders, payload: JSON.stringify({ schemas: [SCIM_GROUP], displayName: 'Fuzzers', members: [{ value: scimUser }] }) })
    ).json().id;
  });
  afterAll(async () => t?.close());

  const fill = (url: string, values: Record<string, string>) =>
    url.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(values[name] ?? name)).replace(/\*$/, 'token');

  function expectErrorShape(status: number, body: string, where: string) {
    expect(status, where).toBeLessThan(500);
    if (status >= 400) {
      const parsed = JSON.parse(body) as { error: Record<string, unknown> };
      expect(Object.keys(parsed.error).sort(), where).toEqual(['code', 'details', 'message', 'requestId']);
    }
  }

  it('no generated JSON body makes any JSON route answer 5xx', async () => {
    const routes = t.routes.filter((r) => r.jsonBody && r.url.startsWith('/api/'));
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const route of routes) {
      const schema = bodySchema(spec, route.method, route.url);
      expect(schema, `${route.method} ${route.url} has a documented body`).not.toBeNull();
      const valid = sample(schema!, spec);
      await fc.assert(
        fc.asyncProperty(mutations(valid), async (body) => {
          const res = await t.app.inject({
            method: route.method as 'POST',
            url: fill(route.url, ids),
            headers: { ...owner.bearer, 'content-type': 'application/json' },
            payload: JSON.stringify(body),
          });
          expectErrorShape(res.statusCode, res.body, `${route.method} ${route.url} ${JSON.stringify(body).slice(0, 200)}`);
        }),
        { numRuns: RUNS },
      );
    }
  });

  it('no raw bytes sent as JSON make any route answer 5xx', async () => {
    const routes = t.routes.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && r.url.startsWith('/api/') && !r.url.endsWith('/sign-out'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.uint8Array({ maxLength: 512 }), async (route, bytes) => {
        const res = await t.app.inject({
          method: route.method as 'POST',
          url: fill(route.url, ids),
          headers: { ...owner.bearer, 'content-type': 'application/json' },
          payload: Buffer.from(bytes),
        });
        expectErrorShape(res.statusCode, res.body, `${route.method} ${route.url}`);
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('no generated path id or query string makes any route answer 5xx', async () => {
    const routes = t.routes.filter((r) => r.url.startsWith('/api/') && r.method === 'GET');
    const segment = fc.oneof(fc.string({ maxLength: 60 }), fc.uuid(), fc.constantFrom('..', '%00', '%2e%2e%2f', 'null', 'A'.repeat(500)));
    const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom('limit', 'cursor', 'filter[a]', 'filter[]', 'filter[a][b]'), fc.string({ maxLength: 20 })), fc.string({ maxLength: 40 })), {
      maxLength: 12,
    });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), segment, query, async (route, value, pairs) => {
        const url = fill(route.url, { ...ids, [route.url.includes(':recordId') ? 'recordId' : route.url.includes(':documentId') ? 'documentId' : 'collection']: value });
        const qs = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
        const res = await t.app.inject({ method: 'GET', url: qs ? `${url}?${qs}` : url, headers: owner.bearer });
        expectErrorShape(res.statusCode, res.body, `GET ${url}?${qs}`);
      }),
      { numRuns: RUNS * 5 },
    );
  });
  it('no malformed request head, sent as raw bytes, gets an answer outside the error contract', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    const token = fc.string({ unit: fc.constantFrom(...'abcXYZ09-_:;/ \t\u0000\u007f\u00ff"\\'.split('')), maxLength: 40 });
    const head = fc.oneof(
      // A request line that may not be one.
      fc.tuple(token, fc.constantFrom('/api/v1/workspaces', '/healthz', '*', '', '/%zz', 'http://x/'), fc.constantFrom('HTTP/1.1', 'HTTP/9.9', 'HTTP/1', '', 'http/1.1')).map(
        ([method, path, version]) => `${method} ${path} ${version}\r\nHost: x\r\n\r\n`,
      ),
      // Headers that may not be headers.
      fc.tuple(token, token).map(([name, value]) => `GET /api/v1/workspaces HTTP/1.1\r\nHost: x\r\n${name}: ${value}\r\n\r\n`),
      // Framing that lies.
      fc
        .tuple(fc.oneof(token, fc.integer({ min: -5, max: 1e6 }).map(String)), fc.option(fc.constantFrom('chunked', 'gzip, chunked', 'chunked, gzip', 'x'), { nil: undefined }), fc.string({ maxLength: 40 }))
        .map(
          ([length, encoding, body]) =>
            `POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${encoding ? `Transfer-Encoding: ${encoding}\r\n` : ''}\r\n${body}`,
        ),
    );
    await fc.assert(
      fc.asyncProperty(head, async (bytes) => {
        const res = await rawRequest(port, bytes, { endAfterMs: 200 });
        const where = JSON.stringify(bytes.slice(0, 120));
        expect(res.status, where).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.headers['x-request-id'], where).toMatch(/^[0-9a-f-]{36}$/);
          expect(res.headers['x-frame-options'], where).toBe('DENY');
          expectErrorShape(res.status, res.body, where);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('the SCIM server: no generated body, filter or query answers 5xx, and errors are always SCIM errors', async () => {
    const ws = ids['workspaceId']!;
    const headers = { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' };
    const expectScimShape = (status: number, body: string, where: string) => {
      expect(status, where).toBeLessThan(500);
      if (status >= 400) {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        expect(parsed['schemas'], where).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
        expect(parsed['status'], where).toBe(String(status));
      }
    };
    const validUser = { schemas: [SCIM_USER], userName: 'fuzz2@fuzz.test', name: { givenName: 'F' }, emails: [{ value: 'fuzz2@fuzz.test', primary: true }], active: true };
    const validGroup = { schemas: [SCIM_GROUP], displayName: 'G', members: [{ value: scimUser }] };
    const patch = fc.record({
      op: fc.oneof(fc.constantFrom('add', 'replace', 'remove', 'Add', 'Replace', 'bogus'), fc.string({ maxLength: 10 })),
      path: fc.option(
        fc.oneof(
          fc.constantFrom('active', 'userName', 'name.givenName', 'emails[type eq "work"].value', 'members', `members[value eq "${scimUser}"]`, 'id', 'meta.created', 'urn:x:y', 'emails[', 'a.b.c.d', 'displayName'),
          fc.string({ maxLength: 40 }),
        ),
        { nil: undefined },
      ),
      value: fc.option(fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('True', 'False', { active: false }, [{ value: scimUser }])), { nil: undefined }),
    });
    const targets: Array<[string, string, fc.Arbitrary<unknown>]> = [
      ['POST', `/scim/v2/${ws}/Users`, mutations(validUser)],
      ['PUT', `/scim/v2/${ws}/Users/${scimUser}`, mutations(validUser)],
      ['POST', `/scim/v2/${ws}/Groups`, mutations(validGroup)],
      ['PUT', `/scim/v2/${ws}/Groups/${scimGroup}`, mutations(validGroup)],
      ['PATCH', `/scim/v2/${ws}/Users/${scimUser}`, fc.oneof(mutations({ schemas: [SCIM_PATCH], Operations: [] }), fc.array(patch, { maxLength: 4 }).map((Operations) => ({ schemas: [SCIM_PATCH], Operations })))],
      ['PATCH', `/scim/v2/${ws}/Groups/${scimGroup}`, fc.array(patch, { maxLength: 4 }).map((Operations) => ({ schemas: [SCIM_PATCH], Operations }))],
    ];
    for (const [method, url, bodies] of targets) {
      await fc.assert(
        fc.asyncProperty(bodies, async (body) => {
          const res = await t.app.inject({ method: method as 'POST', url, headers, payload: JSON.stringify(body) });
          expectScimShape(res.statusCode, res.body, `${method} ${url} ${JSON.stringify(body).slice(0, 200)}`);
        }),
        { numRuns: RUNS },
      );
    }
    const filterPart = fc.oneof(
      fc.constantFrom('userName', 'emails.value', 'emails[type eq "x"]', 'meta.lastModified', 'active', 'id', 'members', 'not', 'and', 'or', '(', ')', '"x"', 'true', 'null', '1e999', 'eq', 'co', 'pr', 'gt', '[', ']', '\\'),
      fc.string({ maxLength: 10 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('Users', 'Groups', `Users/${scimUser}`, `Groups/${scimGroup}`, 'Schemas', 'ResourceTypes/User'),
        fc.array(filterPart, { maxLength: 12 }).map((parts) => parts.join(' ')),
        fc.record({ startIndex: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), count: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), attributes: fc.string({ maxLength: 30 }) }),
        async (resource, filter, q) => {
          const qs = `filter=${encodeURIComponent(filter)}&startIndex=${encodeURIComponent(String(q.startIndex))}&count=${encodeURIComponent(String(q.count))}&attributes=${encodeURIComponent(q.attributes)}`;
          const res = await t.app.inject({ method: 'GET', url: `/scim/v2/${ws}/${resource}?${qs}`, headers: { authorization: headers.authorization } });
          expectScimShape(res.statusCode, res.body, `GET ${resource}?${qs}`);
        },
      ),
      { numRuns: RUNS * 5 },
    );
    // Raw bytes, and garbage credentials.
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.string({ maxLength: 80 }), async (bytes, credential) => {
        const raw = await t.app.inject({ method: 'POST', url: `/scim/v2/${ws}/Users`, headers, payload: Buffer.from(bytes) });
        expectScimShape(raw.statusCode, raw.body, 'POST Users (bytes)');
        const auth = await t.app.inject({ method: 'GET', url: `/scim/v2/${ws}/Users`, headers: { authorization: `Bearer fuzzcred${credential}` } });
        expect([401, 404]).toContain(auth.statusCode);
        expectScimShape(auth.statusCode, auth.body, 'GET Users (credential)');
      }),
      { numRuns: RUNS },
    );
  });
});
