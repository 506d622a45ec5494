/**
 * P3 — encryption: the cost of Rampart's envelope encryption, in three parts.
 *
 * 1. Values (this file). One operation = seal a value, then open it again, with warm key caches,
 *    on 128 B, 4 KiB and 1 MiB plaintexts, in this process:
 *      Rampart   ContentCodec.seal(binding, plaintext) then ContentCodec.open(binding, …) through a
 *                Keyring opened from the default configuration (local root key, key cache 300 s,
 *                100,000 values per data key) over an embedded PGlite database;
 *      bare      node:crypto AES-256-GCM under one key: a fresh random 12-byte nonce, additional
 *                data of the same length as Rampart's (header + binding), nonce | ciphertext | tag;
 *      peer      @aws-crypto/client-node (the AWS Encryption SDK) encrypt then decrypt with a
 *                RawAesKeyringNode (AES256_GCM_IV12_TAG16_NO_PADDING wrapping), the client built
 *                with REQUIRE_ENCRYPT_REQUIRE_DECRYPT and its default algorithm suite, the binding
 *                as its encryption context (checked after decrypting). Its default caches nothing:
 *                every message makes and wraps a data key and signs. Two more peer rows, labelled,
 *                put its caching materials manager in front (data keys reused, as Rampart does),
 *                with the default suite and with the committing suite that does not sign.
 *    Per size, after a warmup of every side, Rampart and bare alternate in rounds of a fixed
 *    length (who goes first alternates), then the three AWS sides do among themselves (the side
 *    after an AWS side would pay for collecting its garbage); each side's figure is its median
 *    round. Every round checks one round trip byte for byte.
 * 2. Rewrap (p3-rewrap.ts): rows per second moving 100,000 records to a new tenant key version.
 * 3. Peak RSS streaming a 1 GiB document in and out (p3-document-rss.ts), in child processes.
 *
 * The timing is fixed (BENCH_SECONDS and BENCH_ROUNDS do not apply). BENCH_P3_RECORDS and
 * BENCH_P3_DOCUMENT_MIB shrink parts 2 and 3 for a quick look; the goals are judged at full size.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  NodeCachingMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  type KeyringNode,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import { VALUE_OVERHEAD } from '../src/platform/crypto/envelope.js';
import type { ContentBinding } from '../src/platform/content/codec.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { runDocumentRss, type DocumentRssResult } from './p3-document-rss.js';
import { openKeys, removeTempDir, tempDir } from './p3-keys.js';
import { runRewrap, type RewrapPartResult } from './p3-rewrap.js';
import { measure, type Measure } from './report.js';
import { median, progress, rotate, type BenchSettings } from './util.js';

export const SIZES = [
  { bytes: 128, label: '128 B' },
  { bytes: 4096, label: '4 KiB' },
  { bytes: 1024 * 1024, label: '1 MiB' },
] as const;
const ROUND_MS = 400;
const WARMUP_MS = 300;
const ROUNDS = 7;
/** The peer takes ~50 ms per 1 MiB message: a round runs at least this many operations. */
const MIN_OPS_PER_ROUND = 3;
const GOAL_VS_BARE = 0.8;
const GOAL_VS_PEER = 5;

type SideKey = 'rampart' | 'bare' | 'aws' | 'aws-cached' | 'aws-cached-nosig';

interface Side {
  readonly key: SideKey;
  readonly label: string;
  readonly how: string;
  /** One operation: seal and open `plaintext`; resolves with what came back out. */
  readonly op: (plaintext: Buffer) => Buffer | Promise<Buffer>;
  /** Whether `op` returns synchronously (its loop then runs without awaiting). */
  readonly sync: boolean;
}

export interface P3CryptoSide {
  readonly key: SideKey;
  readonly label: string;
  readonly how: string;
  /** Per size (SIZES order): median ops/s and every round's ops/s. */
  readonly sizes: ReadonlyArray<{ readonly bytes: number; readonly opsPerSecond: number; readonly rounds: readonly number[] }>;
}

export interface P3CryptoResult {
  readonly timing: { readonly roundMs: number; readonly warmupMs: number; readonly rounds: number };
  readonly peer: { readonly version: string; readonly defaultSuite: string; readonly noSignatureSuite: string };
  readonly aadBytes: number;
  readonly sides: readonly P3CryptoSide[];
  readonly checks: readonly string[];
  readonly invalid: readonly string[];
}

export interface P3Result {
  readonly crypto: P3CryptoResult;
  readonly rewrap: RewrapPartResult | null;
  readonly rewrapError?: string;
  readonly document: DocumentRssResult | null;
  readonly documentError?: string;
  readonly measures: readonly Measure[];
}

function bindingLength(b: ContentBinding): number {
  // crypto/envelope.ts bindingBytes(): the label and the four parts, NUL-separated.
  return Buffer.byteLength(`rampart/content/v1\u0000${b.tenantId}\u0000${b.table}\u0000${b.rowId}\u0000${b.field}`, 'utf8');
}

function bareSide(aadBytes: number): Side {
  const key = randomBytes(32);
  const aad = randomBytes(aadBytes);
  return {
    key: 'bare',
    label: 'bare node:crypto',
    how: `createCipheriv/createDecipheriv aes-256-gcm, one key, fresh random 12-byte nonce, ${aadBytes} bytes of additional data (as Rampart's), nonce | ciphertext | tag`,
    sync: true,
    op(plaintext) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(aad);
      const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
    },
  };
}

function peerVersion(): string {
  try {
    return (createRequire(import.meta.url)('@aws-crypto/client-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function peerSides(binding: ContentBinding): { sides: Side[]; defaultSuite: () => string } {
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const keyring = new RawAesKeyringNode({
    keyNamespace: 'rampart-bench',
    keyName: 'p3',
    unencryptedMasterKey: randomBytes(32),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const cached = (): NodeCachingMaterialsManager =>
    new NodeCachingMaterialsManager({
      backingMaterials: keyring,
      cache: getLocalCryptographicMaterialsCache(1000),
      // The same limits as Rampart's defaults: 300 s, 100,000 messages per data key.
      maxAge: 300_000,
      maxMessagesEncrypted: 100_000,
    });
  const context = { tenant: binding.tenantId, table: binding.table, row: binding.rowId, field: binding.field };
  let seenSuite = 'unknown';
  const op =
    (materials: KeyringNode | NodeMaterialsManager, suiteId?: AlgorithmSuiteIdentifier) =>
    async (plaintext: Buffer): Promise<Buffer> => {
      const { result } = await encrypt(materials, plaintext, { encryptionContext: context, ...(suiteId !== undefined ? { suiteId } : {}) });
      const opened = await decrypt(materials, result);
      if (opened.messageHeader.encryptionContext['row'] !== context.row) throw new Error('the peer returned another encryption context');
      if (suiteId === undefined) seenSuite = AlgorithmSuiteIdentifier[opened.messageHeader.suiteId] ?? String(opened.messageHeader.suiteId);
      return opened.plaintext;
    };
  const noSig = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
  return {
    defaultSuite: () => seenSuite,
    sides: [
      {
        key: 'aws',
        label: 'AWS Encryption SDK',
        how: 'encrypt/decrypt, RawAesKeyringNode, default suite, no cache (its default: a new data key, wrapped, and a signature per message)',
        sync: false,
        op: op(keyring),
      },
      {
        key: 'aws-cached',
        label: 'AWS ESDK + caching CMM',
        how: 'the same behind NodeCachingMaterialsManager + getLocalCryptographicMaterialsCache (maxAge 300 s, 100,000 messages), default suite',
        sync: false,
        op: op(cached()),
      },
      {
        key: 'aws-cached-nosig',
        label: 'AWS ESDK + caching CMM, no signature',
        how: `the same cached, with the committing suite that does not sign (${AlgorithmSuiteIdentifier[noSig]})`,
        sync: false,
        op: op(cached(), noSig),
      },
    ],
  };
}

/** Runs the side for at least `ms` (and MIN_OPS_PER_ROUND operations); ops/s and whether the first round trip matched. */
async function timedRound(side: Side, plaintext: Buffer, ms: number): Promise<{ opsPerSecond: number; matched: boolean }> {
  const first = await side.op(plaintext);
  const matched = first.equals(plaintext);
  let n = 0;
  const start = performance.now();
  let elapsed: number;
  if (side.sync) {
    const op = side.op as (p: Buffer) => Buffer;
    do {
      op(plaintext);
      n++;
      elapsed = performance.now() - start;
    } while (elapsed < ms || n < MIN_OPS_PER_ROUND);
  } else {
    do {
      await side.op(plaintext);
      n++;
      elapsed = performance.now() - start;
    } while (elapsed < ms || n < MIN_OPS_PER_ROUND);
  }
  return { opsPerSecond: (n * 1000) / elapsed, matched };
}

async function runValues(): Promise<P3CryptoResult> {
  const dir = tempDir();
  const db = await PgliteDatabase.open({});
  try {
    await db.migrate();
    const { keyring, codec } = await openKeys(db, `${dir}/data`);
    try {
      // No workspace row: tenant_keys, tenant_keyrings and key_schedule do not reference workspaces.
      const binding: ContentBinding = { tenantId: randomUUID(), table: 'records', rowId: randomUUID(), field: 'body' };
      const aadBytes = VALUE_OVERHEAD - 16 + bindingLength(binding);
      const peer = peerSides(binding);
      const sides: Side[] = [
        {
          key: 'rampart',
          label: 'Rampart',
          how: 'ContentCodec.seal(binding, plaintext) then .open(binding, format, stored): Keyring over PGlite, warm caches, default limits',
          sync: false,
          op: async (plaintext) => {
            const sealed = await codec.seal(binding, plaintext);
            return codec.open(binding, sealed.format, sealed.stored);
          },
        },
        bareSide(aadBytes),
        ...peer.sides,
      ];
      const checks: string[] = [];
      const invalid: string[] = [];
      // The first seal creates the tenant's keyring (rows in tenant_keys, no workspace needed); the caches are warm from here on.
      const probe = await codec.seal(binding, Buffer.from('probe'));
      const stored = await keyring.status(binding.tenantId);
      checks.push(
        `a tenant with no workspace row gets its keys at its first seal (tenant key version ${stored.currentVersion}); each sealed value is ${probe.stored.length - 5} bytes longer than its plaintext (Rampart) vs 28 (bare)`,
      );
      const rounds = new Map<string, number[]>();
      const mismatches = new Map<string, number>();
      for (const size of SIZES) {
        const plaintext = randomBytes(size.bytes);
        progress(`P3 values ${size.label}: warmup ${WARMUP_MS} ms per side`);
        for (const side of sides) await timedRound(side, plaintext, WARMUP_MS);
        // Rampart and bare alternate first (who goes first alternates too), then the AWS sides
        // among themselves: the AWS sides allocate far more per operation, and the side after
        // them would pay for collecting their garbage.
        for (const group of [sides.slice(0, 2), sides.slice(2)]) {
          for (let r = 0; r < ROUNDS; r++) {
            for (const side of rotate(group, r)) {
              const { opsPerSecond, matched } = await timedRound(side, plaintext, ROUND_MS);
              const k = `${side.key}:${size.bytes}`;
              rounds.set(k, [...(rounds.get(k) ?? []), opsPerSecond]);
              if (!matched) mismatches.set(side.key, (mismatches.get(side.key) ?? 0) + 1);
            }
            progress(
              `P3 values ${size.label} round ${r + 1}/${ROUNDS}: ${group.map((s) => `${s.key} ${rounds.get(`${s.key}:${size.bytes}`)!.at(-1)!.toFixed(0)}/s`).join(', ')}`,
            );
          }
        }
      }
      for (const [side, n] of mismatches) invalid.push(`${side}: ${n} rounds whose round trip did not give back the plaintext`);
      checks.push('every round first checks one round trip byte for byte; the AWS sides also check the encryption context that comes back');
      return {
        timing: { roundMs: ROUND_MS, warmupMs: WARMUP_MS, rounds: ROUNDS },
        peer: {
          version: peerVersion(),
          defaultSuite: peer.defaultSuite(),
          noSignatureSuite: AlgorithmSuiteIdentifier[AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY],
        },
        aadBytes,
        sides: sides.map((s) => ({
          key: s.key,
          label: s.label,
          how: s.how,
          sizes: SIZES.map((size) => {
            const rs = rounds.get(`${s.key}:${size.bytes}`) ?? [];
            return { bytes: size.bytes, opsPerSecond: median(rs), rounds: rs };
          }),
        })),
        checks,
        invalid,
      };
    } finally {
      await keyring.close();
    }
  } finally {
    await db.close();
    removeTempDir(dir);
  }
}

function valueMeasures(c: P3CryptoResult): Measure[] {
  const side = (key: SideKey) => c.sides.find((s) => s.key === key)!;
  const out: Measure[] = [];
  for (const [i, size] of SIZES.entries()) {
    const at = (key: SideKey) => side(key).sizes[i]!.opsPerSecond;
    const rampart = { label: 'Rampart', value: at('rampart'), unit: 'ops/s' };
    const source = size.bytes === 4096 ? 'project brief' : 'project brief (stated for 4 KiB; the same goal applied to this size)';
    const cachedRatio = at('rampart') / at('aws-cached');
    out.push(
      measure(
        {
          id: `p3.values_${size.bytes}_vs_bare`,
          title: `P3 seal+open ${size.label}: Rampart vs bare AES-256-GCM`,
          figure: rampart,
          reference: { label: 'bare', value: at('bare'), unit: 'ops/s' },
          goal: { op: '>=', value: GOAL_VS_BARE, unit: 'x', source },
        },
        c.invalid,
      ),
      measure(
        {
          id: `p3.values_${size.bytes}_vs_aws`,
          title: `P3 seal+open ${size.label}: Rampart vs AWS Encryption SDK`,
          figure: rampart,
          reference: { label: 'AWS ESDK', value: at('aws'), unit: 'ops/s' },
          goal: { op: '>=', value: GOAL_VS_PEER, unit: 'x', source },
        },
        c.invalid,
        `vs the ESDK with its caching CMM: ${cachedRatio.toFixed(1)}×; cached without signatures: ${(at('rampart') / at('aws-cached-nosig')).toFixed(1)}×`,
      ),
    );
  }
  return out;
}

export async function runP3(settings: BenchSettings): Promise<P3Result> {
  progress('P3.1: seal+open of values, Rampart vs bare node:crypto vs the AWS Encryption SDK');
  const crypto = await runValues();
  const measures: Measure[] = valueMeasures(crypto);

  let rewrap: RewrapPartResult | null = null;
  let rewrapError: string | undefined;
  try {
    progress('P3.2: rewrap throughput');
    rewrap = await runRewrap(settings);
    measures.push(...rewrap.measures);
  } catch (err) {
    rewrapError = err instanceof Error ? (err.stack ?? err.message) : String(err);
    progress(`P3 rewrap failed: ${rewrapError}`);
  }

  let document: DocumentRssResult | null = null;
  let documentError: string | undefined;
  try {
    progress('P3.3: peak RSS streaming a document');
    document = await runDocumentRss();
    measures.push(...document.measures);
  } catch (err) {
    documentError = err instanceof Error ? (err.stack ?? err.message) : String(err);
    progress(`P3 document failed: ${documentError}`);
  }

  return {
    crypto,
    rewrap,
    ...(rewrapError !== undefined ? { rewrapError } : {}),
    document,
    ...(documentError !== undefined ? { documentError } : {}),
    measures,
  };
}
