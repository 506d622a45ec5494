/**
 * The seam through which customer content is written and read. Records and documents store the
 * codec's output together with its format number; readers dispatch on the stored format, so a
 * new format (encryption under per-tenant keys) can be introduced without changing the API or
 * rewriting old rows first. Format 0 is plain content.
 *
 * The binding names where a piece of content belongs (tenant, table, row, field); an encrypting
 * codec binds it as additional authenticated data so content moved elsewhere fails to open.
 */
import type { Transform } from 'node:stream';
import { RampartError } from '../errors.js';
import { sha256 } from '../ids.js';

export interface ContentBinding {
  readonly tenantId: string;
  readonly table: 'records' | 'documents';
  readonly rowId: string;
  readonly field: string;
}

export interface ContentCodec {
  /** The format new content is written in. */
  readonly writeFormat: number;
  seal(binding: ContentBinding, plaintext: Buffer): Promise<Buffer>;
  open(binding: ContentBinding, format: number, stored: Buffer): Promise<Buffer>;
  /** A transform for streamed content (documents), or null when content is stored as is. */
  sealStream(binding: ContentBinding): Transform | null;
  openStream(binding: ContentBinding, format: number): Transform | null;
  /**
   * The token that lets a record be found by one top-level field's value without reading its
   * body. Deterministic per tenant and field; never the value itself.
   */
  filterToken(tenantId: string, field: string, canonicalValue: string): string;
}

export const PLAIN_FORMAT = 0;

function unsupported(format: number): RampartError {
  return new RampartError('internal_error', { internal: `content format ${format} is not supported by this codec` });
}

/** Format 0: content stored as given. */
export const plainCodec: ContentCodec = {
  writeFormat: PLAIN_FORMAT,
  seal: (_binding, plaintext) => Promise.resolve(plaintext),
  open: (_binding, format, stored) => (format === PLAIN_FORMAT ? Promise.resolve(stored) : Promise.reject(unsupported(format))),
  sealStream: () => null,
  openStream: (_binding, format) => {
    if (format !== PLAIN_FORMAT) throw unsupported(format);
    return null;
  },
  filterToken: (tenantId, field, canonicalValue) =>
    sha256(`${tenantId}\u0000${field}\u0000${canonicalValue}`).subarray(0, 16).toString('base64url'),
};
