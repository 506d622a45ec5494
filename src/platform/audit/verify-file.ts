/**
 * Verifies an exported JSON Lines file offline, with only the published public keys.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createHash, createPublicKey } from 'node:crypto';
import { ExportHeaderSchema, type ExportHeader } from './export.js';
import { keyIdOf } from './signer.js';
import { ChainVerifier, type ChainStart, type PublicKeyInfo, type VerifyReport } from './verify.js';

/**
 * Lines of a stream (LF or CRLF) as bytes: records are hashed from the bytes read, never decoded
 * to text and encoded again.
 */
async function* linesOf(input: Readable): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of input) {
    const bytes: Buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    const data = rest.length > 0 ? Buffer.concat([rest, bytes]) : bytes;
    let start = 0;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
      const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
      yield data.subarray(start, end);
      start = nl + 1;
    }
    rest = data.subarray(start);
  }
  if (rest.length > 0) yield rest;
}

const HASH_MEMBER = Buffer.from(',"hash":"');
/** `,"hash":"<64 hex>"}` */
const HASH_SUFFIX_LENGTH = HASH_MEMBER.length + 64 + 2;
/** Enough of a line's start for every check of its prefix (seq, prev, chain): all ASCII. */
const HEAD_BYTES = 256;

/** Where an exported line's hash member starts, and the hash it claims; or null. */
function lineParts(line: Buffer): { at: number; claimed: string } | null {
  const n = line.length;
  if (n < HASH_SUFFIX_LENGTH + 2 || line[n - 1] !== 0x7d || line[n - 2] !== 0x22) return null;
  const at = n - HASH_SUFFIX_LENGTH;
  if (!line.subarray(at, at + HASH_MEMBER.length).equals(HASH_MEMBER)) return null;
  return { at, claimed: line.toString('latin1', at + HASH_MEMBER.length, n - 2) };
}

function lineHashHex(line: Buffer, at: number): string {
  return createHash('sha256').update(line.subarray(0, at)).update('}').digest('hex');
}

export interface FileReport extends VerifyReport {
  /** False for a filtered export: each line was checked against its own hash only. */
  readonly complete: boolean;
}

/** Public keys from the JSON the API publishes (`{ keys: [...] }`) or from a PEM file. */
export function parsePublicKeys(text: string): PublicKeyInfo[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    const blocks = trimmed.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
    return blocks.map((pem) => {
      const jwk = createPublicKey(pem).export({ format: 'jwk' });
      if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 public key');
      const raw = Buffer.from(jwk.x, 'base64url');
      return { keyId: keyIdOf(raw), publicKey: raw.toString('base64') };
    });
  }
  const parsed = JSON.parse(trimmed) as { keys?: Array<{ publicKey?: unknown }> };
  const keys = Array.isArray(parsed.keys) ? parsed.keys : [];
  return keys.flatMap((k) => {
    if (typeof k.publicKey !== 'string') return [];
    const raw = Buffer.from(k.publicKey, 'base64');
    // The key id is recomputed, never taken from the file.
    return raw.length === 32 ? [{ keyId: keyIdOf(raw), publicKey: raw.toString('base64') }] : [];
  });
}

/**
 * What an export starts from: genesis; the pruning its header carries the statement of (a whole
 * chain that does not start at genesis must have been pruned, provably); or, for an export from a
 * time, the signed checkpoint before it.
 */
export function exportStart(header: ExportHeader): ChainStart {
  const { anchor, pruning } = header;
  if (anchor.seq === 0) return { kind: 'genesis' };
  if (pruning?.through === anchor.seq || header.filter.from === null) return { kind: 'pruned', seq: anchor.seq, statement: pruning?.through === anchor.seq ? pruning : null };
  return { kind: 'checkpoint', seq: anchor.seq, head: anchor.head };
}

function malformed(message: string): FileReport {
  return {
    ok: false,
    complete: true,
    chain: '',
    anchor: { seq: 0, kind: 'genesis', pruning: null },
    from: null,
    through: null,
    count: 0,
    head: '',
    checkpointsVerified: 0,
    signedThrough: 0,
    firstBad: { seq: 0, problem: 'malformed', message },
  };
}

export async function verifyExport(input: string | Readable, publicKeys: readonly PublicKeyInfo[]): Promise<FileReport> {
  const lines = linesOf(typeof input === 'string' ? createReadStream(input, { highWaterMark: 1 << 20 }) : input);
  let header: ExportHeader | null = null;
  let verifier: ChainVerifier | null = null;
  let partialCount = 0;
  let partialBad: FileReport['firstBad'] = null;
  for await (const bytes of lines) {
    if (bytes.length === 0) continue;
    if (header === null) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch {
        return malformed('the first line is not an export header');
      }
      const checked = ExportHeaderSchema.safeParse(parsed);
      if (!checked.success) return malformed('the first line is not an export header');
      header = checked.data;
      verifier = new ChainVerifier({ chain: header.chain, start: exportStart(header), checkpoints: header.checkpoints, publicKeys });
      continue;
    }
    const parts = lineParts(bytes);
    // The line's beginning as text: what the prefix checks read (ASCII, so bytes = characters).
    const head = bytes.toString('latin1', 0, Math.min(bytes.length, HEAD_BYTES));
    if (!header.complete) {
      // Not contiguous: each line against its own hash, nothing more.
      partialCount += 1;
      const seq = /^\{"seq":(\d{1,15}),/.exec(head)?.[1];
      if (!parts || seq === undefined || lineHashHex(bytes, parts.at) !== parts.claimed) {
        partialBad ??= { seq: seq === undefined ? 0 : Number(seq), problem: 'hash_mismatch', message: `line ${partialCount + 1}: the event's bytes no longer hash to its recorded hash` };
      }
      continue;
    }
    if (!parts) {
      verifier?.push(head, '');
      break;
    }
    if (!verifier?.push(head, parts.claimed, lineHashHex(bytes, parts.at))) break;
  }
  if (header === null || verifier === null) return malformed('the file is empty');
  if (!header.complete) {
    return {
      ok: partialBad === null,
      complete: false,
      chain: header.chain,
      anchor: { seq: header.anchor.seq, kind: 'checkpoint', pruning: null },
      from: null,
      through: null,
      count: partialCount,
      head: '',
      checkpointsVerified: 0,
      signedThrough: 0,
      firstBad: partialBad,
    };
  }
  const report = verifier.finish();
  if (report.ok && (report.through ?? header.anchor.seq) < header.through) {
    return { ...report, complete: true, ok: false, firstBad: { seq: (report.through ?? header.anchor.seq) + 1, problem: 'truncated', message: `the export says it runs through seq ${header.through}` } };
  }
  return { ...report, complete: true };
}

