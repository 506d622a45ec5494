/**
 * The audit log's byte format, shared by the sequencer that writes it and the verifier that
 * checks it: one place decides what is hashed.
 *
 * An event's body is a JSON object written once, when the event happens: `{"v":1,"chain":…,
 * "id":…,"time":…,"actor":…,…}`. Sequencing gives it a number and links it to its predecessor:
 *
 *   record(n) = '{"seq":' n ',"prev":"' hex(hash(n-1)) '",' body[1:]
 *   hash(n)   = SHA-256(UTF-8 bytes of record(n)),   hash(0) = 32 zero bytes
 *
 * so a record is itself a JSON object, and checking a link needs no JSON parser: the record must
 * begin with exactly the prefix its predecessor implies. An exported line is the record with the
 * hash appended as its last member, `…,"hash":"<hex>"}`, so each line also says what it hashed to.
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH: Buffer = Buffer.alloc(32);
/** The platform chains; every other chain is a workspace's, named by its tenant id. */
export const PLATFORM_CHAINS = ['accounts', 'staff'] as const;
export type PlatformChain = (typeof PLATFORM_CHAINS)[number];

export function isPlatformChain(chain: string): chain is PlatformChain {
  return (PLATFORM_CHAINS as readonly string[]).includes(chain);
}

export function recordPrefix(seq: number, prev: Buffer | string): string {
  return `{"seq":${seq},"prev":"${typeof prev === 'string' ? prev : prev.toString('hex')}",`;
}

/** The hashed text of the event at `seq` whose predecessor hashed to `prev`. */
export function recordOf(seq: number, prev: Buffer, body: string): string {
  if (!body.startsWith('{"v":1,')) throw new TypeError('an audit body is a JSON object starting {"v":1,');
  return recordPrefix(seq, prev) + body.slice(1);
}

export function hashRecord(record: string): Buffer {
  return createHash('sha256').update(record, 'utf8').digest();
}

export function hashRecordHex(record: string): string {
  return createHash('sha256').update(record, 'utf8').digest('hex');
}

const HASH_MEMBER = ',"hash":"';
/** Length of `,"hash":"<64 hex>"}` at the end of an exported line. */
const HASH_SUFFIX_LENGTH = HASH_MEMBER.length + 64 + 2;

/** An exported line: the record with its hash as the last member. */
export function exportLine(record: string, hash: Buffer): string {
  return `${record.slice(0, -1)}${HASH_MEMBER}${hash.toString('hex')}"}`;
}

/** Where an exported line's hash member starts (its record is `line[0:at] + '}'`), and the hash it claims; or null. */
export function exportLineParts(line: string): { at: number; claimed: string } | null {
  if (line.length < HASH_SUFFIX_LENGTH + 2 || !line.endsWith('"}')) return null;
  const at = line.length - HASH_SUFFIX_LENGTH;
  if (!line.startsWith(HASH_MEMBER, at)) return null;
  return { at, claimed: line.slice(at + HASH_MEMBER.length, line.length - 2) };
}

/** Splits an exported line back into the record it hashed and the hash it claims (hex), or null. */
export function splitExportLine(line: string): { record: string; claimed: string } | null {
  const parts = exportLineParts(line);
  return parts ? { record: `${line.slice(0, parts.at)}}`, claimed: parts.claimed } : null;
}

/** The wall clock with microseconds, as ISO 8601 UTC: `2026-11-23T18:10:44.123456Z`. */
export function microTime(nowMicros: number = wallMicros()): string {
  const micros = nowMicros % 1000;
  return `${new Date((nowMicros - micros) / 1000).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

let lastMicros = 0;
/**
 * Microseconds since the epoch from the high-resolution clock; never repeats within a process.
 * (A number: microseconds since 1970 stay below 2^53 until the year 2255.)
 */
export function wallMicros(): number {
  const now = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  lastMicros = now > lastMicros ? now : lastMicros + 1;
  return lastMicros;
}
