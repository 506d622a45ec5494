import { RampartError } from '../../platform/errors.js';

/**
 * A document's name is metadata shown to people and offered as the download's filename; it never
 * becomes a storage path. Still, names that are paths, carry control characters or reorder text
 * (bidirectional overrides, used to disguise extensions) are refused outright.
 */
export function documentName(raw: string | undefined): string {
  const name = (raw ?? '').normalize('NFC');
  const problem =
    name.trim().length === 0
      ? 'is empty'
      : Buffer.byteLength(name, 'utf8') > 255
        ? 'is longer than 255 bytes'
        : name === '.' || name === '..'
          ? 'is a relative path'
          : /[/\\]/.test(name)
            ? 'contains a path separator'
            : /[\u0000-\u001f\u007f-\u009f]/.test(name)
              ? 'contains a control character'
              : /[\u202a-\u202e\u2066-\u2069\u200e\u200f]/.test(name)
                ? 'contains a bidirectional control character'
                : null;
  if (problem) throw new RampartError('invalid_document_name', { message: `The document name ${problem}.` });
  return name;
}

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** The declared media type if well-formed, else application/octet-stream. Parameters are dropped. */
export function mediaType(raw: string | undefined): string {
  const type = (raw ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return MEDIA_TYPE.test(type) ? type : 'application/octet-stream';
}
