/**
 * Verifies a chain from its records alone — a live database or an exported file — with nothing
 * but the published checkpoint keys. Pure: no database, no clock. It names the first bad
 * sequence number: an edited record (its bytes no longer hash to what it or its successor says),
 * a missing one (a gap), one out of order, or a tail cut off before a signed checkpoint.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { GENESIS_HASH, hashRecordHex, recordPrefix } from './record.js';

export interface Checkpoint {
  readonly chain: string;
  readonly seq: number;
  /** Hex SHA-256 of the record at `seq` (zeros for seq 0). */
  readonly head: string;
  readonly signedAt: string;
  readonly keyId: string;
  /** Base64 Ed25519 signature over `checkpointMessage`. */
  readonly signature: string;
}

export interface PublicKeyInfo {
  readonly keyId: string;
  /** Base64 of the raw 32-byte Ed25519 public key. */
  readonly publicKey: string;
}

export function checkpointMessage(c: Pick<Checkpoint, 'chain' | 'seq' | 'head' | 'signedAt'>): Buffer {
  return Buffer.from(`rampart-audit-checkpoint:v1\n${c.chain}\n${c.seq}\n${c.head}\n${c.signedAt}`, 'utf8');
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function ed25519PublicKey(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Whether a checkpoint is signed by one of the keys. Anything malformed is simply not valid. */
export function checkpointSignatureValid(c: Checkpoint, keys: readonly PublicKeyInfo[]): boolean {
  const key = keys.find((k) => k.keyId === c.keyId);
  if (!key) return false;
  try {
    const raw = Buffer.from(key.publicKey, 'base64');
    const sig = Buffer.from(c.signature, 'base64');
    if (raw.length !== 32 || sig.length !== 64 || !/^[0-9a-f]{64}$/.test(c.head)) return false;
    return verifySignature(null, checkpointMessage(c), ed25519PublicKey(raw), sig);
  } catch {
    return false;
  }
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
  | 'columns_mismatch';

export interface VerifyReport {
  readonly ok: boolean;
  readonly chain: string;
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
  /** The hash the first record must link to: genesis, or a signed checkpoint when pruned or exported from one. */
  readonly anchor?: { readonly seq: number; readonly head: Buffer };
  readonly checkpoints?: readonly Checkpoint[];
  readonly publicKeys?: readonly PublicKeyInfo[];
}

export class ChainVerifier {
  private expectedSeq: number;
  private prevHex: string;
  private readonly chainMember: string;
  private readonly pending = new Map<number, Checkpoint>();
  private lastCheckpointSeq = 0;
  private verified = 0;
  private signedThrough = 0;
  private first: number | null = null;
  private count = 0;
  private bad: VerifyReport['firstBad'] = null;

  constructor(private readonly options: ChainVerifierOptions) {
    const anchor = options.anchor ?? { seq: 0, head: GENESIS_HASH };
    this.expectedSeq = anchor.seq + 1;
    this.prevHex = anchor.head.toString('hex');
    this.chainMember = `"v":1,"chain":${JSON.stringify(options.chain)},`;
    // A chain that does not start at genesis starts at a signed checkpoint, or proves nothing.
    let anchored = anchor.seq === 0;
    for (const c of options.checkpoints ?? []) {
      if (c.chain !== options.chain || !checkpointSignatureValid(c, options.publicKeys ?? [])) {
        this.fail(c.seq, 'checkpoint_signature_invalid', `the checkpoint at seq ${c.seq} is not signed by a published key of this chain`);
        continue;
      }
      if (c.seq < anchor.seq) continue;
      if (c.seq === anchor.seq) {
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
    if (!anchored) this.fail(anchor.seq, 'not_anchored', `the chain starts after seq ${anchor.seq}, and no valid checkpoint signs that point`);
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
      const m = /^\{"seq":(\d{1,15}),"prev":"([0-9a-f]{64})",/.exec(record);
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
    if (!this.bad && this.lastCheckpointSeq > last) {
      this.fail(last + 1, 'truncated', `events from seq ${last + 1} are missing: a checkpoint signs the chain through seq ${this.lastCheckpointSeq}`);
    }
    return {
      ok: this.bad === null,
      chain: this.options.chain,
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
