/**
 * Verifies an exported JSON Lines file offline, with only the published public keys, and says
 * exactly what that proves: which events a valid signature covers, which come after the last one
 * (linked, unsigned), and whether the export is complete. A file that proves less than it seems
 * to — events no checkpoint signs, a filtered export — is refused unless the caller accepts that
 * (`accepted`), and the report says what was not proven.
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

export interface SeqRange {
  readonly from: number;
  readonly through: number;
  readonly count: number;
}

/** Something the file does not prove, and the flag that accepts it unproven. */
export type Unproven = 'unsigned_tail' | 'incomplete';

export interface FileReport extends VerifyReport {
  /** What the header says: false for a filtered export, whose lines are not contiguous. */
  readonly complete: boolean;
  /** The events a valid signature covers: each links, through the ones after it, to a signed checkpoint. */
  readonly signed: SeqRange | null;
  /** The events after the last valid checkpoint: linked to the signed ones, but signed by nothing. */
  readonly unsigned: SeqRange | null;
  /** What this verification did not prove, in words; each is refused unless accepted by its flag. */
  readonly unproven: ReadonlyArray<{ readonly reason: Unproven; readonly message: string }>;
}

/** Whether the file counts as verified: nothing wrong found, and all it did not prove accepted unproven. */
export function accepted(report: FileReport, allow: ReadonlySet<Unproven>): boolean {
  return report.ok && report.unproven.every((u) => allow.has(u.reason));
}

const seqRange = (from: number, through: number): SeqRange => ({ from, through, count: through - from + 1 });
const described = (r: SeqRange) => `seq ${r.from}–${r.through} (${r.count} event${r.count === 1 ? '' : 's'})`;

/** What a verification of the file's lines proves, and what it does not. */
function proofOf(report: VerifyReport, complete: boolean): Pick<FileReport, 'complete' | 'signed' | 'unsigned' | 'unproven'> {
  if (!complete) {
    return {
      complete,
      signed: null,
      unsigned: null,
      unproven: [
        {
          reason: 'incomplete',
          message:
            `this export is marked incomplete (a filtered export): its ${report.count} lines were each checked against its own hash, ` +
            'consecutive ones against each other and any at a checkpoint against it, but nothing proves the others are the events the chain holds, or that none is missing',
        },
      ],
    };
  }
  const { from, through } = report;
  if (from === null || through === null) return { complete, signed: null, unsigned: null, unproven: [] };
  const signed = report.signedThrough >= from ? seqRange(from, Math.min(report.signedThrough, through)) : null;
  const unsigned = (signed?.through ?? from - 1) < through ? seqRange((signed?.through ?? from - 1) + 1, through) : null;
  if (!unsigned) return { complete, signed, unsigned, unproven: [] };
  const message = signed
    ? `${described(unsigned)} come after the last valid checkpoint (seq ${signed.through}): they link to the signed events, but nothing signs them, so they may have been changed, added or cut`
    : `none of the ${unsigned.count} events (seq ${unsigned.from}–${unsigned.through}) is signed by a valid checkpoint: the file proves nothing about them`;
  return { complete, signed, unsigned, unproven: [{ reason: 'unsigned_tail', message }] };
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
    signed: null,
    unsigned: null,
    unproven: [],
  };
}

export async function verifyExport(input: string | Readable, publicKeys: readonly PublicKeyInfo[]): Promise<FileReport> {
  const lines = linesOf(typeof input === 'string' ? createReadStream(input, { highWaterMark: 1 << 20 }) : input);
  let header: ExportHeader | null = null;
  let verifier: ChainVerifier | null = null;
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
      verifier = new ChainVerifier({ chain: header.chain, start: exportStart(header), checkpoints: header.checkpoints, publicKeys, contiguous: header.complete });
      continue;
    }
    const parts = lineParts(bytes);
    // The line's beginning as text: what the prefix checks read (ASCII, so bytes = characters).
    const head = bytes.toString('latin1', 0, Math.min(bytes.length, HEAD_BYTES));
    if (!parts) {
      verifier?.push(head, '');
      break;
    }
    if (!verifier?.push(head, parts.claimed, lineHashHex(bytes, parts.at))) break;
  }
  if (header === null || verifier === null) return malformed('the file is empty');
  const verified = verifier.finish();
  // A filtered export's checkpoints sign the lines at their own places, not everything before them.
  const report = header.complete ? verified : { ...verified, signedThrough: 0 };
  const result: FileReport = { ...report, ...proofOf(report, header.complete) };
  if (header.complete && report.ok && (report.through ?? header.anchor.seq) < header.through) {
    return { ...result, ok: false, firstBad: { seq: (report.through ?? header.anchor.seq) + 1, problem: 'truncated', message: `the export says it runs through seq ${header.through}` } };
  }
  return result;
}
