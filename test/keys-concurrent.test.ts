/**
 * Key versions across processes: a server keeps serving while another process (the CLI) rotates,
 * rewraps and retires keys. A ciphertext under a version the server's cache does not know makes
 * it reload the tenant's keys, once, before deciding; the database refuses content under a
 * retired version from any process; and a retirement waits for every process's key cache, not
 * only for the retiring process's own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ContentCodec } from '../src/platform/content/codec.js';
import { Keyring } from '../src/platform/crypto/keyring.js';
import { LocalKeyProvider } from '../src/platform/crypto/providers/local.js';
import { tenantContext, type Tx } from '../src/platform/db/types.js';
import { RampartError } from '../src/platform/errors.js';
import { toRampartError } from '../src/platform/http/errors.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { BACKENDS, type TestDatabase } from './helpers/backends.js';
import { registerKeyFile } from './helpers/secret-capture.js';
import { runCliProcess, signUpThroughSetupLink, startServerProcess, type ServerProcess } from './helpers/server-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('key versions across processes on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let ws = '';

  /**
   * Another process's keyring on the same database: its own caches, `cacheSeconds` long. It shares
   * the root key provider with the app, so it is never closed (closing would close that too).
   */
  const otherProcess = (cacheSeconds: number) => {
    const k = t.services.keys.keyring;
    return new Keyring(t.database.db, k.root, new Map([[k.root.kind, k.root]]), k.register, {
      cacheSeconds,
      dataKeyMaxUses: 100_000,
      rotationDays: 90,
      destructionGraceDays: 30,
    });
  };
  const binding = (rowId: string) => ({ tenantId: ws, table: 'records' as const, rowId, field: 'body' });
  const createRecord = async (data: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections/notes/records`, headers: owner.bearer, payload: { data } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  };
  /** Rotate, rewrap everything, retire the older versions: as `rampart keys` does. */
  const rotateAndSettle = async () => {
    const version = await t.services.keys.keyring.rotate(ws);
    expect(await t.services.keys.rewrap(ws)).toMatchObject({ remaining: 0, failed: [] });
    return version;
  };

  beforeAll(async () => {
    // This app's own keyring caches nothing, so its own retirements wait for no cache of its own.
    t = await buildTestApp(backend, { keyCacheSeconds: 0 });
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Keys')).id;
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections`, headers: owner.bearer, payload: { name: 'notes' } })).statusCode).toBe(201);
    await createRecord({ first: true });
  });
  afterAll(async () => t?.close());

  it('a ciphertext under a version the cache does not know: the keyring reloads once, then opens it; many at once make one load', async () => {
    const server = otherProcess(300);
    const serverCodec = new ContentCodec(server);
    const before = await serverCodec.seal(binding('00000000-0000-7000-8000-000000000001'), Buffer.from('before'));
    // The server's cache now holds the tenant's keys as they were.
    expect(Buffer.from(await serverCodec.open(binding('00000000-0000-7000-8000-000000000001'), before.format, before.stored)).toString()).toBe('before');

    // Another process rotates and seals under the new version.
    const version = await t.services.keys.keyring.rotate(ws);
    expect(version).toBe(before.keyVersion + 1);
    const cli = new ContentCodec(t.services.keys.keyring);
    const sealed = await Promise.all(Array.from({ length: 20 }, (_, i) => cli.seal(binding(`00000000-0000-7000-8000-0000000001${String(i).padStart(2, '0')}`), Buffer.from(`v${i}`))));
    expect(sealed.every((s) => s.keyVersion === version)).toBe(true);

    // Counted on this keyring alone: the shared database also serves the test's other work (the audit chain among it).
    const loads = vi.spyOn(server as unknown as { loadState: (tenantId: string) => Promise<unknown> }, 'loadState');
    try {
      const opened = await Promise.all(sealed.map((s, i) => serverCodec.open(binding(`00000000-0000-7000-8000-0000000001${String(i).padStart(2, '0')}`), s.format, s.stored)));
      expect(opened.map((b) => Buffer.from(b).toString())).toEqual(sealed.map((_, i) => `v${i}`));
      expect(loads).toHaveBeenCalledTimes(1);
    } finally {
      loads.mockRestore();
    }
    // Having seen the new version, the server seals new content under it at once.
    expect((await serverCodec.seal(binding('00000000-0000-7000-8000-000000000002'), Buffer.from('after'))).keyVersion).toBe(version);
  });

  it('a version that does not exist fails as decryption_failed after one reload, not one per request', async () => {
    const server = otherProcess(300);
    const codec = new ContentCodec(server);
    const real = await codec.seal(binding('00000000-0000-7000-8000-000000000003'), Buffer.from('x'));
    // The header names version 99 (bytes 1..4): a forgery, or a row from another database.
    const forged = Buffer.from(real.stored);
    forged.writeUInt32BE(99, 1);
    const loads = vi.spyOn(server as unknown as { loadState: (tenantId: string) => Promise<unknown> }, 'loadState');
    try {
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => codec.open(binding('00000000-0000-7000-8000-000000000003'), real.format, forged)));
      for (const r of results) expect(r.status === 'rejected' && toRampartError(r.reason).code).toBe('decryption_failed');
      expect(loads).toHaveBeenCalledTimes(1);
    } finally {
      loads.mockRestore();
    }
  });

  it('retiring waits for the longest key cache any process has: a process without one is refused while another may still write under the old version', async () => {
    // A server caching keys for 300 s has read this tenant's keys.
    const server = otherProcess(300);
    await new ContentCodec(server).seal(binding('00000000-0000-7000-8000-000000000004'), Buffer.from('warm'));
    const version = await rotateAndSettle();
    const refused = await t.services.keys.keyring.retire(ws, version).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(RampartError);
    expect(refused).toMatchObject({ code: 'key_version_in_use', message: expect.stringMatching(/too recent to retire/) });
    const wait = ((refused as RampartError).details as { retryAfterSeconds: number }).retryAfterSeconds;
    expect(wait).toBeGreaterThan(250);
    expect(wait).toBeLessThanOrEqual(300);
    expect((await t.services.keys.keyring.status(ws)).minDecryptVersion).toBeLessThan(version);
  });

  /**
   * A workspace of its own (in a database of its own: no process has declared a key cache there)
   * with one record, whose new body a write in flight sealed under version 1; then version 2 is
   * made and everything stored moves to it.
   */
  async function writeInFlightAcrossRotation(name: string, run: (s: { app: TestApp; caller: Caller; w: string; id: string; keyring: Keyring; writeV1: (tx: Tx) => Promise<unknown>; read: () => Promise<unknown> }) => Promise<void>) {
    const app = await buildTestApp(backend, { keyCacheSeconds: 0 });
    try {
      const caller = await signUp(app, 'owner');
      const w = (await createWorkspace(app, caller, name)).id;
      const records = `/api/v1/workspaces/${w}/collections/notes/records`;
      expect((await app.app.inject({ method: 'POST', url: `/api/v1/workspaces/${w}/collections`, headers: caller.bearer, payload: { name: 'notes' } })).statusCode).toBe(201);
      const id = (await app.app.inject({ method: 'POST', url: records, headers: caller.bearer, payload: { data: { n: 1 } } })).json<{ id: string }>().id;
      const keyring = app.services.keys.keyring;
      const sealed = await new ContentCodec(keyring).seal({ tenantId: w, table: 'records', rowId: id, field: 'body' }, Buffer.from('{"n":2}'));
      expect(sealed.keyVersion).toBe(1);
      await keyring.rotate(w);
      expect(await app.services.keys.rewrap(w)).toMatchObject({ remaining: 0, failed: [] });
      const writeV1 = (tx: Tx) => tx.query('UPDATE records SET body = $2, body_format = 1, key_version = 1 WHERE tenant_id = current_tenant_id() AND id = $1', [id, sealed.stored]);
      const read = async () => (await app.app.inject({ method: 'GET', url: `${records}/${id}`, headers: caller.bearer })).json<{ data: unknown }>().data;
      await run({ app, caller, w, id, keyring, writeV1, read });
    } finally {
      await app.close();
    }
  }

  it('the database refuses content written under a retired version (a write sealed before the retirement, committed after it)', async () => {
    await writeInFlightAcrossRotation('Retired', async ({ app, w, id, keyring, writeV1, read }) => {
      // Version 1 retires while the write is in flight …
      await keyring.retire(w, 2);
      // … then the write arrives: refused, so nothing is stored that can no longer be read.
      const err = await app.database.db.withTenant(tenantContext(w, null), writeV1).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      // The client is told to try again (its next seal is under the current version).
      expect(toRampartError(err)).toMatchObject({ code: 'service_unavailable', status: 503, retryAfterSeconds: expect.any(Number) });
      const [row] = await app.database.raw<{ key_version: number }>('SELECT key_version FROM records WHERE id = $1', [id]);
      expect(row?.key_version).toBe(2);
      expect(await read()).toEqual({ n: 1 });
    });
  });

  it.skipIf(backend.name !== 'postgres')('a retirement waits for writers in flight, then counts what they wrote', async () => {
    await writeInFlightAcrossRotation('Inflight', async ({ app, w, keyring, writeV1, read }) => {
      // The writer has written its row under version 1 and not committed yet.
      let written!: () => void;
      const rowWritten = new Promise<void>((r) => (written = r));
      let commit!: () => void;
      const mayCommit = new Promise<void>((r) => (commit = r));
      const writer = app.database.db.withTenant(tenantContext(w, null), async (tx) => {
        await writeV1(tx);
        written();
        await mayCommit;
      });
      await rowWritten;
      let retireSettled = false;
      const retiring = keyring.retire(w, 2).then(
        () => null,
        (err: unknown) => err,
      );
      void retiring.then(() => (retireSettled = true));
      try {
        await sleep(300);
        // The retirement waits for the writer …
        expect(retireSettled).toBe(false);
      } finally {
        commit();
        await writer.catch(() => undefined);
      }
      // … and then finds its row under version 1: refused, as rows remain.
      expect(await retiring).toMatchObject({ code: 'key_version_in_use', details: { remaining: { records: 1 } } });
      expect((await keyring.status(w)).minDecryptVersion).toBe(1);
      expect(await read()).toEqual({ n: 2 });
    });
  });
});

describe('the local root key file, rotated by another process', () => {
  it('a root key version added by another process (rampart keys rotate --root) is read from the file when first named', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rampart-root-')), 'root-keys.json');
    const server = LocalKeyProvider.open({ kind: 'file', file, dev: false });
    const cli = LocalKeyProvider.open({ kind: 'file', file, dev: false });
    registerKeyFile(file);
    try {
      const ref = await cli.rotateRoot();
      expect(ref).toBe('local:2');
      registerKeyFile(file);
      const context = { tenantId: '00000000-0000-7000-8000-000000000009', version: 3 };
      const made = await cli.generateKey(ref, context);
      // The server, which read the file before the rotation, opens what the CLI wrapped under the new root version.
      expect((await server.unwrap(ref, made.wrapped, context)).equals(made.plaintext)).toBe(true);
      // A version that is nowhere stays unknown.
      await expect(server.unwrap('local:9', made.wrapped, context)).rejects.toMatchObject({ failure: 'key_disabled' });
    } finally {
      await server.close();
      await cli.close();
    }
  });
});

const server = BACKENDS.find((b) => b.name === 'postgres');

describe.skipIf(!server)('the CLI rotating and rewrapping beside a running server (PostgreSQL)', () => {
  let database: TestDatabase;
  let proc: ServerProcess;
  let env: Record<string, string>;
  let headers: Record<string, string>;
  let base = '';
  let ws = '';

  beforeAll(async () => {
    database = await (server as NonNullable<typeof server>).open();
    const urls = database.urls as NonNullable<TestDatabase['urls']>;
    env = { DATABASE_URL: urls.app, DATABASE_OWNER_URL: urls.owner, RAMPART_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rampart-keys-concurrent-')) };
    // The server caches keys for the default 300 s, as in production.
    proc = await startServerProcess({ ...env, DATABASE_POOL_SIZE: '6' });
    headers = await signUpThroughSetupLink(proc);
    ws = ((await (await fetch(`${proc.url}/api/v1/workspaces`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Busy' }) })).json()) as { id: string }).id;
    base = `${proc.url}/api/v1/workspaces/${ws}`;
    const col = await fetch(`${base}/collections`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'notes' }) });
    expect(col.status).toBe(201);
  });
  afterAll(async () => {
    await proc?.stop();
    await database?.close();
  });

  it('serves reads and writes of records and documents with zero failures while `rampart keys rotate` and `keys rewrap` run in another process', async () => {
    const records: Array<{ id: string; data: Record<string, unknown> }> = [];
    const documents: Array<{ id: string; content: Buffer }> = [];
    const failures: string[] = [];
    let requests = 0;
    let stopped = false;
    const json = { ...headers, 'content-type': 'application/json' };
    const pick = <T>(list: T[]): T | undefined => list[Math.floor(Math.random() * list.length)];
    const check = async (what: string, res: Response, ok: number): Promise<boolean> => {
      requests += 1;
      if (res.status === ok) return true;
      failures.push(`${what}: ${res.status} ${await res.text()}`);
      return false;
    };

    const worker = async (w: number) => {
      for (let i = 0; !stopped; i++) {
        const data = { w, i, note: randomBytes(8).toString('hex') };
        const created = await fetch(`${base}/collections/notes/records`, { method: 'POST', headers: json, body: JSON.stringify({ data }) });
        if (await check('write record', created, 201)) records.push({ id: ((await created.json()) as { id: string }).id, data });
        const known = pick(records);
        if (known) {
          const read = await fetch(`${base}/collections/notes/records/${known.id}`, { headers });
          if (await check('read record', read, 200)) expect(((await read.json()) as { data: unknown }).data).toEqual(known.data);
        }
        if (i % 4 === 0) {
          const content = randomBytes(20_000 + Math.floor(Math.random() * 100_000));
          const form = new FormData();
          form.append('file', new Blob([content]), `doc-${w}-${i}.bin`);
          const up = await fetch(`${base}/documents`, { method: 'POST', headers, body: form });
          if (await check('upload document', up, 201)) documents.push({ id: ((await up.json()) as { id: string }).id, content });
          const doc = pick(documents);
          if (doc) {
            const down = await fetch(`${base}/documents/${doc.id}/content`, { headers });
            if (await check('download document', down, 200)) expect(Buffer.from(await down.arrayBuffer()).equals(doc.content)).toBe(true);
          }
        }
      }
    };
    const workers = Array.from({ length: 4 }, (_, w) => worker(w));
    const cli: string[] = [];
    let retire: Awaited<ReturnType<typeof runCliProcess>> | undefined;
    try {
      await sleep(1000);
      for (let round = 0; round < 2; round++) {
        const rotated = await runCliProcess(['keys', 'rotate', '--tenant', ws, '--json'], env);
        expect(rotated.code, rotated.err).toBe(0);
        cli.push(rotated.out);
        await sleep(500);
        const rewrapped = await runCliProcess(['keys', 'rewrap', '--tenant', ws, '--json'], env);
        cli.push(rewrapped.out);
        expect(JSON.parse(rewrapped.out)).toMatchObject({ results: [{ failed: [] }] });
        await sleep(500);
      }
      // Retiring from the CLI (which caches nothing) is refused while the server's cache may still
      // write the old version (or because it just did: then rows remain under it).
      retire = await runCliProcess(['keys', 'retire', '--tenant', ws], { ...env, RAMPART_KEY_CACHE_SECONDS: '0' });
      await sleep(1000);
    } finally {
      stopped = true;
      await Promise.all(workers);
    }
    process.stderr.write(`[keys-concurrent] ${requests} requests during 2 CLI rotations and rewraps, ${failures.length} failed; ${records.length} records, ${documents.length} documents; CLI retire: ${retire?.err ?? ""}\n`);
    expect(failures).toEqual([]);
    expect(retire?.code).toBe(1);
    expect(retire?.err).toMatch(/too recent to retire|still encrypted under an older key version/);
    expect(records.length).toBeGreaterThan(20);
    expect(documents.length).toBeGreaterThan(4);

    // Everything written during the rotations reads back.
    for (const { id, data } of records) {
      const read = await fetch(`${base}/collections/notes/records/${id}`, { headers });
      expect(read.status).toBe(200);
      expect(((await read.json()) as { data: unknown }).data).toEqual(data);
    }
    for (const { id, content } of documents) {
      const down = await fetch(`${base}/documents/${id}/content`, { headers });
      expect(Buffer.from(await down.arrayBuffer()).equals(content)).toBe(true);
    }
    // A last rewrap leaves nothing behind: the server writes under the newest version by now.
    const last = await runCliProcess(['keys', 'rewrap', '--tenant', ws, '--json'], env);
    expect(JSON.parse(last.out)).toMatchObject({ results: [{ version: 3, remaining: 0, failed: [] }] });
  });
});
