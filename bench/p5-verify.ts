/**
 * P5 — audit verification speed, as a ratio to node:crypto's SHA-256 over the same bytes.
 *
 * The chain: EVENTS events of one workspace on the PostgreSQL server of the run (a scratch
 * database, dropped afterwards). Their bodies are built by the functions appendTenantIn uses
 * (bodyTail/bodyOf; the same account actor, `record.updated`, target, ip, user agent, request id
 * and details as P4), queued in bulk as the superuser, and chained by the real sequencer
 * (`audit.sequence`) 10,000 at a time after VACUUM (ANALYZE) of the queue and the chain, each
 * quarter followed by a signed checkpoint
 * (`audit.checkpoint`, CheckpointSigner with the local KMS provider, as the server signs). The
 * chain is exported with `exportJsonLines` to a temporary file.
 *
 * Timed, alternating, ROUNDS rounds per side after a warmup each, median round:
 *   verifyExport       `verifyExport(file, publicKeys)`, the offline path `rampart audit verify
 *                      --file` runs (read the file, split each line, ChainVerifier.push, the
 *                      checkpoints' Ed25519 signatures);
 *   bare file          read the same file (createReadStream) and SHA-256 each record's bytes — the
 *                      line without its `,"hash":"…"` member, then `}`: the bytes the verifier
 *                      hashes — with node:crypto createHash, nothing else;
 *   ChainVerifier      the same records and claimed hashes already in memory, pushed through a
 *                      ChainVerifier with the same anchor, checkpoints and keys;
 *   bare in memory     createHash('sha256').update(record, 'utf8').digest() for each of the same
 *                      in-memory records, nothing else.
 * verifyExport is held to bare file and ChainVerifier to bare in memory. Also: live verification
 * (`audit.verify(chain, publicKeys)` on the database) events/s, and the export's own speed, no goal.
 *
 * Env: BENCH_P5_EVENTS  events in the chain (default 100000; fewer marks the measures INVALID)
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bodyOf, bodyTail } from '../src/platform/audit/entry.js';
import { exportJsonLines, type ExportHeader } from '../src/platform/audit/export.js';
import { AuditLog } from '../src/platform/audit/log.js';
import { microTime, splitExportLine } from '../src/platform/audit/record.js';
import { CheckpointSigner } from '../src/platform/audit/signer.js';
import { exportStart, verifyExport } from '../src/platform/audit/verify-file.js';
import { ChainVerifier, type PublicKeyInfo, type VerifyReport } from '../src/platform/audit/verify.js';
import { PostgresDatabase } from '../src/platform/db/postgres.js';
import { APP_ROLE } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';
import { actorRef } from '../src/modules/events/actors.js';
import { APP_LOGIN } from './p1-tenant-query.js';
import { openKeys, removeTempDir, tempDir } from './p3-keys.js';
import { measure, type Measure } from './report.js';
import { ensureLoginRole, median, pgUrl, progress, recreateDatabase, rotate, withClient, type BenchSettings } from './util.js';

export const P5_DATABASE = 'rampart_bench_p5';
const DEFAULT_EVENTS = 100_000;
const CHECKPOINTS = 4;
const QUEUE_BATCH = 5_000;
/** Events queued, then chained, at a time while building. */
const SEQUENCE_STEP = 10_000;
const ROUNDS = 5;
const LIVE_ROUNDS = 2;
const GOAL_VS_SHA256 = 0.5;
const STATEMENT_TIMEOUT_MS = 300_000;
const WRITERS = 8;
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
/** `,"hash":"<64 hex>"}` at the end of an exported line (record.ts). */
const HASH_SUFFIX = Buffer.byteLength(',"hash":"') + 64 + 2;
const CLOSE = Buffer.from('}');

type SideKey = 'verify-export' | 'bare-file' | 'chain-verifier' | 'bare-memory';

export interface P5Side {
  readonly key: SideKey;
  readonly label: string;
  readonly how: string;
  /** Median round. */
  readonly eventsPerSecond: number;
  /** Bytes hashed (the records) per second, and for the file sides the file's bytes per second. */
  readonly recordMBps: number;
  readonly fileMBps: number | null;
  readonly roundsEventsPerSecond: readonly number[];
}

export interface P5Result {
  readonly events: number;
  readonly checkpoints: number;
  readonly build: { readonly how: string; readonly queueSeconds: number; readonly sequenceSeconds: number; readonly exportSeconds: number; readonly exportEventsPerSecond: number };
  readonly fileBytes: number;
  readonly recordBytes: number;
  readonly rounds: number;
  readonly sides: readonly P5Side[];
  readonly live: { readonly eventsPerSecond: number; readonly roundsEventsPerSecond: readonly number[]; readonly how: string };
  readonly checks: readonly string[];
  readonly measures: readonly Measure[];
}

// ---------------------------------------------------------------------------------------------
// The chain

/** P4's append, as the body appendTenantIn builds for it. */
function bodyFor(tenant: string, accounts: readonly string[], n: number): { id: string; time: string; actorId: string; body: string } {
  const w = n % WRITERS;
  const id = newId();
  const time = microTime();
  const entry = {
    action: 'record.updated',
    outcome: 'success' as const,
    actor: actorRef({ type: 'account', id: accounts[w]! }),
    target: { type: 'record', id: newId() },
    details: { collection: 'tickets', fields: ['status', 'assignee'], version: n + 2 },
  };
  const meta = { ip: `203.0.113.${10 + w}`, userAgent: USER_AGENT, requestId: `req-${w.toString(36)}${n.toString(36)}` };
  return { id, time, actorId: accounts[w]!, body: bodyOf(tenant, bodyTail(id, time, entry, meta)) };
}

async function queue(dbUrl: string, tenant: string, accounts: readonly string[], from: number, to: number): Promise<void> {
  await withClient(dbUrl, async (c) => {
    for (let start = from; start < to; start += QUEUE_BATCH) {
      const rows = Array.from({ length: Math.min(QUEUE_BATCH, to - start) }, (_, k) => bodyFor(tenant, accounts, start + k));
      await c.query(
        `INSERT INTO rampart.audit_queue (tenant_id, id, occurred_at, actor_type, actor_id, action, outcome, body)
         SELECT $1::uuid, u.id, u.occurred_at, 'account', u.actor_id, 'record.updated', 'success', u.body
           FROM unnest($2::uuid[], $3::timestamptz[], $4::uuid[], $5::text[]) WITH ORDINALITY AS u (id, occurred_at, actor_id, body, n)
          ORDER BY u.n`,
        [tenant, rows.map((r) => r.id), rows.map((r) => r.time), rows.map((r) => r.actorId), rows.map((r) => r.body)],
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The sides

interface InMemory {
  readonly header: ExportHeader;
  readonly records: string[];
  readonly claimed: string[];
  readonly recordBytes: number;
}

function loadExport(file: string): InMemory {
  const lines = readFileSync(file, 'utf8').split('\n');
  const header = JSON.parse(lines[0]!) as ExportHeader;
  const records: string[] = [];
  const claimed: string[] = [];
  let recordBytes = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const parts = splitExportLine(line);
    if (!parts) throw new Error(`P5: line ${i + 1} of the export is not a record with its hash`);
    records.push(parts.record);
    claimed.push(parts.claimed);
    recordBytes += Buffer.byteLength(parts.record);
  }
  return { header, records, claimed, recordBytes };
}

/**
 * The bare file side: every record's bytes hashed straight from the file's buffers. Returns how
 * many records and bytes it hashed and the XOR of the digests' first bytes (kept, so the work is
 * not optimised away; compared with the checked run). With `claimed`, checks each digest too.
 */
async function bareFile(file: string, claimed?: readonly string[]): Promise<{ events: number; bytes: number; xor: number }> {
  let events = 0;
  let bytes = 0;
  let xor = 0;
  let header = true;
  const line = (buf: Buffer, start: number, end: number): void => {
    if (header) {
      header = false;
      return;
    }
    if (end === start) return;
    const recordEnd = end - HASH_SUFFIX;
    const digest = createHash('sha256').update(buf.subarray(start, recordEnd)).update(CLOSE).digest();
    if (claimed && digest.toString('hex') !== claimed[events]) throw new Error(`P5 bare: record ${events + 1} does not hash to its claimed hash`);
    xor ^= digest[0]!;
    events += 1;
    bytes += recordEnd - start + 1;
  };
  let rest: Buffer | null = null;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0;
    if (rest) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        rest = Buffer.concat([rest, chunk]);
        continue;
      }
      const joined = Buffer.concat([rest, chunk.subarray(0, nl)]);
      line(joined, 0, joined.length);
      rest = null;
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) rest = chunk.subarray(start);
  }
  if (rest) line(rest, 0, rest.length);
  return { events, bytes, xor };
}

function bareMemory(records: readonly string[]): number {
  let xor = 0;
  for (const r of records) xor ^= createHash('sha256').update(r, 'utf8').digest()[0]!;
  return xor;
}

function chainVerifier(m: InMemory, publicKeys: readonly PublicKeyInfo[]): VerifyReport {
  const verifier = new ChainVerifier({
    chain: m.header.chain,
    start: exportStart(m.header),
    checkpoints: m.header.checkpoints,
    publicKeys,
  });
  const { records, claimed } = m;
  for (let i = 0; i < records.length; i++) if (!verifier.push(records[i]!, claimed[i])) break;
  return verifier.finish();
}

function expectOk(what: string, r: VerifyReport, events: number, checkpoints: number): void {
  if (!r.ok || r.count !== events || r.from !== 1 || r.through !== events || r.checkpointsVerified !== checkpoints || r.signedThrough !== events) {
    throw new Error(`P5: ${what} did not verify the chain: ${JSON.stringify(r)}`);
  }
}

// ---------------------------------------------------------------------------------------------

function eventsSetting(): number {
  const raw = process.env['BENCH_P5_EVENTS'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_EVENTS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 100) throw new Error(`BENCH_P5_EVENTS must be an integer ≥ 100, got "${raw}"`);
  return n;
}

export async function runP5(settings: BenchSettings): Promise<P5Result> {
  const events = eventsSetting();
  const dir = tempDir();
  const file = path.join(dir, 'chain.jsonl');
  await recreateDatabase(settings.adminUrl, P5_DATABASE);
  const dbUrl = pgUrl(settings.adminUrl, { database: P5_DATABASE });
  const owner = new PostgresDatabase({ url: dbUrl, poolSize: 1, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
  try {
    await owner.migrate();
  } finally {
    await owner.close();
  }
  await withClient(dbUrl, (c) => ensureLoginRole(c, APP_LOGIN, 'NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', APP_ROLE));
  const db = new PostgresDatabase({
    url: pgUrl(dbUrl, { user: APP_LOGIN }),
    ownerUrl: dbUrl,
    poolSize: 2,
    statementTimeoutMs: STATEMENT_TIMEOUT_MS,
    applicationName: 'bench-p5',
  });
  const keys = await openKeys(db, path.join(dir, 'data'));
  try {
    const signer = new CheckpointSigner(db, keys.keyring.root);
    const audit = new AuditLog(db, { signer });
    const tenant = newId();
    const accounts = Array.from({ length: WRITERS }, () => newId());
    await withClient(dbUrl, async (c) => {
      await c.query(`INSERT INTO rampart.workspaces (tenant_id, name, region) VALUES ($1, 'p5 audit', 'local')`, [tenant]);
      await c.query('INSERT INTO rampart.audit_heads (chain) VALUES ($1)', [tenant]);
    });

    // Build: a quarter queued, chained by the sequencer, then checkpointed; four times.
    progress(`P5: building a chain of ${events.toLocaleString('en-US')} events with ${CHECKPOINTS} signed checkpoints`);
    let queueMs = 0;
    let sequenceMs = 0;
    for (let q = 0; q < CHECKPOINTS; q++) {
      const from = Math.floor((events * q) / CHECKPOINTS);
      const to = Math.floor((events * (q + 1)) / CHECKPOINTS);
      // In steps, with statistics kept current in between (autovacuum may be off, as on the bench
      // server): the sequencer's DELETE slows with the chain's length on stale statistics.
      for (let step = from; step < to; step += SEQUENCE_STEP) {
        const end = Math.min(to, step + SEQUENCE_STEP);
        const t0 = performance.now();
        await queue(dbUrl, tenant, accounts, step, end);
        await withClient(dbUrl, (c) => c.query('VACUUM (ANALYZE) rampart.audit_queue, rampart.audit_events'));
        const t1 = performance.now();
        const moved = await audit.sequence(tenant);
        const t2 = performance.now();
        if (moved !== end - step) throw new Error(`P5: the sequencer chained ${moved} events, expected ${end - step}`);
        queueMs += t1 - t0;
        sequenceMs += t2 - t1;
      }
      const cp = await audit.checkpoint(tenant);
      if (cp?.seq !== to) throw new Error(`P5: expected a checkpoint at seq ${to}, got ${JSON.stringify(cp)}`);
    }
    progress(`P5: queued in ${(queueMs / 1000).toFixed(1)} s, chained in ${(sequenceMs / 1000).toFixed(1)} s`);
    await withClient(dbUrl, (c) => c.query('VACUUM (ANALYZE) rampart.audit_events'));

    const e0 = performance.now();
    await pipeline(Readable.from(exportJsonLines(audit, tenant, {})), createWriteStream(file));
    const exportSeconds = (performance.now() - e0) / 1000;
    const fileBytes = statSync(file).size;
    progress(`P5: exported ${(fileBytes / 1e6).toFixed(1)} MB in ${exportSeconds.toFixed(1)} s`);

    const publicKeys: PublicKeyInfo[] = (await signer.publicKeys()).map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
    const memory = loadExport(file);
    const checks: string[] = [];
    // The header carries the checkpoints that prove the export: from genesis, the newest one.
    if (memory.records.length !== events || memory.header.checkpoints.length !== 1 || !memory.header.complete || memory.header.anchor.seq !== 0) {
      throw new Error(`P5: the export holds ${memory.records.length} records and ${memory.header.checkpoints.length} checkpoints (complete: ${String(memory.header.complete)})`);
    }
    checks.push(
      `the export: a header (anchor genesis, the newest of ${CHECKPOINTS} checkpoints, at seq ${memory.header.checkpoints.map((c) => c.seq).join(', ')}) and ${events} lines; ${(fileBytes / 1e6).toFixed(1)} MB, records ${(memory.recordBytes / 1e6).toFixed(1)} MB (mean ${(memory.recordBytes / events).toFixed(0)} bytes)`,
    );

    // Checks before timing: every side sees the same chain, and the verifier is not a pushover.
    expectOk('verifyExport', await verifyExport(file, publicKeys), events, 1);
    expectOk('ChainVerifier', chainVerifier(memory, publicKeys), events, 1);
    const checked = await bareFile(file, memory.claimed);
    if (checked.events !== events || checked.bytes !== memory.recordBytes) throw new Error(`P5 bare: hashed ${checked.events} records, ${checked.bytes} bytes; expected ${events}, ${memory.recordBytes}`);
    if (bareMemory(memory.records) !== checked.xor) throw new Error('P5 bare: the in-memory records hash differently from the file');
    checks.push(`verifyExport and ChainVerifier: ok, seq 1–${events}, the checkpoint signature verified, signed through ${events}`);
    checks.push(`bare: every record's bytes, read from the file, hash to the hash its line claims (${events} records, ${memory.recordBytes} bytes; the in-memory records hash the same)`);
    const k = Math.floor(events / 2);
    const tampered: InMemory = { ...memory, records: memory.records.map((r, i) => (i === k ? r.replace('"record.updated"', '"record.deleted"') : r)) };
    const bad = chainVerifier(tampered, publicKeys);
    if (bad.ok || bad.firstBad?.seq !== k + 1) throw new Error(`P5: an edited record at seq ${k + 1} was not caught: ${JSON.stringify(bad)}`);
    checks.push(`an edited record (seq ${k + 1}, action changed) fails ChainVerifier at seq ${k + 1} (${bad.firstBad.problem})`);

    const sides: Array<{ key: SideKey; label: string; how: string; file: boolean; run: () => Promise<void> }> = [
      {
        key: 'verify-export',
        label: 'verifyExport (file)',
        how: 'verifyExport(file, publicKeys): lines split from the read stream, splitExportLine, ChainVerifier.push per line, Ed25519 checkpoint signatures',
        file: true,
        run: async () => expectOk('verifyExport', await verifyExport(file, publicKeys), events, 1),
      },
      {
        key: 'bare-file',
        label: 'bare SHA-256 (file)',
        how: "createReadStream of the same file, lines split in its buffers, createHash('sha256') over each record's bytes (the line without its hash member, then `}`), nothing else",
        file: true,
        run: async () => {
          const r = await bareFile(file);
          if (r.events !== events || r.xor !== checked.xor) throw new Error('P5 bare file: a round hashed other bytes');
        },
      },
      {
        key: 'chain-verifier',
        label: 'ChainVerifier (in memory)',
        how: 'new ChainVerifier({chain, start, checkpoints, publicKeys}), push(record, claimed hex) for each in-memory record, finish()',
        file: false,
        run: async () => expectOk('ChainVerifier', chainVerifier(memory, publicKeys), events, 1),
      },
      {
        key: 'bare-memory',
        label: 'bare SHA-256 (in memory)',
        how: "createHash('sha256').update(record, 'utf8').digest() for each of the same in-memory records, nothing else",
        file: false,
        run: async () => {
          if (bareMemory(memory.records) !== checked.xor) throw new Error('P5 bare memory: a round hashed other bytes');
        },
      },
    ];
    const seconds = new Map<SideKey, number[]>(sides.map((s) => [s.key, []]));
    for (const s of sides) await s.run(); // warmup
    // The file pair alternates among itself, then the in-memory pair.
    for (const pair of [sides.slice(0, 2), sides.slice(2)]) {
      for (let r = 0; r < ROUNDS; r++) {
        for (const s of rotate(pair, r)) {
          const t0 = performance.now();
          await s.run();
          const sec = (performance.now() - t0) / 1000;
          seconds.get(s.key)!.push(sec);
          progress(`P5 round ${r + 1}/${ROUNDS} ${s.key}: ${(events / sec).toFixed(0)} events/s (${(memory.recordBytes / 1e6 / sec).toFixed(0)} MB/s)`);
        }
      }
    }
    const results: P5Side[] = sides.map((s) => {
      const secs = seconds.get(s.key)!;
      const sec = median(secs);
      return {
        key: s.key,
        label: s.label,
        how: s.how,
        eventsPerSecond: events / sec,
        recordMBps: memory.recordBytes / 1e6 / sec,
        fileMBps: s.file ? fileBytes / 1e6 / sec : null,
        roundsEventsPerSecond: secs.map((x) => events / x),
      };
    });

    // Live verification on the database.
    const live: number[] = [];
    for (let r = 0; r < LIVE_ROUNDS; r++) {
      const t0 = performance.now();
      const report = await audit.verify(tenant, publicKeys);
      const sec = (performance.now() - t0) / 1000;
      expectOk('audit.verify', report, events, CHECKPOINTS);
      live.push(events / sec);
      progress(`P5 live audit.verify ${r + 1}/${LIVE_ROUNDS}: ${(events / sec).toFixed(0)} events/s`);
    }
    checks.push(`audit.verify(chain, publicKeys) on the database: ok, seq 1–${events}, ${CHECKPOINTS} checkpoints, the head row matches`);

    const side = (key: SideKey) => results.find((s) => s.key === key)!;
    const invalid = events < DEFAULT_EVENTS ? [`${events} events (BENCH_P5_EVENTS), not ${DEFAULT_EVENTS}`] : [];
    const fig = (s: P5Side) => ({ label: s.label, value: s.eventsPerSecond, unit: 'events/s' });
    const measures = [
      measure(
        {
          id: 'p5.verify_export_vs_sha256',
          title: `P5 verify an exported chain of ${events.toLocaleString('en-US')} events: verifyExport vs bare SHA-256 of the file's records`,
          figure: fig(side('verify-export')),
          reference: fig(side('bare-file')),
          goal: { op: '>=', value: GOAL_VS_SHA256, unit: 'x', source: 'project brief' },
        },
        invalid,
      ),
      measure(
        {
          id: 'p5.chain_verifier_vs_sha256',
          title: `P5 verify ${events.toLocaleString('en-US')} records in memory: ChainVerifier vs bare SHA-256`,
          figure: fig(side('chain-verifier')),
          reference: fig(side('bare-memory')),
          goal: { op: '>=', value: GOAL_VS_SHA256, unit: 'x', source: 'project brief' },
        },
        invalid,
      ),
    ];
    return {
      events,
      checkpoints: CHECKPOINTS,
      build: {
        how: `PostgreSQL server (scratch database ${P5_DATABASE}): bodies built by bodyTail/bodyOf as appendTenantIn builds them, queued in bulk as the superuser, chained by the real sequencer (audit.sequence, batches of 2,000) ${SEQUENCE_STEP.toLocaleString('en-US')} at a time after VACUUM (ANALYZE), a signed checkpoint (CheckpointSigner, local KMS provider) after each quarter; exported with exportJsonLines`,
        queueSeconds: queueMs / 1000,
        sequenceSeconds: sequenceMs / 1000,
        exportSeconds,
        exportEventsPerSecond: events / exportSeconds,
      },
      fileBytes,
      recordBytes: memory.recordBytes,
      rounds: ROUNDS,
      sides: results,
      live: {
        eventsPerSecond: median(live),
        roundsEventsPerSecond: live,
        how: `audit.verify(chain, publicKeys) as ${APP_LOGIN} → ${APP_ROLE}: pages of 5,000 through read-only withTenant, recordOf + ChainVerifier.push per row, checkpoints and the head row`,
      },
      checks,
      measures,
    };
  } finally {
    await keys.keyring.close().catch(() => {});
    await db.close().catch(() => {});
    await withClient(settings.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${P5_DATABASE} WITH (FORCE)`)).catch(() => {});
    removeTempDir(dir);
  }
}

