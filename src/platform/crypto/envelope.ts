/**
 * The byte formats of encrypted content, and nothing else: no keys are fetched here.
 *
 * Values (record bodies, vault secrets), format 1:
 *
 *   0      format (1)
 *   1..4   tenant key version (uint32, big-endian)
 *   5..20  data key id (16 random bytes)
 *   21..80 the data key wrapped by the tenant key: nonce (12) | AES-256-GCM ciphertext (32) | tag (16)
 *   81..92 nonce (12)
 *   93..   AES-256-GCM ciphertext | tag (16)
 *
 * The content's additional data is the header (bytes 0..92) followed by the binding (tenant,
 * table, row, field): the header cannot be edited, and a value copied to another row, field or
 * tenant does not open. The wrapped data key is bound to tenant, tenant key version and data key
 * id. Every value therefore carries what it needs to be opened given the tenant key alone.
 *
 * Streams (documents), format 2: the object starts with format (1) | data key id (16) | nonce
 * prefix (7), then chunks of 64 KiB of plaintext, each sealed with nonce = prefix | chunk
 * counter (uint32) | last-chunk flag (1) — the STREAM construction (Hoang, Reyhanitabar, Rogaway,
 * Vizár 2015) — so chunks cannot be reordered, dropped or the stream cut short unnoticed. The
 * document's data key, wrapped, lives in its database row with the tenant key version, so a
 * rewrap touches 60 bytes in the row and never the object.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const VALUE_FORMAT = 1;
export const STREAM_FORMAT = 2;

const KEY_BYTES = 32;
const ID_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const WRAPPED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES;
const HEADER_BYTES = 1 + 4 + ID_BYTES + WRAPPED_KEY_BYTES + NONCE_BYTES;
export const VALUE_OVERHEAD = HEADER_BYTES + TAG_BYTES;

const STREAM_PREFIX_BYTES = 7;
const STREAM_HEADER_BYTES = 1 + ID_BYTES + STREAM_PREFIX_BYTES;
export const STREAM_CHUNK_BYTES = 64 * 1024;

/** Where a piece of content belongs; bound into its ciphertext. */
export interface ContentBinding {
  readonly tenantId: string;
  readonly table: string;
  readonly rowId: string;
  readonly field: string;
}

/** Any failure to open: the message never says more than this. */
export class DecryptionError extends Error {
  constructor(readonly internal: string) {
    super('decryption failed');
    this.name = 'DecryptionError';
  }
}

export interface DataKey {
  readonly id: Buffer;
  readonly key: Buffer;
  /** The key wrapped under the tenant key `version`. */
  readonly wrapped: Buffer;
  readonly version: number;
}

/**
 * Nonces come from a pool of random bytes refilled 12 KiB at a time: one CSPRNG call per 1,024
 * nonces instead of one per value (a measurable share of sealing a small value). Each nonce is
 * handed out once; a refill allocates a new pool.
 */
const NONCE_POOL_BYTES = NONCE_BYTES * 1024;
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;

function copyNonce(target: Buffer, at: number): void {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomFillSync(Buffer.allocUnsafe(NONCE_POOL_BYTES));
    nonceOffset = 0;
  }
  noncePool.copy(target, at, nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
}

function bindingBytes(b: ContentBinding): Buffer {
  return Buffer.from(`rampart/content/v1\u0000${b.tenantId}\u0000${b.table}\u0000${b.rowId}\u0000${b.field}`, 'utf8');
}

function dataKeyAad(tenantId: string, version: number, id: Buffer): Buffer {
  return Buffer.from(`rampart/data-key/v1\u0000${tenantId}\u0000${version}\u0000${id.toString('hex')}`, 'utf8');
}

function gcmSeal(key: Buffer, nonce: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([head, tail, cipher.getAuthTag()]);
}

function gcmOpen(key: Buffer, nonce: Buffer, aad: Buffer, sealed: Buffer, what: string): Buffer {
  if (sealed.length < TAG_BYTES) throw new DecryptionError(`${what}: too short`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    return head.length === 0 ? decipher.final() : Buffer.concat([head, decipher.final()]);
  } catch {
    throw new DecryptionError(`${what}: authentication failed`);
  }
}

/** A new data key under the tenant key `version`. */
export function newDataKey(tenantId: string, version: number, tenantKey: Buffer): DataKey {
  const id = randomBytes(ID_BYTES);
  const key = randomBytes(KEY_BYTES);
  return { id, key, version, wrapped: wrapDataKey(tenantKey, tenantId, version, id, key) };
}

export function wrapDataKey(tenantKey: Buffer, tenantId: string, version: number, id: Buffer, key: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  return Buffer.concat([nonce, gcmSeal(tenantKey, nonce, dataKeyAad(tenantId, version, id), key)]);
}

export function unwrapDataKey(tenantKey: Buffer, tenantId: string, version: number, id: Buffer, wrapped: Buffer): Buffer {
  if (wrapped.length !== WRAPPED_KEY_BYTES) throw new DecryptionError('wrapped data key has the wrong length');
  return gcmOpen(tenantKey, wrapped.subarray(0, NONCE_BYTES), dataKeyAad(tenantId, version, id), wrapped.subarray(NONCE_BYTES), 'data key');
}

/** The parts of a format-1 value's header. */
export interface ValueHeader {
  readonly version: number;
  readonly dataKeyId: Buffer;
  readonly wrappedKey: Buffer;
}

export function readValueHeader(stored: Buffer): ValueHeader {
  if (stored.length < VALUE_OVERHEAD || stored[0] !== VALUE_FORMAT) throw new DecryptionError('not a format 1 value');
  return {
    version: stored.readUInt32BE(1),
    dataKeyId: stored.subarray(5, 5 + ID_BYTES),
    wrappedKey: stored.subarray(5 + ID_BYTES, 5 + ID_BYTES + WRAPPED_KEY_BYTES),
  };
}

export function sealValue(dataKey: DataKey, binding: ContentBinding, plaintext: Buffer): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = VALUE_FORMAT;
  header.writeUInt32BE(dataKey.version, 1);
  dataKey.id.copy(header, 5);
  dataKey.wrapped.copy(header, 5 + ID_BYTES);
  copyNonce(header, HEADER_BYTES - NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey.key, header.subarray(HEADER_BYTES - NONCE_BYTES));
  // Two AAD updates authenticate exactly header ‖ binding, without building that buffer.
  cipher.setAAD(header);
  cipher.setAAD(bindingBytes(binding));
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([header, head, tail, cipher.getAuthTag()]);
}

/** Opens a format-1 value with its (already unwrapped) data key. */
export function openValue(dataKey: Buffer, binding: ContentBinding, stored: Buffer): Buffer {
  const header = stored.subarray(0, HEADER_BYTES);
  const sealed = stored.subarray(HEADER_BYTES);
  if (sealed.length < TAG_BYTES) throw new DecryptionError('value: too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, header.subarray(HEADER_BYTES - NONCE_BYTES));
    decipher.setAAD(header);
    decipher.setAAD(bindingBytes(binding));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    return head.length === 0 ? decipher.final() : Buffer.concat([head, decipher.final()]);
  } catch {
    throw new DecryptionError('value: authentication failed');
  }
}

function streamNonce(prefix: Buffer, counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(counter, STREAM_PREFIX_BYTES);
  nonce[NONCE_BYTES - 1] = last ? 1 : 0;
  return nonce;
}

const MAX_CHUNKS = 0xffffffff;

/** Encrypts a stream in chunks under a data key of its own (format 2). */
export function sealStream(dataKey: DataKey, binding: ContentBinding): Transform {
  const prefix = randomBytes(STREAM_PREFIX_BYTES);
  const header = Buffer.concat([Buffer.from([STREAM_FORMAT]), dataKey.id, prefix]);
  const aad = Buffer.concat([header, bindingBytes(binding)]);
  let counter = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let headerSent = false;

  const sealChunk = (chunk: Buffer, last: boolean): Buffer => {
    if (counter >= MAX_CHUNKS) throw new Error('stream too long for one data key');
    const cipher: CipherGCM = createCipheriv('aes-256-gcm', dataKey.key, streamNonce(prefix, counter, last));
    counter += 1;
    cipher.setAAD(aad);
    return Buffer.concat([cipher.update(chunk), cipher.final(), cipher.getAuthTag()]);
  };

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      try {
        if (!headerSent) {
          this.push(header);
          headerSent = true;
        }
        pending.push(chunk);
        pendingBytes += chunk.length;
        // Keep strictly more than one chunk back: the last chunk is sealed differently, at the end.
        if (pendingBytes > STREAM_CHUNK_BYTES) {
          const all = Buffer.concat(pending);
          let offset = 0;
          for (; all.length - offset > STREAM_CHUNK_BYTES; offset += STREAM_CHUNK_BYTES) {
            this.push(sealChunk(all.subarray(offset, offset + STREAM_CHUNK_BYTES), false));
          }
          pending = [all.subarray(offset)];
          pendingBytes = all.length - offset;
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!headerSent) this.push(header);
        this.push(sealChunk(Buffer.concat(pending), true));
        pending = [];
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}

/** The data key id a format-2 object was sealed with, from its first bytes. */
export function streamKeyId(head: Buffer): Buffer {
  if (head.length < STREAM_HEADER_BYTES || head[0] !== STREAM_FORMAT) throw new DecryptionError('not a format 2 stream');
  return head.subarray(1, 1 + ID_BYTES);
}

/** Decrypts a format-2 stream; any tampering, reordering or truncation errors the stream. */
export function openStream(dataKey: DataKey, binding: ContentBinding): Transform {
  const sealedChunk = STREAM_CHUNK_BYTES + TAG_BYTES;
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let aad: Buffer | null = null;
  let prefix: Buffer | null = null;
  let counter = 0;

  const openChunk = (sealed: Buffer, last: boolean): Buffer => {
    if (!aad || !prefix) throw new DecryptionError('stream header missing');
    const decipher: DecipherGCM = createDecipheriv('aes-256-gcm', dataKey.key, streamNonce(prefix, counter, last));
    counter += 1;
    decipher.setAAD(aad);
    if (sealed.length < TAG_BYTES) throw new DecryptionError('stream chunk too short');
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new DecryptionError(`stream chunk ${counter - 1}: authentication failed`);
    }
  };

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      try {
        buffered.push(chunk);
        bufferedBytes += chunk.length;
        if (!aad) {
          if (bufferedBytes < STREAM_HEADER_BYTES) return done();
          const all = Buffer.concat(buffered);
          const header = all.subarray(0, STREAM_HEADER_BYTES);
          if (!streamKeyId(header).equals(dataKey.id)) throw new DecryptionError('stream sealed under another data key');
          prefix = Buffer.from(header.subarray(1 + ID_BYTES));
          aad = Buffer.concat([header, bindingBytes(binding)]);
          const rest = all.subarray(STREAM_HEADER_BYTES);
          buffered = [rest];
          bufferedBytes = rest.length;
        }
        if (bufferedBytes > sealedChunk) {
          const all = Buffer.concat(buffered);
          let offset = 0;
          for (; all.length - offset > sealedChunk; offset += sealedChunk) this.push(openChunk(all.subarray(offset, offset + sealedChunk), false));
          buffered = [all.subarray(offset)];
          bufferedBytes = all.length - offset;
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!aad) throw new DecryptionError('stream header missing');
        this.push(openChunk(Buffer.concat(buffered), true));
        buffered = [];
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
