/**
 * The API end to end, in process, on every backend: accounts and sessions, workspaces, records,
 * documents. Each assertion pins behaviour a client relies on.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantContext } from '../src/platform/db/types.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, latestLinkToken, multipart, sessionCookie, signUp, type Caller, type TestApp } from './helpers/app.js';

describe.each(BACKENDS)('API on $name', (backend) => {
  let t: TestApp;
  let alice: Caller;

  beforeAll(async () => {
    t = await buildTestApp(backend);
    alice = await signUp(t, 'alice');
  });
  afterAll(async () => t?.close());

  describe('accounts and sessions', () => {
    it('requires the setup token for the first account only, and consumes it', async () => {
      // alice was the first account; setup is no longer required and a second sign-up needs no token.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/setup' })).json()).toEqual({ setupRequired: false });
      expect(await t.services.accounts.issueSetupToken()).toBeNull();
      const bob = await signUp(t, 'bob');
      expect(bob.accountId).not.toEqual(alice.accountId);
    });

    it('answers a taken email like a new one, and refuses a weak password', async () => {
      const dup = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email: alice.email.toUpperCase(), password: 'a long enough passphrase' } });
      const fresh = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email: 'brand-new@example.test', password: 'a long enough passphrase' } });
      expect(dup.statusCode).toBe(202);
      expect(dup.json()).toEqual(fresh.json());
      const weak = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email: 'weak@example.test', password: 'short' } });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error.code).toBe('weak_password');
    });

    it('signs in with a cookie that is __Host-, Secure, HttpOnly and SameSite=Lax', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: alice.email, password: alice.password } });
      expect(res.statusCode).toBe(200);
      const cookie = res.cookies.find((c) => c.name === '__Host-rampart_session');
      expect(cookie).toMatchObject({ path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
      expect(cookie?.domain).toBeUndefined();
      expect(res.json().account.email).toBe(alice.email);
      expect(res.json().csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('answers wrong password and unknown email identically', async () => {
      const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: alice.email, password: 'not-the-password!' } });
      const unknown = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: 'nobody@example.test', password: 'not-the-password!' } });
      expect(wrong.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      const strip = (b: { error: Record<string, unknown> }) => ({ ...b.error, requestId: undefined });
      expect(strip(wrong.json())).toEqual(strip(unknown.json()));
      expect(wrong.json().error.code).toBe('invalid_credentials');
    });

    it('describes the session for cookie and bearer, with a CSRF token only for cookies', async () => {
      const viaBearer = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: alice.bearer });
      expect(viaBearer.statusCode).toBe(200);
      expect(viaBearer.json()).toMatchObject({ account: { id: alice.accountId }, session: { kind: 'bearer' }, csrfToken: null });
      const viaCookie = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: alice.cookie['cookie'] as string } });
      expect(viaCookie.json()).toMatchObject({ session: { kind: 'cookie' }, csrfToken: alice.cookie['x-csrf-token'] });
    });

    it('accepts a token only in the form it was issued for', async () => {
      const cookieToken = (alice.cookie['cookie'] as string).split('=')[1] as string;
      const asBearer = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: { authorization: `Bearer ${cookieToken}` } });
      expect(asBearer.statusCode).toBe(401);
      const asCookie = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: { cookie: `__Host-rampart_session=${alice.token}` } });
      expect(asCookie.statusCode).toBe(401);
    });

    it('refuses forged, malformed and absent credentials with 401 unauthenticated', async () => {
      for (const headers of [{}, { authorization: 'Bearer rs_forgedforgedforgedforgedforged' }, { authorization: 'Basic abc' }, { cookie: '__Host-rampart_session=forged' }]) {
        const res = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers });
        expect(res.statusCode).toBe(401);
        expect(res.json().error.code).toBe('unauthenticated');
      }
    });

    it('requires the CSRF token on cookie-authenticated writes, but not on bearer ones', async () => {
      const noCsrf = await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: { cookie: alice.cookie['cookie'] as string }, payload: { name: 'x' } });
      expect(noCsrf.statusCode).toBe(403);
      expect(noCsrf.json().error.code).toBe('csrf_failed');
      const wrongCsrf = await t.app.inject({
        method: 'POST',
        url: '/api/v1/workspaces',
        headers: { cookie: alice.cookie['cookie'] as string, 'x-csrf-token': 'A'.repeat(43) },
        payload: { name: 'x' },
      });
      expect(wrongCsrf.json().error.code).toBe('csrf_failed');
      const withCsrf = await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: alice.cookie, payload: { name: 'with csrf' } });
      expect(withCsrf.statusCode).toBe(201);
      const bearer = await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: alice.bearer, payload: { name: 'bearer' } });
      expect(bearer.statusCode).toBe(201);
    });

    it('refuses unsafe requests a browser marks cross-site, even to public routes', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/sign-in',
        headers: { 'sec-fetch-site': 'cross-site' },
        payload: { email: alice.email, password: alice.password },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('csrf_failed');
    });

    it('signs out: the session stops working at once, and the cookie is cleared', async () => {
      const carol = await signUp(t, 'carol');
      const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-out', headers: carol.cookie });
      expect(out.statusCode).toBe(204);
      expect(out.cookies.find((c) => c.name === '__Host-rampart_session')?.value).toBe('');
      const after = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: { cookie: carol.cookie['cookie'] as string } });
      expect(after.statusCode).toBe(401);
      // The bearer session is separate and still works until signed out itself.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: carol.bearer })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-out', headers: carol.bearer })).statusCode).toBe(204);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: carol.bearer })).statusCode).toBe(401);
    });

    it('refuses an expired session', async () => {
      const dave = await signUp(t, 'dave');
      await t.database.raw("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE account_id = $1", [dave.accountId]);
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: dave.bearer });
      expect(res.statusCode).toBe(401);
    });

    it('stores only a digest of session tokens and an argon2id hash of passwords', async () => {
      const [account] = await t.database.raw<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE id = $1', [alice.accountId]);
      expect(account?.password_hash).toMatch(/^\$argon2id\$v=19\$m=8192,t=2,p=1\$/);
      // The bearer token is findable only by its SHA-256; no column holds the token itself.
      const byDigest = await t.database.raw('SELECT 1 FROM sessions WHERE token_hash = $1', [createHash('sha256').update(alice.token).digest()]);
      expect(byDigest).toHaveLength(1);
      const rows = await t.database.raw<{ row: string }>('SELECT s::text AS row FROM sessions s WHERE account_id = $1', [alice.accountId]);
      expect(rows.length).toBeGreaterThan(1);
      for (const r of rows) expect(r.row).not.toContain(alice.token.slice(3));
    });
  });

  describe('workspaces', () => {
    it('creates with the creator as owner, in the default or a chosen region, and lists mine', async () => {
      const ws = await createWorkspace(t, alice, 'Acme');
      expect(ws).toMatchObject({ name: 'Acme', region: 'eu', roles: [expect.objectContaining({ builtin: 'owner', name: 'Owner' })] });
      expect((ws as unknown as { scopes: string[] }).scopes).toEqual(expect.arrayContaining(['workspace:delete', 'ownership:transfer', 'records:write']));
      const us = await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: alice.bearer, payload: { name: 'Acme US', region: 'us' } });
      expect(us.json()).toMatchObject({ region: 'us' });
      const bad = await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: alice.bearer, payload: { name: 'Nowhere', region: 'mars' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('validation_failed');
      const mine = (await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: alice.bearer })).json().data as Array<{ id: string }>;
      expect(mine.map((w) => w.id)).toEqual(expect.arrayContaining([ws.id, us.json().id]));
      const other = await signUp(t, 'outsider');
      const theirs = (await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: other.bearer })).json().data;
      expect(theirs).toEqual([]);
    });

    it('renames and deletes (owner only, confirmed by name); a member can read but not rename or delete', async () => {
      const ws = await createWorkspace(t, alice, 'Temp');
      const member = await signUp(t, 'member');
      await t.services.members.addMember(tenantContext(ws.id, alice.accountId), member.accountId, 'member');
      const url = `/api/v1/workspaces/${ws.id}`;
      const seen = (await t.app.inject({ method: 'GET', url, headers: member.bearer })).json();
      expect(seen).toMatchObject({ roles: [expect.objectContaining({ builtin: 'member' })] });
      expect(seen.scopes).not.toContain('settings:manage');
      const memberRename = await t.app.inject({ method: 'PATCH', url, headers: member.bearer, payload: { name: 'Mine now' } });
      expect(memberRename.statusCode).toBe(403);
      expect(memberRename.json().error.code).toBe('forbidden');
      const members = (await t.app.inject({ method: 'GET', url: `${url}/members`, headers: member.bearer })).json().data;
      expect(members).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ accountId: alice.accountId, roles: [expect.objectContaining({ builtin: 'owner' })] }),
          expect.objectContaining({ accountId: member.accountId, roles: [expect.objectContaining({ builtin: 'member' })] }),
        ]),
      );
      const renamed = await t.app.inject({ method: 'PATCH', url, headers: alice.bearer, payload: { name: 'Renamed' } });
      expect(renamed.json()).toMatchObject({ name: 'Renamed' });
      expect((await t.app.inject({ method: 'DELETE', url, headers: member.bearer, payload: { confirm: 'Renamed' } })).statusCode).toBe(403);
      const unconfirmed = await t.app.inject({ method: 'DELETE', url, headers: alice.bearer, payload: { confirm: 'Temp' } });
      expect(unconfirmed.statusCode).toBe(400);
      expect(unconfirmed.json().error.code).toBe('confirmation_required');
      expect((await t.app.inject({ method: 'GET', url, headers: alice.bearer })).statusCode).toBe(200);
      const deleted = await t.app.inject({ method: 'DELETE', url, headers: alice.bearer, payload: { confirm: 'Renamed' } });
      expect(deleted.statusCode).toBe(204);
      const gone = await t.app.inject({ method: 'GET', url, headers: alice.bearer });
      expect(gone.statusCode).toBe(404);
      expect(gone.json().error.code).toBe('workspace_not_found');
    });

    it('answers a workspace I do not belong to exactly like one that does not exist', async () => {
      const ws = await createWorkspace(t, alice, 'Private');
      const eve = await signUp(t, 'eve');
      const foreign = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws.id}`, headers: eve.bearer });
      const missing = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces/018f0000-0000-7000-8000-000000000000', headers: eve.bearer });
      expect(foreign.statusCode).toBe(404);
      expect({ ...foreign.json().error, requestId: 0 }).toEqual({ ...missing.json().error, requestId: 0 });
      const malformed = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces/not-a-uuid', headers: eve.bearer });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().error.code).toBe('invalid_id');
    });
  });

  describe('records', () => {
    let base: string;
    beforeAll(async () => {
      const ws = await createWorkspace(t, alice, 'Records');
      base = `/api/v1/workspaces/${ws.id}/collections`;
      expect((await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { name: 'tickets' } })).statusCode).toBe(201);
    });

    it('refuses a duplicate or badly named collection', async () => {
      const dup = await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { name: 'tickets' } });
      expect(dup.statusCode).toBe(409);
      expect(dup.json().error.code).toBe('collection_exists');
      const bad = await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { name: '../etc' } });
      expect(bad.json().error.code).toBe('validation_failed');
    });

    it('lists collections with the rule their names follow: the rule it enforces, in words and as a pattern', async () => {
      const listed = await t.app.inject({ method: 'GET', url: base, headers: alice.bearer });
      expect(listed.statusCode).toBe(200);
      const { data, nameRule } = listed.json<{ data: Array<{ name: string }>; nameRule: { pattern: string; description: string } }>();
      expect(data.map((c) => c.name)).toContain('tickets');
      expect(nameRule.description).toBe('a collection name is 1–63 lowercase letters, digits, "_" or "-", starting with a letter');
      // A client checking names with the pattern agrees with the server on every one of these.
      const pattern = new RegExp(nameRule.pattern);
      const names = ['a', 'x'.repeat(63), 'x'.repeat(64), 'Bad', '1st', '_x', 'ok_name-2', 'with space', 'été', 'a.b', ''];
      for (const name of names) {
        const res = await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { name } });
        expect(res.statusCode === 201, `${JSON.stringify(name)}: ${res.body}`).toBe(pattern.test(name));
        // A refused name's message is the same rule, word for word.
        if (res.statusCode !== 201) expect(res.json().error.message).toBe(`${nameRule.description}.`);
      }
    });

    it('creates, reads, replaces with If-Match, and deletes a record', async () => {
      const created = await t.app.inject({ method: 'POST', url: `${base}/tickets/records`, headers: alice.bearer, payload: { data: { title: 'Hi', n: 1 } } });
      expect(created.statusCode).toBe(201);
      const rec = created.json();
      expect(rec).toMatchObject({ collection: 'tickets', data: { title: 'Hi', n: 1 }, version: 1 });
      expect(created.headers['etag']).toBe('"1"');
      const url = `${base}/tickets/records/${rec.id}`;
      expect((await t.app.inject({ method: 'GET', url, headers: alice.bearer })).json()).toEqual(rec);

      const stale = await t.app.inject({ method: 'PUT', url, headers: { ...alice.bearer, 'if-match': '"7"' }, payload: { data: { title: 'Stale' } } });
      expect(stale.statusCode).toBe(412);
      expect(stale.json().error.code).toBe('precondition_failed');
      const replaced = await t.app.inject({ method: 'PUT', url, headers: { ...alice.bearer, 'if-match': '"1"' }, payload: { data: { title: 'Bye' } } });
      expect(replaced.statusCode).toBe(200);
      expect(replaced.json()).toMatchObject({ data: { title: 'Bye' }, version: 2 });
      expect((await t.app.inject({ method: 'GET', url, headers: alice.bearer })).json().data).toEqual({ title: 'Bye' });

      expect((await t.app.inject({ method: 'DELETE', url, headers: alice.bearer })).statusCode).toBe(204);
      const gone = await t.app.inject({ method: 'GET', url, headers: alice.bearer });
      expect(gone.statusCode).toBe(404);
      expect(gone.json().error.code).toBe('record_not_found');
      expect((await t.app.inject({ method: 'DELETE', url, headers: alice.bearer })).json().error.code).toBe('record_not_found');
    });

    it('refuses records in a missing collection, and bodies that are not an object of JSON', async () => {
      const missing = await t.app.inject({ method: 'POST', url: `${base}/nope/records`, headers: alice.bearer, payload: { data: {} } });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('collection_not_found');
      for (const payload of [{ data: [] }, { data: 'x' }, {}, { data: {}, extra: 1 }]) {
        const res = await t.app.inject({ method: 'POST', url: `${base}/tickets/records`, headers: alice.bearer, payload });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.json().error.code).toBe('validation_failed');
      }
    });

    it('paginates in creation order with an opaque cursor', async () => {
      await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { name: 'pages' } });
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push((await t.app.inject({ method: 'POST', url: `${base}/pages/records`, headers: alice.bearer, payload: { data: { i } } })).json().id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
        const pageRes = await t.app.inject({ method: 'GET', url: `${base}/pages/records${q}`, headers: alice.bearer });
        const body = pageRes.json<{ data: Array<{ id: string }>; nextCursor: string | null }>();
        seen.push(...body.data.map((r) => r.id));
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(ids);
      const bad = await t.app.inject({ method: 'GET', url: `${base}/pages/records?cursor=bm90LWEtdXVpZA`, headers: alice.bearer });
      expect(bad.json().error.code).toBe('invalid_cursor');
    });

    it('filters on top-level fields by typed value', async () => {
      await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { name: 'filters' } });
      const make = async (data: Record<string, unknown>) =>
        (await t.app.inject({ method: 'POST', url: `${base}/filters/records`, headers: alice.bearer, payload: { data } })).json().id as string;
      const open1 = await make({ status: 'open', priority: 1, flagged: true });
      const open2 = await make({ status: 'open', priority: 2, flagged: false });
      const closed = await make({ status: 'closed', priority: 1, nested: { status: 'open' } });
      const q = async (query: string) =>
        ((await t.app.inject({ method: 'GET', url: `${base}/filters/records?${query}`, headers: alice.bearer })).json().data as Array<{ id: string }>).map((r) => r.id);
      expect(await q('filter[status]=open')).toEqual([open1, open2]);
      expect(await q('filter[status]=open&filter[priority]=2')).toEqual([open2]);
      expect(await q('filter[priority]=1')).toEqual([open1, closed]);
      expect(await q('filter[priority]=%221%22')).toEqual([]); // the string "1" is not the number 1
      expect(await q('filter[flagged]=true')).toEqual([open1]);
      expect(await q('filter[nested]=open')).toEqual([]);
      const unknownParam = await t.app.inject({ method: 'GET', url: `${base}/filters/records?sort=desc`, headers: alice.bearer });
      expect(unknownParam.json().error.code).toBe('validation_failed');
      const objectValue = await t.app.inject({ method: 'GET', url: `${base}/filters/records?filter[status]=%7B%7D`, headers: alice.bearer });
      expect(objectValue.json().error.code).toBe('invalid_filter');
    });

    it('deleting a collection (owner) deletes its records', async () => {
      await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { name: 'doomed' } });
      const rec = (await t.app.inject({ method: 'POST', url: `${base}/doomed/records`, headers: alice.bearer, payload: { data: { a: 1 } } })).json();
      expect((await t.app.inject({ method: 'DELETE', url: `${base}/doomed`, headers: alice.bearer })).statusCode).toBe(204);
      const rows = await t.database.raw('SELECT 1 FROM records WHERE id = $1', [rec.id]);
      expect(rows).toEqual([]);
    });
  });

  describe('documents', () => {
    let ws: { id: string; region: string };
    let base: string;
    beforeAll(async () => {
      ws = await createWorkspace(t, alice, 'Docs');
      base = `/api/v1/workspaces/${ws.id}/documents`;
    });

    it('uploads, lists, downloads as an attachment, and deletes, under the tenant prefix of its region', async () => {
      const content = Buffer.from('hello, <b>world</b>\n'.repeat(100));
      const form = multipart('Q1 résumé.html', content, 'text/html');
      const up = await t.app.inject({ method: 'POST', url: base, headers: { ...alice.bearer, ...form.headers }, payload: form.payload });
      expect(up.statusCode, up.body).toBe(201);
      const doc = up.json();
      expect(doc).toMatchObject({ name: 'Q1 résumé.html', contentType: 'text/html', size: content.length });
      expect(existsSync(path.join(t.objectsDir, 'eu', ws.id, doc.id))).toBe(true);

      const list = (await t.app.inject({ method: 'GET', url: base, headers: alice.bearer })).json();
      expect(list.data.map((d: { id: string }) => d.id)).toEqual([doc.id]);

      const down = await t.app.inject({ method: 'GET', url: `${base}/${doc.id}/content`, headers: alice.bearer });
      expect(down.statusCode).toBe(200);
      expect(down.rawPayload.equals(content)).toBe(true);
      expect(down.headers['content-disposition']).toBe(`attachment; filename="Q1 r?sum?.html"; filename*=UTF-8''Q1%20r%C3%A9sum%C3%A9.html`);
      expect(down.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
      expect(down.headers['x-content-type-options']).toBe('nosniff');

      expect((await t.app.inject({ method: 'DELETE', url: `${base}/${doc.id}`, headers: alice.bearer })).statusCode).toBe(204);
      expect(existsSync(path.join(t.objectsDir, 'eu', ws.id, doc.id))).toBe(false);
      expect((await t.app.inject({ method: 'GET', url: `${base}/${doc.id}`, headers: alice.bearer })).json().error.code).toBe('document_not_found');
    });

    it('refuses path-like and control-character names, and oversized uploads, leaving nothing behind', async () => {
      for (const name of ['../../etc/passwd', 'a/b.txt', 'a\\b.txt', '..', 'evil\u202Etxt.exe']) {
        const m = multipart(name, 'x');
        const res = await t.app.inject({ method: 'POST', url: base, headers: { ...alice.bearer, ...m.headers }, payload: m.payload });
        expect(res.statusCode, name).toBe(400);
        expect(res.json().error.code).toBe('invalid_document_name');
      }
      const big = multipart('big.bin', Buffer.alloc(64 * 1024 + 1, 1));
      const tooBig = await t.app.inject({ method: 'POST', url: base, headers: { ...alice.bearer, ...big.headers }, payload: big.payload });
      expect(tooBig.statusCode).toBe(413);
      expect(tooBig.json().error.code).toBe('payload_too_large');
      const rows = await t.database.raw('SELECT id FROM documents WHERE tenant_id = $1', [ws.id]);
      expect(rows).toEqual([]);
      const dir = path.join(t.objectsDir, 'eu', ws.id);
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    });

    it('refuses a malformed multipart body with 400, not 500', async () => {
      const a = multipart('a.txt', 'hello');
      const b = multipart('a.txt', 'hello');
      const res = await t.app.inject({ method: 'POST', url: base, headers: { ...alice.bearer, ...a.headers }, payload: b.payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('bad_request');
      const truncated = await t.app.inject({ method: 'POST', url: base, headers: { ...alice.bearer, ...a.headers }, payload: a.payload.subarray(0, a.payload.length - 20) });
      expect(truncated.statusCode).toBe(400);
    });

    it('refuses an upload that is not multipart, or has no file part', async () => {
      const json = await t.app.inject({ method: 'POST', url: base, headers: alice.bearer, payload: { file: 'x' } });
      expect(json.statusCode).toBe(415);
      expect(json.json().error.code).toBe('unsupported_media_type');
      const wrongField = multipart('a.txt', 'x', 'text/plain', 'other');
      const res = await t.app.inject({ method: 'POST', url: base, headers: { ...alice.bearer, ...wrongField.headers }, payload: wrongField.payload });
      expect(res.statusCode).toBe(400);
    });

    it("deleting a workspace removes its documents' objects", async () => {
      const temp = await createWorkspace(t, alice, 'Ephemeral');
      const m = multipart('a.txt', 'bye');
      const up = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${temp.id}/documents`, headers: { ...alice.bearer, ...m.headers }, payload: m.payload });
      expect(up.statusCode).toBe(201);
      expect(existsSync(path.join(t.objectsDir, 'eu', temp.id))).toBe(true);
      const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${temp.id}`, headers: alice.bearer, payload: { confirm: 'Ephemeral' } });
      expect(del.statusCode).toBe(204);
      expect(existsSync(path.join(t.objectsDir, 'eu', temp.id))).toBe(false);
    });
  });

  it('a session cookie set by the verification link works for the console', async () => {
    const email = 'cookie-user@example.test';
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email, password: 'long-enough-password' } });
    expect(res.statusCode).toBe(202);
    const verified = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: await latestLinkToken(t, email) } });
    expect(verified.statusCode).toBe(200);
    const session = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: `__Host-rampart_session=${sessionCookie(verified)}` } });
    expect(session.json().account.email).toBe(email);
  });
});
