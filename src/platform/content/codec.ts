/**
 * The seam through which customer content is written and read. Records, documents and vault
 * secrets store the codec's output with its format number and tenant key version; readers
 * dispatch on the stored format, so plain rows from before encryption (format 0) stay readable
 * until a rewrap encrypts them.
 *
 * Plain rows are readable only in a tenant that had them when its keys were made, and only until
 * its first retirement; anywhere else a plain row is a forgery and fails like tampering.
 *
 * Format 1 is an encrypted value, format 2 an encrypted stream (see crypto/envelope.ts). The
 * binding names where content belongs (tenant, table, row, field) and is authenticated with it:
 * content moved elsewhere fails to open.
 */
import type { Transform } from 'node:stream';
import { DecryptionError, openStream, openValue, readValueHeader, sealStream, sealValue, STREAM_FORMAT, VALUE_FORMAT, WRAPPED_KEY_BYTES, type ContentBinding, type ValueHeader } from '../crypto/envelope.js';
import { keyError, type Keyring } from '../crypto/keyring.js';
import { RampartError } from '../errors.js';

export type { ContentBinding } from '../crypto/envelope.js';

export const PLAIN_FORMAT = 0;

export interface SealedValue {
  readonly stored: Buffer;
  readonly format: number;
  readonly keyVersion: number;
}

export interface SealedStream {
  readonly transform: Transform;
  readonly format: number;
  readonly keyVersion: number;
  /** The stream's data key, wrapped; stored in the row beside the object. */
  readonly contentKey: Buffer;
}

export interface StoredStream {
  readonly format: number;
  readonly keyVersion: number;
  readonly contentKey: Buffer | null;
}

/** A document's content key as stored: data key id (16) | wrapped data key (60). */
export function parseContentKey(keyVersion: number, contentKey: Buffer): ValueHeader {
  if (contentKey.length !== 16 + WRAPPED_KEY_BYTES) throw new DecryptionError('content key has the wrong length');
  return { version: keyVersion, dataKeyId: contentKey.subarray(0, 16), wrappedKey: contentKey.subarray(16) };
}

export class ContentCodec {
  constructor(private readonly keyring: Keyring) {}

  async seal(binding: ContentBinding, plaintext: Buffer): Promise<SealedValue> {
    const dataKey = await this.keyring.writeKey(binding.tenantId);
    return { stored: sealValue(dataKey, binding, plaintext), format: VALUE_FORMAT, keyVersion: dataKey.version };
  }

  private async plain(binding: ContentBinding): Promise<void> {
    if (!(await this.keyring.plainReadable(binding.tenantId))) {
      throw new RampartError('decryption_failed', { internal: `plain ${binding.table} row ${binding.rowId} in a tenant whose content is all encrypted` });
    }
  }

  async open(binding: ContentBinding, format: number, stored: Buffer): Promise<Buffer> {
    if (format === PLAIN_FORMAT) {
      await this.plain(binding);
      return stored;
    }
    if (format !== VALUE_FORMAT) throw new RampartError('decryption_failed', { internal: `unknown content format ${format}` });
    try {
      const header = readValueHeader(stored);
      return openValue(await this.keyring.readKey(binding.tenantId, header), binding, stored);
    } catch (err) {
      throw keyError(err, binding.tenantId);
    }
  }

  async sealStream(binding: ContentBinding): Promise<SealedStream> {
    const dataKey = await this.keyring.streamKey(binding.tenantId);
    return {
      transform: sealStream(dataKey, binding),
      format: STREAM_FORMAT,
      keyVersion: dataKey.version,
      contentKey: Buffer.concat([dataKey.id, dataKey.wrapped]),
    };
  }

  /** A decrypting transform for stored content, or null when it is stored plain. */
  async openStream(binding: ContentBinding, stored: StoredStream): Promise<Transform | null> {
    if (stored.format === PLAIN_FORMAT) {
      await this.plain(binding);
      return null;
    }
    if (stored.format !== STREAM_FORMAT || !stored.contentKey) {
      throw new RampartError('decryption_failed', { internal: `unknown stream format ${stored.format}` });
    }
    try {
      const header = parseContentKey(stored.keyVersion, stored.contentKey);
      const key = await this.keyring.readKey(binding.tenantId, header);
      return openStream({ id: header.dataKeyId, key, wrapped: header.wrappedKey, version: header.version }, binding);
    } catch (err) {
      throw keyError(err, binding.tenantId);
    }
  }

  /** Filter tokens (a blind index) for top-level field values, keyed per tenant. */
  filterTokens(tenantId: string, pairs: ReadonlyArray<readonly [string, string]>): Promise<string[]> {
    return this.keyring.filterTokens(tenantId, pairs);
  }
}
