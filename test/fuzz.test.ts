/**
 * Generated input against every route that takes JSON (found in the route table, so new routes
 * are fuzzed without being listed), plus generated path ids and query strings on every route:
 * whatever arrives, the answer is never a 5xx, and always the one error shape.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { bodySchema, sample, type OpenApi } from './helpers/samples.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 40);

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

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'fuzz');
    const ws = await createWorkspace(t, owner, 'Fuzz');
    await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/collections`, headers: owner.bearer, payload: { name: 'things' } });
    const rec = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws.id}/collections/things/records`, headers: owner.bearer, payload: { data: { a: 1 } } });
    ids = { workspaceId: ws.id, collection: 'things', recordId: rec.json().id, documentId: '018f0000-0000-7000-8000-000000000000' };
    spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
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
});
