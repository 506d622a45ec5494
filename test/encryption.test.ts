/**
 * Encryption at rest on every backend: record bodies, documents and vault values are stored as
 * ciphertext bound to their tenant, table, row and field; rotation, rewrap (under concurrent
 * writes, resumable), retirement, crypto-shredding, and failing closed on anything tampered.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ContentCodec } from '../src/platform/content/codec.js';
import { Keyring } from '../src/platform/crypto/keyring.js';
import { sha256 } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, multipart, signUp, type Caller, type TestApp } from './helpers/app.js';

type Json = Record<string, unknown>;

function errorOf(res: LightMyRequestResponse): { code: string; message: string; details: unknown } {
  return res.json<{ error: { code: string; message: string; details: unknown } }>().error;
}

describe.each(BACKENDS)('encryption at rest on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let a: string;
  let b: string;

  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Json, headers = owner.bearer) =>
    t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const createRecord = async (ws: string, data: Json, collection = 'notes') => {
    const res = await call('POST', `/api/v1/workspaces/${ws}/collections/${collection}/records`, { data });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string; version: number }>();
  };
  const rawRecord = async (id: string) =>
    (await t.database.raw<{ body: Buffer; body_format: number; key_version: number; filter_tokens: string[] }>(
      'SELECT body, body_format, key_version, filter_tokens FROM records WHERE id = $1',
      [id],
    ))[0] as { body: Buffer; body_format: number; key_version: number; filter_tokens: string[] };

  beforeAll(async () => {
    t = await buildTestApp(backend, { documentMaxBytes: 1024 * 1024 });
    owner = await signUp(t, 'owner');
    a = (await createWorkspace(t, owner, 'Alpha')).id;
    b = (await createWorkspace(t, owner, 'Beta')).id;
    for (const ws of [a, b]) expect((await call('POST', `/api/v1/workspaces/${ws}/collections`, { name: 'notes' })).statusCode).toBe(201);
  });
  afterAll(async () => t?.close());

  it('stores record bodies as ciphertext under the tenant key, and reads them back', async () => {
    const marker = `plaintext-marker-${randomBytes(6).toString('hex')}`;
    const rec = await createRecord(a, { note: marker, n: 1 });
    const row = await rawRecord(rec.id);
    expect(row.body_format).toBe(1);
    expect(row.key_version).toBe(1);
    expect(row.body.includes(Buffer.from(marker))).toBe(false);
    expect(row.body.includes(Buffer.from('note'))).toBe(false);
    const keys = await t.database.raw<{ version: number; provider: string; key_ref: string; wrapped: Buffer; destroyed_at: Date | null }>(
      'SELECT version, provider, key_ref, wrapped, destroyed_at FROM tenant_keys WHERE tenant_id = $1',
      [a],
    );
    expect(keys).toEqual([{ version: 1, provider: 'local', key_ref: 'local:1', wrapped: expect.any(Buffer), destroyed_at: null }]);
    expect((await t.services.keys.keyring.status(a)).versions.map((v) => v.state)).toEqual(['active']);
    expect(keys[0]?.wrapped.length).toBe(60);
    const got = await call('GET', `/api/v1/workspaces/${a}/collections/notes/records/${rec.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json<{ data: Json }>().data).toEqual({ note: marker, n: 1 });
  });

  it('fails closed, saying only "decryption failed", on ciphertext moved to another row or tenant, or tampered', async () => {
    const marker = `moved-${randomBytes(6).toString('hex')}`;
    const source = await createRecord(a, { note: marker });
    const sameTenant = await createRecord(a, { note: 'other' });
    const otherTenant = await createRecord(b, { note: 'other' });
    const body = (await rawRecord(source.id)).body;
    const cases: Array<[string, string, Buffer]> = [
      ['copied to another row', sameTenant.id, body],
      ['copied to another tenant', otherTenant.id, body],
      ['last byte flipped', sameTenant.id, Buffer.concat([body.subarray(0, -1), Buffer.from([(body.at(-1) as number) ^ 1])])],
      ['key version in the header changed', sameTenant.id, Buffer.concat([body.subarray(0, 4), Buffer.from([2]), body.subarray(5)])],
      ['unknown key version', sameTenant.id, Buffer.concat([Buffer.from([1, 0, 0, 0, 99]), body.subarray(5)])],
      ['wrapped data key altered', sameTenant.id, Buffer.concat([body.subarray(0, 40), Buffer.from([(body[40] as number) ^ 0x80]), body.subarray(41)])],
      ['truncated', sameTenant.id, body.subarray(0, 50)],
    ];
    for (const [what, target, stored] of cases) {
      // Superuser SQL: the attacker here owns the database, not the app.
      await t.database.raw('UPDATE records SET body = $2 WHERE id = $1', [target, stored]);
      const ws = target === otherTenant.id ? b : a;
      const res = await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records/${target}`);
      expect(res.statusCode, what).toBe(500);
      expect(errorOf(res), what).toMatchObject({ code: 'decryption_failed', message: 'Decryption failed.', details: null });
      expect(res.body, what).not.toContain(marker);
      expect(res.body, what).not.toContain('other');
    }
    // The list fails as a whole rather than skipping the bad row.
    const list = await call('GET', `/api/v1/workspaces/${a}/collections/notes/records`);
    expect(list.statusCode).toBe(500);
    expect(errorOf(list).code).toBe('decryption_failed');
    await t.database.raw('DELETE FROM records WHERE id = ANY($1::uuid[])', [[source.id, sameTenant.id, otherTenant.id]]);
  });

  it('refuses a plain row forged into a workspace whose content has always been encrypted', async () => {
    const rec = await createRecord(a, { note: 'real' });
    await t.database.raw("UPDATE records SET body = convert_to('{\"note\":\"forged\"}', 'UTF8'), body_format = 0, key_version = 0 WHERE id = $1", [rec.id]);
    const res = await call('GET', `/api/v1/workspaces/${a}/collections/notes/records/${rec.id}`);
    expect(res.statusCode).toBe(500);
    expect(errorOf(res).code).toBe('decryption_failed');
    expect(res.body).not.toContain('forged');
    await t.database.raw('DELETE FROM records WHERE id = $1', [rec.id]);
  });

  it('a vault value copied into a record body does not open there', async () => {
    const secret = await call('POST', `/api/v1/workspaces/${a}/secrets`, { integration: 'slack', name: 'moved', value: 'xoxb-should-stay-put' });
    expect(secret.statusCode).toBe(201);
    const [stored] = await t.database.raw<{ value: Buffer }>('SELECT value FROM secrets WHERE id = $1', [secret.json<{ id: string }>().id]);
    const rec = await createRecord(a, { note: 'target' });
    await t.database.raw('UPDATE records SET body = $2 WHERE id = $1', [rec.id, stored?.value]);
    const res = await call('GET', `/api/v1/workspaces/${a}/collections/notes/records/${rec.id}`);
    expect(errorOf(res).code).toBe('decryption_failed');
    expect(res.body).not.toContain('xoxb');
    await t.database.raw('DELETE FROM records WHERE id = $1', [rec.id]);
  });

  it('encrypts documents in chunks on disk and streams them back whole', async () => {
    const content = randomBytes(300 * 1024);
    const form = multipart('big.bin', content);
    const up = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${a}/documents`, headers: { ...owner.bearer, ...form.headers }, payload: form.payload });
    expect(up.statusCode, up.body).toBe(201);
    const doc = up.json<{ id: string; size: number; sha256: string }>();
    expect(doc.size).toBe(content.length);
    expect(doc.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    const [row] = await t.database.raw<{ content_format: number; key_version: number; content_key: Buffer }>(
      'SELECT content_format, key_version, content_key FROM documents WHERE id = $1',
      [doc.id],
    );
    expect(row).toMatchObject({ content_format: 2, key_version: 1 });
    expect(row?.content_key.length).toBe(76);
    const dir = path.join(t.objectsDir, 'eu', a);
    const onDisk = readFileSync(path.join(dir, readdirSync(dir).find((f) => f === doc.id) as string));
    // Header (24 bytes) and one 16-byte tag per 64 KiB chunk: 300 KiB makes 5 chunks.
    expect(onDisk.length).toBe(content.length + 24 + 5 * 16);
    expect(onDisk.includes(content.subarray(1000, 1064))).toBe(false);
    const down = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${a}/documents/${doc.id}/content`, headers: owner.bearer });
    expect(down.statusCode).toBe(200);
    expect(down.rawPayload.equals(content)).toBe(true);
  });

  it('keys filter tokens per tenant (a blind index): equal values match within a tenant, differ across tenants', async () => {
    const ra = await createRecord(a, { status: 'open', owner: 'x' });
    const rb = await createRecord(b, { status: 'open', owner: 'x' });
    const ta = (await rawRecord(ra.id)).filter_tokens;
    const tb = (await rawRecord(rb.id)).filter_tokens;
    expect(ta).toHaveLength(2);
    for (const token of ta) expect(tb).not.toContain(token);
    // Not the unkeyed digest either: without the tenant's key the token says nothing.
    const unkeyed = sha256(`${a}\u0000status\u0000"open"`).subarray(0, 16).toString('base64url');
    expect(ta).not.toContain(unkeyed);
    const found = await call('GET', `/api/v1/workspaces/${a}/collections/notes/records?filter[status]=open`);
    expect(found.json<{ data: Array<{ id: string }> }>().data.map((r) => r.id)).toEqual([ra.id]);
  });

  it('bounds each data key by count and by time', async () => {
    let clock = Date.now();
    const keyring = t.services.keys.keyring;
    const bounded = new Keyring(t.database.db, keyring.root, new Map([[keyring.root.kind, keyring.root]]), keyring.register, {
      cacheSeconds: 60,
      dataKeyMaxUses: 3,
      rotationDays: 90,
      destructionGraceDays: 30,
    }, () => clock);
    const ids = async (n: number) => {
      const seen: string[] = [];
      for (let i = 0; i < n; i++) seen.push((await bounded.writeKey(a)).id.toString('hex'));
      return seen;
    };
    const first = await ids(7);
    expect(new Set(first).size).toBe(3);
    expect(first.slice(0, 3).every((id) => id === first[0])).toBe(true);
    // A minute later the last key has expired, though it was used only once.
    clock += 61_000;
    const [later] = await ids(1);
    expect(first).not.toContain(later);
  });

  it('caches data keys: a burst of writes and reads makes no KMS call once warm', async () => {
    await createRecord(a, { warm: true });
    const provider = t.services.keys.keyring.root;
    const calls = [vi.spyOn(provider, 'unwrap'), vi.spyOn(provider, 'generateKey'), vi.spyOn(provider, 'rewrap')];
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push((await createRecord(a, { i })).id);
      for (const id of ids) expect((await call('GET', `/api/v1/workspaces/${a}/collections/notes/records/${id}`)).statusCode).toBe(200);
      for (const spy of calls) expect(spy).not.toHaveBeenCalled();
      // The same data key sealed all of them (its id sits at bytes 5..20 of each body).
      const dataKeyIds = new Set<string>();
      for (const id of ids) dataKeyIds.add((await rawRecord(id)).body.subarray(5, 21).toString('hex'));
      expect(dataKeyIds.size).toBe(1);
    } finally {
      for (const spy of calls) spy.mockRestore();
    }
  });
});

describe.each(BACKENDS)('rotation, rewrap and retirement on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let ws: string;

  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Json) =>
    t.app.inject({ method, url, headers: owner.bearer, ...(payload ? { payload } : {}) });
  const createRecord = async (data: Json) => {
    const res = await call('POST', `/api/v1/workspaces/${ws}/collections/notes/records`, { data });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const keyVersions = async () =>
    (await t.database.raw<{ key_version: number; n: number }>(
      'SELECT key_version, count(*)::int AS n FROM records WHERE tenant_id = $1 GROUP BY key_version ORDER BY key_version',
      [ws],
    )).map((r) => [r.key_version, r.n]);

  beforeAll(async () => {
    // No key caching: retirement need not wait for other processes' caches to expire.
    t = await buildTestApp(backend, { keyCacheSeconds: 0 });
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Rotating')).id;
    expect((await call('POST', `/api/v1/workspaces/${ws}/collections`, { name: 'notes' })).statusCode).toBe(201);
  });
  afterAll(async () => t?.close());

  it('rotates: old versions keep decrypting, rewrap moves everything, then old versions retire', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await createRecord({ i, status: i % 2 ? 'odd' : 'even' }));
    const [before] = await t.database.raw<{ body: Buffer }>('SELECT body FROM records WHERE id = $1', [ids[0]]);
    // Rotate without the background settle, to see the in-between state.
    const version = await t.services.keys.keyring.rotate(ws);
    expect(version).toBe(2);
    const mid = await call('GET', `/api/v1/workspaces/${ws}/keys`);
    expect(mid.json()).toMatchObject({ currentVersion: 2, minDecryptVersion: 1, pendingRewrap: 12 });
    expect(await keyVersions()).toEqual([[1, 12]]);
    for (const id of ids) expect((await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records/${id}`)).statusCode).toBe(200);
    // A new write goes under version 2 at once.
    const fresh = await createRecord({ fresh: true });
    expect(await keyVersions()).toEqual([[1, 12], [2, 1]]);
    // Retiring version 1 now is refused: rows remain under it.
    const refused = await call('POST', `/api/v1/workspaces/${ws}/keys/retire`, { minVersion: 2 });
    expect(refused.statusCode).toBe(409);
    expect(errorOf(refused)).toMatchObject({ code: 'key_version_in_use', details: { remaining: { records: 12, documents: 0, secrets: 0 } } });

    const result = await t.services.keys.rewrap(ws);
    expect(result).toMatchObject({ version: 2, rewrapped: 12, remaining: 0, failed: [] });
    expect(await keyVersions()).toEqual([[2, 13]]);
    const retired = await call('POST', `/api/v1/workspaces/${ws}/keys/retire`, { minVersion: 2 });
    expect(retired.statusCode, retired.body).toBe(200);
    expect(retired.json()).toMatchObject({ minDecryptVersion: 2, versions: [{ version: 1, state: 'retired' }, { version: 2, state: 'active' }] });
    for (const id of [...ids, fresh]) expect((await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records/${id}`)).statusCode).toBe(200);
    const filtered = await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records?filter[status]=odd`);
    expect(filtered.json<{ data: unknown[] }>().data).toHaveLength(6);
    // A ciphertext from before the rotation (say, from a backup) no longer opens.
    await t.database.raw('UPDATE records SET body = $2, key_version = 1 WHERE id = $1', [ids[0], before?.body]);
    const old = await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records/${ids[0]}`);
    expect(errorOf(old).code).toBe('decryption_failed');
    await t.database.raw('DELETE FROM records WHERE id = $1', [ids[0]]);
    // Events name each step.
    const events = await t.database.raw<{ action: string }>("SELECT action FROM workspace_events WHERE tenant_id = $1 AND action LIKE 'key.%'", [ws]);
    expect(events.map((e) => e.action)).toContain('key.retired');
  });

  it('rotation through the API settles in the background: rewrapped, then older versions retired', async () => {
    await createRecord({ before: 'api rotation' });
    const res = await call('POST', `/api/v1/workspaces/${ws}/keys/rotate`);
    expect(res.statusCode).toBe(200);
    const version = res.json<{ currentVersion: number }>().currentVersion;
    await t.services.accounts.settle();
    const status = (await call('GET', `/api/v1/workspaces/${ws}/keys`)).json<{ currentVersion: number; minDecryptVersion: number; pendingRewrap: number }>();
    expect(status).toMatchObject({ currentVersion: version, minDecryptVersion: version, pendingRewrap: 0 });
    const actions = (await t.database.raw<{ action: string }>("SELECT action FROM workspace_events WHERE tenant_id = $1 AND action LIKE 'key.%' ORDER BY created_at", [ws])).map(
      (e) => e.action,
    );
    expect(actions.slice(-3)).toEqual(['key.rotated', 'key.rewrapped', 'key.retired']);
  });

  it('rotates on schedule: a key past its period is rotated, its content rewrapped and the old version retired', async () => {
    await createRecord({ scheduled: true });
    const before = (await call('GET', `/api/v1/workspaces/${ws}/keys`)).json<{ currentVersion: number }>().currentVersion;
    // No rotation is due yet: the next one is 90 days out.
    expect(await t.services.keys.runDue()).toMatchObject({ destroyed: 0, rotated: 0 });
    await t.database.raw("UPDATE key_schedule SET rotate_after = now() - interval '1 minute' WHERE tenant = $1", [ws]);
    expect(await t.services.keys.runDue()).toEqual({ destroyed: 0, rotated: 1, settled: 1 });
    const after = (await call('GET', `/api/v1/workspaces/${ws}/keys`)).json<{ currentVersion: number; minDecryptVersion: number; pendingRewrap: number; nextRotationAt: string }>();
    expect(after).toMatchObject({ currentVersion: before + 1, minDecryptVersion: before + 1, pendingRewrap: 0 });
    expect(Math.round((new Date(after.nextRotationAt).getTime() - Date.now()) / 86_400_000)).toBe(90);
    // Claimed once: a second pass (another instance) finds nothing to rotate.
    expect(await t.services.keys.runDue()).toMatchObject({ rotated: 0 });
    const [event] = await t.database.raw<{ actor_type: string; details: Record<string, unknown> }>(
      "SELECT actor_type, details FROM workspace_events WHERE tenant_id = $1 AND action = 'key.rotated' ORDER BY created_at DESC LIMIT 1",
      [ws],
    );
    expect(event).toMatchObject({ actor_type: 'system', details: { version: before + 1, scheduled: 'true' } });
  });

  it('loses and breaks nothing when writes run during a rewrap', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 80; i++) ids.push(await createRecord({ i, gen: 0 }));
    const version = await t.services.keys.keyring.rotate(ws);
    const expected = new Map<string, Json>(ids.map((id, i) => [id, { i, gen: 0 }]));
    const writers = (async () => {
      for (let k = 0; k < 40; k++) {
        const id = ids[(k * 7) % ids.length] as string;
        const data = { i: k, gen: 1 };
        const res = await call('PUT', `/api/v1/workspaces/${ws}/collections/notes/records/${id}`, { data });
        expect(res.statusCode, res.body).toBe(200);
        expected.set(id, data);
        const created = await createRecord({ k, gen: 2 });
        expected.set(created, { k, gen: 2 });
      }
    })();
    const [first] = await Promise.all([t.services.keys.rewrap(ws, { batchSize: 10 }), writers]);
    expect(first.failed).toEqual([]);
    const second = await t.services.keys.rewrap(ws, { batchSize: 10 });
    expect(second.remaining).toBe(0);
    const [row] = await t.database.raw<{ n: number }>('SELECT count(*)::int AS n FROM records WHERE tenant_id = $1 AND key_version < $2', [ws, version]);
    expect(row?.n).toBe(0);
    for (const [id, data] of expected) {
      const res = await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records/${id}`);
      expect(res.statusCode, id).toBe(200);
      expect(res.json<{ data: Json }>().data).toEqual(data);
    }
  });

  it('resumes an interrupted rewrap where it stopped', async () => {
    for (let i = 0; i < 40; i++) await createRecord({ resume: i });
    const version = await t.services.keys.keyring.rotate(ws);
    const stop = new AbortController();
    const partial = await t.services.keys.rewrap(ws, {
      batchSize: 10,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.done >= 20) stop.abort();
      },
    });
    expect(partial.rewrapped).toBeGreaterThanOrEqual(20);
    expect(partial.remaining).toBeGreaterThan(0);
    const rest = await t.services.keys.rewrap(ws, { batchSize: 10 });
    expect(rest.remaining).toBe(0);
    expect(partial.rewrapped + rest.rewrapped).toBe(partial.rewrapped + partial.remaining);
    expect(rest.version).toBe(version);
  });

  it('encrypts rows stored before encryption (format 0), replaces their unkeyed filter tokens, then refuses plain rows', async () => {
    // A workspace from before encryption: its rows are plain and it has no keys yet.
    const legacy = (await createWorkspace(t, owner, 'Legacy')).id;
    const legacyUrl = `/api/v1/workspaces/${legacy}/collections/notes/records`;
    expect((await call('POST', `/api/v1/workspaces/${legacy}/collections`, { name: 'notes' })).statusCode).toBe(201);
    const [collection] = await t.database.raw<{ id: string }>("SELECT id FROM collections WHERE tenant_id = $1 AND name = 'notes'", [legacy]);
    const plainRow = async (id: string, data: Json, tokens: string[]) =>
      t.database.raw(`INSERT INTO records (tenant_id, id, collection_id, body, body_format, key_version, filter_tokens) VALUES ($1, $2, $3, $4, 0, 0, $5)`, [
        legacy,
        id,
        collection?.id,
        Buffer.from(JSON.stringify(data)),
        tokens,
      ]);
    const legacyId = '01900000-0000-7000-8000-000000000001';
    const oldToken = sha256(`${legacy}\u0000kind\u0000"old"`).subarray(0, 16).toString('base64url');
    await plainRow(legacyId, { legacy: 'yes', kind: 'old' }, [oldToken]);
    expect((await call('GET', `${legacyUrl}/${legacyId}`)).json<{ data: Json }>().data).toEqual({ legacy: 'yes', kind: 'old' });
    const status = (await call('GET', `/api/v1/workspaces/${legacy}/keys`)).json<{ currentVersion: number; plainRows: { records: number } }>();
    expect(status).toMatchObject({ currentVersion: 0, plainRows: { records: 1 } });

    expect(await t.services.keys.settle(legacy)).toBe(true);
    const [row] = await t.database.raw<{ body: Buffer; body_format: number; filter_tokens: string[] }>('SELECT body, body_format, filter_tokens FROM records WHERE id = $1', [
      legacyId,
    ]);
    expect(row?.body_format).toBe(1);
    expect(row?.body.includes(Buffer.from('legacy'))).toBe(false);
    expect(row?.filter_tokens).not.toContain(oldToken);
    const found = await call('GET', `${legacyUrl}?filter[kind]=old`);
    expect(found.json<{ data: Array<{ id: string }> }>().data.map((r) => r.id)).toEqual([legacyId]);

    // Once a retirement has run, nothing plain is left, and a plain row is a forgery.
    await t.services.keys.keyring.rotate(legacy);
    expect(await t.services.keys.settle(legacy)).toBe(true);
    const forged = '01900000-0000-7000-8000-000000000002';
    await plainRow(forged, { forged: true }, []);
    const res = await call('GET', `${legacyUrl}/${forged}`);
    expect(res.statusCode).toBe(500);
    expect(errorOf(res).code).toBe('decryption_failed');
  });
});

describe.each(BACKENDS)('root key rotation and crypto-shredding on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;

  beforeAll(async () => {
    t = await buildTestApp(backend, { keyCacheSeconds: 0, keyDestructionGraceDays: 0 });
    owner = await signUp(t, 'owner');
  });
  afterAll(async () => t?.close());

  const newWorkspaceWithRecord = async (name: string) => {
    const ws = (await createWorkspace(t, owner, name)).id;
    await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections`, headers: owner.bearer, payload: { name: 'notes' } });
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections/notes/records`, headers: owner.bearer, payload: { data: { keep: name } } });
    expect(res.statusCode).toBe(201);
    return { ws, recordId: res.json<{ id: string }>().id };
  };

  it('a deleted workspace keeps its keys for the grace period', async () => {
    const graceful = await buildTestApp(backend, { keyDestructionGraceDays: 30 });
    try {
      const who = await signUp(graceful, 'owner');
      const ws = (await createWorkspace(graceful, who, 'Graceful')).id;
      await graceful.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections`, headers: who.bearer, payload: { name: 'n' } });
      await graceful.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections/n/records`, headers: who.bearer, payload: { data: { a: 1 } } });
      const del = await graceful.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${ws}`, headers: who.bearer, payload: { confirm: 'Graceful' } });
      expect(del.statusCode).toBe(204);
      const [schedule] = await graceful.database.raw<{ destroy_after: Date }>('SELECT destroy_after FROM key_schedule WHERE tenant = $1', [ws]);
      const days = ((schedule?.destroy_after.getTime() ?? 0) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(29.9);
      expect(days).toBeLessThanOrEqual(30);
      expect(await graceful.services.keys.runDue()).toMatchObject({ destroyed: 0 });
      const [key] = await graceful.database.raw<{ wrapped: Buffer | null; destroyed_at: Date | null }>('SELECT wrapped, destroyed_at FROM tenant_keys WHERE tenant_id = $1', [ws]);
      expect(key).toEqual({ wrapped: expect.any(Buffer), destroyed_at: null });
    } finally {
      await graceful.close();
    }
  });

  it('destroys a deleted workspace keys after the grace period, and a restored key stays dead', async () => {
    const { ws, recordId } = await newWorkspaceWithRecord('Doomed');
    const [saved] = await t.database.raw<{ body: Buffer }>('SELECT body FROM records WHERE id = $1', [recordId]);
    const keysBefore = await t.database.raw<Json>('SELECT * FROM tenant_keys WHERE tenant_id = $1', [ws]);
    const ringBefore = await t.database.raw<Json>('SELECT * FROM tenant_keyrings WHERE tenant_id = $1', [ws]);
    const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${ws}`, headers: owner.bearer, payload: { confirm: 'Doomed' } });
    expect(del.statusCode).toBe(204);
    expect(await t.services.keys.runDue()).toMatchObject({ destroyed: 1 });
    const keys = await t.database.raw<{ wrapped: Buffer | null; destroyed_at: Date | null }>('SELECT wrapped, destroyed_at FROM tenant_keys WHERE tenant_id = $1', [ws]);
    expect(keys).toEqual([{ wrapped: null, destroyed_at: expect.any(Date) }]);
    expect((await t.services.keys.keyring.status(ws)).versions.map((v) => v.state)).toEqual(['destroyed']);
    const register = readFileSync(path.join(t.config.dataDir, 'key-destructions.jsonl'), 'utf8');
    expect(register).toContain(ws);

    // The database is restored from a backup taken before the destruction: the wrapped key is back.
    await t.database.raw('UPDATE tenant_keys SET wrapped = $2, destroyed_at = NULL WHERE tenant_id = $1', [ws, keysBefore[0]?.wrapped]);
    await t.database.raw('UPDATE tenant_keyrings SET index_key = $2, destroyed_at = NULL, destroy_after = NULL WHERE tenant_id = $1', [ws, ringBefore[0]?.index_key]);
    const keyring = t.services.keys.keyring;
    keyring.forget(ws);
    const codec = new ContentCodec(keyring);
    await expect(codec.open({ tenantId: ws, table: 'records', rowId: recordId, field: 'body' }, 1, saved?.body as Buffer)).rejects.toMatchObject({
      code: 'encryption_key_destroyed',
    });
    // Even a new instance reading the same data directory refuses it.
    const other = await buildTestApp(backend, { dataDir: t.config.dataDir, localRootKeys: t.config.localRootKeys });
    try {
      expect(other.services.keys.keyring.register.has(ws)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('rotates the root key: tenant keys are rewrapped under it and everything still opens', async () => {
    const fileApp = await buildTestApp(backend, { keyCacheSeconds: 0, localRootKeys: undefined });
    try {
      const who = await signUp(fileApp, 'owner');
      const ws = (await createWorkspace(fileApp, who, 'Rooted')).id;
      await fileApp.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections`, headers: who.bearer, payload: { name: 'n' } });
      const rec = await fileApp.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections/n/records`, headers: who.bearer, payload: { data: { r: 1 } } });
      const id = rec.json<{ id: string }>().id;
      const keyring = fileApp.services.keys.keyring;
      expect(await keyring.root.rotateRoot()).toBe('local:2');
      // Old references keep working until rewrapped.
      expect((await fileApp.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/collections/n/records/${id}`, headers: who.bearer })).statusCode).toBe(200);
      expect(await keyring.rewrapTenantKeys(ws)).toBe(1);
      const [key] = await fileApp.database.raw<{ key_ref: string }>('SELECT key_ref FROM tenant_keys WHERE tenant_id = $1', [ws]);
      expect(key?.key_ref).toBe('local:2');
      const got = await fileApp.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/collections/n/records/${id}`, headers: who.bearer });
      expect(got.json<{ data: Json }>().data).toEqual({ r: 1 });
      const file = JSON.parse(readFileSync(path.join(fileApp.config.dataDir, 'root-keys.json'), 'utf8')) as { versions: unknown[] };
      expect(file.versions).toHaveLength(2);
    } finally {
      await fileApp.close();
    }
  });
});
