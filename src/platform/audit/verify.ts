/**
 * Verifies a chain from its records alone — a live database or an exported file — with nothing
 * but the published keys. Pure: no database, no clock. It names the first bad sequence number:
 * an edited record (its bytes no longer hash to what it or its successor says), a missing one (a
 * gap), one out of order, a tail cut off before a signed checkpoint, or a start that nothing
 * signed proves (events deleted from the front and passed off as pruned).
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { GENESIS_HASH, hashRecordHex, recordPrefix } from './record.js';

const DAY_MS = 86_400_000;
const Hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const KeyId = z.string().regex(/^[0-9a-f]{16}$/);
const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A signed statement of a chain's head: `(chain, seq, head, signedAt)`, Ed25519. */
export const CheckpointSchema = z.object({
  chain: z.string().max(64),
  seq: Seq,
  /** Hex SHA-256 of the record at `seq` (zeros for seq 0). */
  head: Hex32,
  signedAt: z.string().max(64),
  keyId: KeyId,
  /** Base64 Ed25519 signature over `checkpointMessage`. */
  signature: z.string().max(200),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/**
 * A signed statement that a chain's events through `through` were removed at `prunedAt` under a
 * retention of `retentionDays`, stopping at the checkpoint signed at `checkpointSignedAt` (whose
 * head `head` the remaining chain links to). It proves the pruning only if that checkpoint was
 * older than the retention period when it happened: every event it covers was chained before it
 * was signed.
 */
export const PruningSchema = z.object({
  chain: z.string().max(64),
  through: Seq.min(1),
  head: Hex32,
  checkpointSignedAt: z.string().max(64),
  prunedAt: z.string().max(64),
  retentionDays: z.number().int().min(1).max(36_500),
  keyId: KeyId,
  signature: z.string().max(200),
});
export type PruningStatement = z.infer<typeof PruningSchema>;

export interface PublicKeyInfo {
  readonly keyId: string;
  /** Base64 of the raw 32-byte Ed25519 public key. */
  readonly publicKey: string;
}

export function checkpointMessage(c: Pick<Checkpoint, 'chain' | 'seq' | 'head' | 'signedAt'>): Buffer {
  return Buffer.from(`rampart-audit-checkpoint:v1\n${c.chain}\n${c.seq}\n${c.head}\n${c.signedAt}`, 'utf8');
}

export function pruningMessage(p: Omit<PruningStatement, 'keyId' | 'signature'>): Buffer {
  return Buffer.from(`rampart-audit-pruning:v1\n${p.chain}\n${p.through}\n${p.head}\n${p.checkpointSignedAt}\n${p.prunedAt}\n${p.retentionDays}`, 'utf8');
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function ed25519PublicKey(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Whether `signature` over `message` is by the key `keyId` among `keys`. Anything malformed is simply not valid. */
function signedBy(message: Buffer, keyId: string, signature: string, keys: readonly PublicKeyInfo[]): boolean {
  const key = keys.find((k) => k.keyId === keyId);
  if (!key) return false;
  try {
    const raw = Buffer.from(key.publicKey, 'base64');
    const sig = Buffer.from(signature, 'base64');
    if (raw.length !== 32 || sig.length !== 64) return false;
    return verifySignature(null, message, ed25519PublicKey(raw), sig);
  } catch {
    return false;
  }
}

/** Whether a checkpoint is signed by one of the keys. */
export function checkpointSignatureValid(c: Checkpoint, keys: readonly PublicKeyInfo[]): boolean {
  return /^[0-9a-f]{64}$/.test(c.head) && signedBy(checkpointMessage(c), c.keyId, c.signature, keys);
}

/** Why a pruning statement does not prove that the chain's events through `seq` were pruned; null when it does. */
export function pruningProblem(p: PruningStatement, chain: string, seq: number, keys: readonly PublicKeyInfo[]): string | null {
  if (p.chain !== chain || p.through !== seq) return `the signed pruning statement is for ${p.chain} through seq ${p.through}`;
  if (!signedBy(pruningMessage(p), p.keyId, p.signature, keys)) return 'the pruning statement is not signed by a published key';
  const signed = Date.parse(p.checkpointSignedAt);
  const at = Date.parse(p.prunedAt);
  if (!(signed + p.retentionDays * DAY_MS <= at)) {
    return `the checkpoint it stopped at (signed ${p.checkpointSignedAt}) was younger than the retention of ${p.retentionDays} days when it pruned (${p.prunedAt})`;
  }
  return null;
}

export type Problem =
  | 'hash_mismatch'
  | 'link_broken'
  | 'missing'
  | 'out_of_order'
  | 'wrong_chain'
  | 'malformed'
  | 'checkpoint_signature_invalid'
  | 'checkpoint_mismatch'
  | 'truncated'
  | 'not_anchored'
  | 'pruning_unproven'
  | 'rewritten'
  | 'columns_mismatch';

/**
 * Where the records checked begin: at genesis; after a pruning, which a signed statement must
 * prove; or at a signed checkpoint (a range that starts there on purpose: an export from a time,
 * or the server checking what it is about to sign).
 */
export type ChainStart =
  | { readonly kind: 'genesis' }
  | { readonly kind: 'pruned'; readonly seq: number; readonly statement: PruningStatement | null }
  | { readonly kind: 'checkpoint'; readonly seq: number; readonly head: string };

export interface VerifyReport {
  readonly ok: boolean;
  readonly chain: string;
  /** What the first record checked links to, and what proves that point. */
  readonly anchor: {
    readonly seq: number;
    readonly kind: ChainStart['kind'];
    /** For a pruned chain: when, under what retention, stopping at a checkpoint signed when. */
    readonly pruning: Pick<PruningStatement, 'prunedAt' | 'retentionDays' | 'checkpointSignedAt'> | null;
  };
  /** Sequence numbers checked (first and last), and how many records. */
  readonly from: number | null;
  readonly through: number | null;
  readonly count: number;
  /** Hex hash of the last record checked. */
  readonly head: string;
  readonly checkpointsVerified: number;
  /** The highest sequence number a verified checkpoint signs (0: none). Events after it are linked, not signed. */
  readonly signedThrough: number;
  /** The first problem found: where, what, in words. */
  readonly firstBad: { readonly seq: number; readonly problem: Problem; readonly message: string } | null;
}

export interface ChainVerifierOptions {
  readonly chain: string;
  /** What the first record links to (genesis by default). */
  readonly start?: ChainStart;
  readonly checkpoints?: readonly Checkpoint[];
  readonly publicKeys?: readonly PublicKeyInfo[];
  /**
   * False for a filtered export: records may skip sequence numbers. Each is still checked against
   * its own hash, a record that directly follows the previous one against its hash, a record at
   * a checkpoint against the checkpoint; what a gap hides is not (nor is a tail cut).
   */
  readonly contiguous?: boolean;
}

const SEQ_PREV = /^\{"seq":(\d{1,15}),"prev":"([0-9a-f]{64})",/;

export class ChainVerifier {
  private expectedSeq: number;
  private prevHex: string;
  private readonly chainMember: string;
  private readonly pending = new Map<number, Checkpoint>();
  private readonly anchor: VerifyReport['anchor'];
  private lastCheckpointSeq = 0;
  private verified = 0;
  private signedThrough = 0;
  private first: number | null = null;
  private count = 0;
  private bad: VerifyReport['firstBad'] = null;

  constructor(private readonly options: ChainVerifierOptions) {
    const start = options.start ?? { kind: 'genesis' };
    const keys = options.publicKeys ?? [];
    let seq = 0;
    let head = GENESIS_HASH.toString('hex');
    let pruning: VerifyReport['anchor']['pruning'] = null;
    // Genesis needs no proof; a pruning needs its signed statement; a checkpoint start, the checkpoint.
    let anchored = true;
    if (start.kind === 'pruned') {
      seq = start.seq;
      const s = start.statement;
      const problem = s ? pruningProblem(s, options.chain, seq, keys) : 'no signed statement says they were pruned';
      if (s && !problem) {
        head = s.head;
        pruning = { prunedAt: s.prunedAt, retentionDays: s.retentionDays, checkpointSignedAt: s.checkpointSignedAt };
        this.signedThrough = seq;
      } else {
        this.fail(seq, 'pruning_unproven', `events through seq ${seq} are gone, and ${problem}`);
      }
    } else if (start.kind === 'checkpoint') {
      seq = start.seq;
      head = start.head;
      anchored = seq === 0;
    }
    this.anchor = { seq, kind: start.kind, pruning };
    this.expectedSeq = seq + 1;
    this.prevHex = head;
    this.chainMember = `"v":1,"chain":${JSON.stringify(options.chain)},`;
    for (const c of options.checkpoints ?? []) {
      if (c.chain !== options.chain || !checkpointSignatureValid(c, keys)) {
        this.fail(c.seq, 'checkpoint_signature_invalid', `the checkpoint at seq ${c.seq} is not signed by a published key of this chain`);
        continue;
      }
      if (c.seq < seq) continue;
      if (c.seq === seq) {
        if (c.head !== this.prevHex) this.fail(c.seq, 'checkpoint_mismatch', `the anchor at seq ${c.seq} differs from the signed checkpoint`);
        else {
          this.verified += 1;
          this.signedThrough = c.seq;
          anchored = true;
        }
        continue;
      }
      this.pending.set(c.seq, c);
      this.lastCheckpointSeq = Math.max(this.lastCheckpointSeq, c.seq);
    }
    if (!anchored) this.fail(seq, 'not_anchored', `the chain starts after seq ${seq}, and no valid checkpoint signs that point`);
  }

  get failed(): boolean {
    return this.bad !== null;
  }

  private fail(seq: number, problem: Problem, message: string): void {
    this.bad ??= { seq, problem, message };
  }

  /**
   * Checks the next record. `claimed` is the hash it is stored or exported with (hex or bytes),
   * when there is one. Returns false once anything is wrong (later records are not checked).
   * With `hashHex`, `record` may be anything that begins as the record does (its export line).
   */
  push(record: string, claimed?: Buffer | string | null, hashHex?: string): boolean {
    if (this.bad) return false;
    if (this.options.contiguous === false) {
      // A gap the filter left: this record links to what it names, which nothing here can check.
      const m = SEQ_PREV.exec(record);
      if (m && Number(m[1]) > this.expectedSeq) {
        this.expectedSeq = Number(m[1]);
        this.prevHex = m[2] as string;
      }
    }
    const seq = this.expectedSeq;
    // A caller that hashed the record itself (an export line, hashed in place) passes the hash;
    // only the record's beginning is read here then.
    const hex = hashHex ?? hashRecordHex(record);
    if (claimed !== undefined && claimed !== null) {
      const same = typeof claimed === 'string' ? claimed === hex : claimed.toString('hex') === hex;
      if (!same) {
        this.fail(seq, 'hash_mismatch', `seq ${seq}: the event's bytes no longer hash to its recorded hash`);
        return false;
      }
    }
    const prefix = recordPrefix(seq, this.prevHex);
    if (!record.startsWith(prefix)) {
      const m = SEQ_PREV.exec(record);
      if (!m) this.fail(seq, 'malformed', `seq ${seq}: the record is not in the chain's format`);
      else if (Number(m[1]) > seq) this.fail(seq, 'missing', `seq ${seq} is missing: the next record is seq ${m[1]}`);
      else if (Number(m[1]) < seq) this.fail(seq, 'out_of_order', `seq ${seq}: found seq ${m[1]} in its place (reordered or repeated)`);
      else this.fail(seq - 1, 'link_broken', `seq ${seq - 1} no longer hashes to the link seq ${seq} records`);
      return false;
    }
    if (!record.startsWith(this.chainMember, prefix.length)) {
      this.fail(seq, 'wrong_chain', `seq ${seq} belongs to another chain`);
      return false;
    }
    const cp = this.pending.get(seq);
    if (cp) {
      if (cp.head !== hex) {
        this.fail(seq, 'checkpoint_mismatch', `seq ${seq} differs from what the checkpoint signed at ${cp.signedAt}`);
        return false;
      }
      this.verified += 1;
      this.signedThrough = seq;
      this.pending.delete(seq);
    }
    this.first ??= seq;
    this.count += 1;
    this.prevHex = hex;
    this.expectedSeq = seq + 1;
    return true;
  }

  finish(): VerifyReport {
    const last = this.expectedSeq - 1;
    if (!this.bad && this.lastCheckpointSeq > last && this.options.contiguous !== false) {
      this.fail(last + 1, 'truncated', `events from seq ${last + 1} are missing: a checkpoint signs the chain through seq ${this.lastCheckpointSeq}`);
    }
    return {
      ok: this.bad === null,
      chain: this.options.chain,
      anchor: this.anchor,
      from: this.first,
      through: this.count > 0 ? last : null,
      count: this.count,
      head: this.prevHex,
      checkpointsVerified: this.verified,
      signedThrough: this.signedThrough,
      firstBad: this.bad,
    };
  }
}
