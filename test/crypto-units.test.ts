/**
 * The byte formats and the local key provider, without a database: value and stream envelopes
 * refuse every kind of tampering; the key file is created private, checked, and refused when it
 * is damaged, too open, or made for development.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  DecryptionError,
  newDataKey,
  openStream,
  openValue,
  readValueHeader,
  sealStream,
  sealValue,
  STREAM_CHUNK_BYTES,
  unwrapDataKey,
  type ContentBinding,
} from '../src/platform/crypto/envelope.js';
import { LocalKeyProvider, newLocalRootKeys } from '../src/platform/crypto/providers/local.js';
import { KeyProviderError } from '../src/platform/crypto/providers/types.js';

const TENANT = '0190aaaa-0000-7000-8000-000000000001';
const OTHER = '0190aaaa-0000-7000-8000-000000000002';
const binding: ContentBinding = { tenantId: TENANT, table: 'records', rowId: '0190bbbb-0000-7000-8000-000000000001', field: 'body' };

function tenantKey() {
  return randomBytes(32);
}

async function streamThrough(input: Buffer, transform: NodeJS.ReadWriteStream, chunkSize = 10_000): Promise<Buffer> {
  const out: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunkSize) chunks.push(input.subarray(i, i + chunkSize));
  await pipeline(
    Readable.from(chunks),
    transform,
    new Writable({
      write(chunk: Buffer, _e, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('value envelope (format 1)', () => {
  const tk = tenantKey();
  const dk = newDataKey(TENANT, 3, tk);

  it('round-trips, carrying format, key version and data key id in the header', () => {
    const stored = sealValue(dk, binding, Buffer.from('hello'));
    const header = readValueHeader(stored);
    expect(stored[0]).toBe(1);
    expect(header.version).toBe(3);
    expect(header.dataKeyId.equals(dk.id)).toBe(true);
    const key = unwrapDataKey(tk, TENANT, 3, header.dataKeyId, header.wrappedKey);
    expect(openValue(key, binding, stored).toString()).toBe('hello');
    expect(openValue(key, binding, sealValue(dk, binding, Buffer.alloc(0))).length).toBe(0);
  });

  it('refuses another binding: tenant, table, row or field', () => {
    const stored = sealValue(dk, binding, Buffer.from('bound'));
    for (const other of [
      { ...binding, tenantId: OTHER },
      { ...binding, table: 'secrets' },
      { ...binding, rowId: '0190bbbb-0000-7000-8000-000000000002' },
      { ...binding, field: 'value' },
    ]) {
      expect(() => openValue(dk.key, other, stored)).toThrow(DecryptionError);
    }
  });

  it('refuses any flipped byte, anywhere, and says only "decryption failed"', () => {
    const stored = sealValue(dk, binding, Buffer.from('x'.repeat(40)));
    for (let i = 0; i < stored.length; i++) {
      const bad = Buffer.from(stored);
      bad[i] = (bad[i] as number) ^ 0x01;
      let error: unknown;
      try {
        const header = readValueHeader(bad);
        const key = unwrapDataKey(tk, TENANT, header.version, header.dataKeyId, header.wrappedKey);
        openValue(key, binding, bad);
      } catch (err) {
        error = err;
      }
      expect(error, `byte ${i}`).toBeInstanceOf(DecryptionError);
      expect((error as Error).message).toBe('decryption failed');
    }
  });

  it('unwraps a data key only for its own tenant, version and id', () => {
    expect(() => unwrapDataKey(tk, OTHER, 3, dk.id, dk.wrapped)).toThrow(DecryptionError);
    expect(() => unwrapDataKey(tk, TENANT, 4, dk.id, dk.wrapped)).toThrow(DecryptionError);
    expect(() => unwrapDataKey(tk, TENANT, 3, randomBytes(16), dk.wrapped)).toThrow(DecryptionError);
    expect(() => unwrapDataKey(tenantKey(), TENANT, 3, dk.id, dk.wrapped)).toThrow(DecryptionError);
    expect(unwrapDataKey(tk, TENANT, 3, dk.id, dk.wrapped).equals(dk.key)).toBe(true);
  });
});

describe('stream envelope (format 2)', () => {
  const dk = newDataKey(TENANT, 1, tenantKey());
  const docBinding: ContentBinding = { ...binding, table: 'documents', field: 'content' };

  it.each([0, 1, STREAM_CHUNK_BYTES - 1, STREAM_CHUNK_BYTES, STREAM_CHUNK_BYTES + 1, 3 * STREAM_CHUNK_BYTES, 200_000])('round-trips %i bytes', async (size) => {
    const plain = randomBytes(size);
    const sealed = await streamThrough(plain, sealStream(dk, docBinding), 7_919);
    expect(sealed.length).toBe(size + 24 + 16 * Math.max(1, Math.ceil(size / STREAM_CHUNK_BYTES)));
    const opened = await streamThrough(sealed, openStream(dk, docBinding), 5_003);
    expect(opened.equals(plain)).toBe(true);
  });

  it('refuses truncation at a chunk boundary, dropped or swapped chunks, a flipped byte, another binding', async () => {
    const plain = randomBytes(3 * STREAM_CHUNK_BYTES + 100);
    const sealed = await streamThrough(plain, sealStream(dk, docBinding));
    const chunk = STREAM_CHUNK_BYTES + 16;
    const header = sealed.subarray(0, 24);
    const chunks = [0, 1, 2, 3].map((i) => sealed.subarray(24 + i * chunk, 24 + (i + 1) * chunk));
    const flipped = Buffer.from(sealed);
    flipped[100] = (flipped[100] as number) ^ 1;
    const variants: Array<[string, Buffer, ContentBinding]> = [
      ['cut after two chunks', Buffer.concat([header, chunks[0] as Buffer, chunks[1] as Buffer]), docBinding],
      ['cut inside the last chunk', sealed.subarray(0, sealed.length - 5), docBinding],
      ['middle chunk dropped', Buffer.concat([header, chunks[0] as Buffer, chunks[2] as Buffer, chunks[3] as Buffer]), docBinding],
      ['chunks swapped', Buffer.concat([header, chunks[1] as Buffer, chunks[0] as Buffer, chunks[2] as Buffer, chunks[3] as Buffer]), docBinding],
      ['byte flipped', flipped, docBinding],
      ['header only', header, docBinding],
      ['other row', sealed, { ...docBinding, rowId: '0190bbbb-0000-7000-8000-000000000009' }],
    ];
    for (const [what, bytes, b] of variants) {
      await expect(streamThrough(bytes, openStream(dk, b)), what).rejects.toBeInstanceOf(DecryptionError);
    }
    const otherKey = newDataKey(TENANT, 1, tenantKey());
    await expect(streamThrough(sealed, openStream(otherKey, docBinding))).rejects.toBeInstanceOf(DecryptionError);
  });
});

describe('local key provider', () => {
  const dir = () => mkdtempSync(path.join(tmpdir(), 'rampart-keys-'));
  const context = { tenantId: TENANT, version: 1 };

  it('creates the key file at first start with mode 0600, and reopens the same key', async () => {
    const file = path.join(dir(), 'root-keys.json');
    const first = LocalKeyProvider.open({ kind: 'file', file, dev: false });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await first.currentKeyRef()).toBe('local:1');
    const { plaintext, wrapped } = await first.generateKey('local:1', context);
    expect(wrapped.includes(plaintext)).toBe(false);
    const again = LocalKeyProvider.open({ kind: 'file', file, dev: false });
    expect((await again.unwrap('local:1', wrapped, context)).equals(plaintext)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'rampart-root-keys/1', development: false });
  });

  it('binds wrapped keys to tenant and version; unknown references are disabled keys', async () => {
    const p = LocalKeyProvider.open({ kind: 'env', value: newLocalRootKeys() });
    const { wrapped } = await p.generateKey('local:1', context);
    await expect(p.unwrap('local:1', wrapped, { tenantId: OTHER, version: 1 })).rejects.toMatchObject({ failure: 'unwrap_failed' });
    await expect(p.unwrap('local:1', wrapped, { tenantId: TENANT, version: 2 })).rejects.toMatchObject({ failure: 'unwrap_failed' });
    await expect(p.unwrap('local:7', wrapped, context)).rejects.toMatchObject({ failure: 'key_disabled' });
    await expect(p.verify('local:7')).rejects.toBeInstanceOf(KeyProviderError);
    await expect(p.verify('local:1')).resolves.toBeUndefined();
    await expect(p.rotateRoot()).rejects.toMatchObject({ failure: 'not_supported' });
  });

  it('refuses a development key file outside development', () => {
    const file = path.join(dir(), 'root-keys.json');
    LocalKeyProvider.open({ kind: 'file', file, dev: true });
    expect(() => LocalKeyProvider.open({ kind: 'file', file, dev: false })).toThrow(/development mode/);
    expect(() => LocalKeyProvider.open({ kind: 'file', file, dev: true })).not.toThrow();
  });

  it('refuses a key file others can read, a damaged one, and one that is not JSON', () => {
    const d = dir();
    const file = path.join(d, 'root-keys.json');
    LocalKeyProvider.open({ kind: 'file', file, dev: false });
    chmodSync(file, 0o644);
    expect(() => LocalKeyProvider.open({ kind: 'file', file, dev: false })).toThrow(/readable by others/);
    chmodSync(file, 0o600);
    const text = readFileSync(file, 'utf8');
    const damaged = text.replace(/"key": "(.)/, (_m, c: string) => `"key": "${c === 'A' ? 'B' : 'A'}`);
    writeFileSync(file, damaged);
    expect(() => LocalKeyProvider.open({ kind: 'file', file, dev: false })).toThrow(/fails its check/);
    writeFileSync(file, '{ not json');
    let error: unknown;
    try {
      LocalKeyProvider.open({ kind: 'file', file, dev: false });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ failure: 'misconfigured' });
    expect(String(error)).not.toContain('not json');
  });

  it('rotates the root key in the file: new version current, old one still unwraps', async () => {
    const file = path.join(dir(), 'root-keys.json');
    const p = LocalKeyProvider.open({ kind: 'file', file, dev: false });
    const { plaintext, wrapped } = await p.generateKey('local:1', context);
    expect(await p.rotateRoot()).toBe('local:2');
    expect(await p.currentKeyRef()).toBe('local:2');
    expect((await p.unwrap('local:1', wrapped, context)).equals(plaintext)).toBe(true);
    const moved = await p.rewrap('local:1', wrapped, 'local:2', context);
    expect((await p.unwrap('local:2', moved, context)).equals(plaintext)).toBe(true);
    await expect(p.unwrap('local:1', moved, context)).rejects.toMatchObject({ failure: 'unwrap_failed' });
    // Another process (reopening the file) sees both versions.
    const reopened = LocalKeyProvider.open({ kind: 'file', file, dev: false });
    expect(await reopened.currentKeyRef()).toBe('local:2');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('parses RAMPART_LOCAL_ROOT_KEYS and refuses malformed values without echoing them', () => {
    const good = `${newLocalRootKeys()},2:${randomBytes(32).toString('base64url')}`;
    expect(() => LocalKeyProvider.open({ kind: 'env', value: good })).not.toThrow();
    for (const bad of ['1:short', 'x:abc', `1:${randomBytes(31).toString('base64url')}`, `1:${randomBytes(32).toString('base64url')},1:${randomBytes(32).toString('base64url')}`]) {
      let error: unknown;
      try {
        LocalKeyProvider.open({ kind: 'env', value: bad });
      } catch (err) {
        error = err;
      }
      expect(error, bad).toMatchObject({ failure: 'misconfigured' });
      expect(String(error)).not.toContain(bad.slice(2, 12));
    }
  });
});
