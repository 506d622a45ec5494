/**
 * P3.3 — peak RSS while streaming a 1 GiB document in and out.
 *
 * Each run is a child process of its own (`node --import tsx bench/p3-document-rss.ts …`), so the
 * parent's heap does not count. The child opens an embedded PGlite database, a Keyring and a
 * LocalObjectStore in a temporary directory, makes a workspace, collects garbage (--expose-gc)
 * and lets RSS settle, then streams
 * DOCUMENT bytes generated on the fly (a Readable pushing fresh 64 KiB chunks, never a whole
 * buffer), hashing them as they are made:
 *   Rampart  DocumentsService.upload (meter + ContentCodec.sealStream → a staged file, row
 *            inserted, object committed), then DocumentsService.download (ContentCodec.openStream)
 *            into a SHA-256 sink;
 *   bare     LocalObjectStore.stage with the meter only (no encryption), commit, then
 *            LocalObjectStore.open into the same sink.
 * RSS is sampled every 50 ms (process.memoryUsage().rss); the kernel's own peak (VmHWM, reset
 * through /proc/self/clear_refs just before streaming) catches what falls between samples. The
 * figure is the growth over the baseline taken just before streaming. The downloaded hash must
 * equal the generated one. Sides alternate over the runs; the figure is the median run.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DocumentsService } from '../src/modules/documents/service.js';
import { WorkspaceEvents } from '../src/modules/events/index.js';
import { AuditLog } from '../src/platform/audit/log.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { tenantContext } from '../src/platform/db/types.js';
import { LocalObjectStore, meter } from '../src/platform/storage/object-store.js';
import { createTenant, openKeys, removeTempDir, tempDir } from './p3-keys.js';
import { measure, type Measure } from './report.js';
import { Child, childEnv, MB, median, progress, ROOT, rotate, sleep } from './util.js';

const DEFAULT_MIB = 1024;
const CHUNK = 64 * 1024;
const SAMPLE_MS = 50;
const RUNS_PER_SIDE = 2;
/** A priori bound on what streaming may add to RSS: it must not grow with the document. */
const GOAL_GROWTH_MB = 64;
const CHILD_TIMEOUT_MS = 600_000;

type SideKey = 'rampart' | 'bare';

export interface DocumentRun {
  readonly side: SideKey;
  readonly bytes: number;
  readonly storedBytes: number;
  readonly baselineRss: number;
  /** Highest 50 ms sample over the upload and over the download. */
  readonly peakUploadRss: number;
  readonly peakDownloadRss: number;
  /** VmHWM after streaming, reset just before; null when the kernel would not reset it. */
  readonly hwm: number | null;
  readonly samples: number;
  readonly uploadSeconds: number;
  readonly downloadSeconds: number;
  readonly hashMatches: boolean;
}

// ---------------------------------------------------------------------------------------------
// The child

function rssNow(): number {
  return process.memoryUsage().rss;
}

function resetHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function hwm(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** `bytes` of data made on the fly in fresh 64 KiB chunks (a block with the chunk number in front), hashed as it goes. */
function source(bytes: number): { stream: Readable; digest: () => string } {
  const block = randomBytes(CHUNK);
  const hash = createHash('sha256');
  let sent = 0;
  let n = 0;
  const stream = new Readable({
    read() {
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      const size = Math.min(CHUNK, bytes - sent);
      const chunk = Buffer.allocUnsafe(size);
      block.copy(chunk, 0, 0, size);
      chunk.writeUInt32BE(n++ >>> 0, 0);
      hash.update(chunk);
      sent += size;
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

function hashSink(): { sink: Writable; digest: () => string } {
  const hash = createHash('sha256');
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done();
    },
  });
  return { sink, digest: () => hash.digest('hex') };
}

class Sampler {
  peak = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }
  private sample(): void {
    this.peak = Math.max(this.peak, rssNow());
    this.samples++;
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

async function child(side: SideKey, bytes: number, dir: string): Promise<DocumentRun> {
  const db = await PgliteDatabase.open({});
  await db.migrate();
  const { keyring, codec } = await openKeys(db, path.join(dir, 'data'));
  const objects = new LocalObjectStore(path.join(dir, 'objects'));
  const tenantId = randomUUID();
  await createTenant(db, tenantId, 'p3 document');
  const ctx = tenantContext(tenantId, null);
  // As in the app: each upload is also one audit event, in the upload's transaction.
  const audit = new AuditLog(db);
  const service = new DocumentsService(db, objects, codec, new WorkspaceEvents(db, audit));
  const writer = { tenant: ctx, actor: { type: 'account' as const, id: randomUUID() }, meta: { ip: null, userAgent: null, requestId: null } };
  const key = { region: 'local', tenantId, objectId: randomUUID() };
  // The same warm start for both sides: the tenant's keyring exists and its caches are filled.
  await codec.seal({ tenantId, table: 'documents', rowId: key.objectId, field: 'content' }, Buffer.from('warm'));

  // Garbage from the setup (migrations) collected first, so that the baseline holds what stays.
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(200);
  }
  const baselineRss = Math.max(rssNow(), (await sleep(100), rssNow()), (await sleep(100), rssNow()));
  const canReset = resetHwm();
  const src = source(bytes);
  const sink = hashSink();

  let sampler = new Sampler();
  let t0 = performance.now();
  let storedFile: string;
  let readBack: () => Promise<Readable>;
  let uploadedHash: string;
  if (side === 'rampart') {
    const doc = await service.upload(writer, 'local', { name: 'p3.bin', contentType: 'application/octet-stream', content: src.stream });
    uploadedHash = doc.sha256;
    storedFile = path.join(dir, 'objects', 'local', tenantId, doc.id);
    readBack = async () => (await service.download(ctx, doc.id)).content;
  } else {
    const m = meter();
    const pending = await objects.stage(key, src.stream, [m.transform]);
    await pending.commit();
    uploadedHash = m.result().sha256.toString('hex');
    storedFile = path.join(dir, 'objects', 'local', tenantId, key.objectId);
    readBack = () => objects.open(key);
  }
  const uploadSeconds = (performance.now() - t0) / 1000;
  const peakUploadRss = sampler.stop();
  const samples = sampler.samples;

  sampler = new Sampler();
  t0 = performance.now();
  await pipeline(await readBack(), sink.sink);
  const downloadSeconds = (performance.now() - t0) / 1000;
  const peakDownloadRss = sampler.stop();
  const kernelPeak = canReset ? hwm() : null;

  const generated = src.digest();
  const storedBytes = statSync(storedFile).size;
  await audit.stop();
  await keyring.close();
  await db.close();
  return {
    side,
    bytes,
    storedBytes,
    baselineRss,
    peakUploadRss,
    peakDownloadRss,
    hwm: kernelPeak,
    samples: samples + sampler.samples,
    uploadSeconds,
    downloadSeconds,
    hashMatches: sink.digest() === generated && uploadedHash === generated,
  };
}

// ---------------------------------------------------------------------------------------------
// The parent

export interface DocumentRssSide {
  readonly key: SideKey;
  readonly label: string;
  readonly how: string;
  readonly runs: readonly DocumentRun[];
  /** Medians over the runs, in bytes. */
  readonly baselineRss: number;
  readonly peakRss: number;
  /** Median of (peak − baseline) per run; the peak is the larger of the samples and VmHWM. */
  readonly growth: number;
  readonly uploadMBps: number;
  readonly downloadMBps: number;
}

export interface DocumentRssResult {
  readonly bytes: number;
  readonly runsPerSide: number;
  readonly sampleMs: number;
  readonly sides: readonly DocumentRssSide[];
  readonly checks: readonly string[];
  readonly measures: readonly Measure[];
}

const peakOf = (r: DocumentRun): number => Math.max(r.peakUploadRss, r.peakDownloadRss, r.hwm ?? 0);

function documentBytes(): number {
  const raw = process.env['BENCH_P3_DOCUMENT_MIB'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_MIB * MB;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_P3_DOCUMENT_MIB must be a positive integer, got "${raw}"`);
  return n * MB;
}

async function runChild(side: SideKey, bytes: number): Promise<DocumentRun> {
  const dir = tempDir();
  try {
    const proc = new Child(`p3-document-${side}`, process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), side, String(bytes), dir], {
      cwd: ROOT,
      env: childEnv({}),
    });
    const line = await proc.waitForLine(/^P3_DOCUMENT (.+)$/, CHILD_TIMEOUT_MS);
    await proc.stop();
    return JSON.parse(line[1]!) as DocumentRun;
  } finally {
    removeTempDir(dir);
  }
}

export async function runDocumentRss(): Promise<DocumentRssResult> {
  const bytes = documentBytes();
  const sideKeys: SideKey[] = ['bare', 'rampart'];
  const runs: DocumentRun[] = [];
  for (let r = 0; r < RUNS_PER_SIDE; r++) {
    for (const side of rotate(sideKeys, r)) {
      const run = await runChild(side, bytes);
      runs.push(run);
      progress(
        `P3 document (${side}) run ${r + 1}/${RUNS_PER_SIDE}: baseline ${(run.baselineRss / MB).toFixed(1)} MB, peak ${(peakOf(run) / MB).toFixed(1)} MB` +
          ` (samples: up ${(run.peakUploadRss / MB).toFixed(1)}, down ${(run.peakDownloadRss / MB).toFixed(1)}; VmHWM ${run.hwm === null ? 'n/a' : (run.hwm / MB).toFixed(1)}),` +
          ` up ${(bytes / MB / run.uploadSeconds).toFixed(0)} MB/s, down ${(bytes / MB / run.downloadSeconds).toFixed(0)} MB/s, hash ${run.hashMatches ? 'ok' : 'MISMATCH'}`,
      );
    }
  }
  const how: Record<SideKey, { label: string; how: string }> = {
    rampart: {
      label: 'Rampart',
      how: 'DocumentsService.upload (meter + ContentCodec.sealStream into LocalObjectStore), then .download (ContentCodec.openStream) into a SHA-256 sink',
    },
    bare: { label: 'bare (no encryption)', how: 'LocalObjectStore.stage with the meter only, commit, then LocalObjectStore.open into the same sink' },
  };
  const sides: DocumentRssSide[] = sideKeys.map((key) => {
    const own = runs.filter((r) => r.side === key);
    return {
      key,
      ...how[key],
      runs: own,
      baselineRss: median(own.map((r) => r.baselineRss)),
      peakRss: median(own.map(peakOf)),
      growth: median(own.map((r) => peakOf(r) - r.baselineRss)),
      uploadMBps: median(own.map((r) => r.bytes / MB / r.uploadSeconds)),
      downloadMBps: median(own.map((r) => r.bytes / MB / r.downloadSeconds)),
    };
  });
  const invalid: string[] = [];
  const bad = runs.filter((r) => !r.hashMatches);
  if (bad.length > 0) invalid.push(`${bad.length} runs read back other bytes than they wrote`);
  const rampart = sides.find((s) => s.key === 'rampart')!;
  const bare = sides.find((s) => s.key === 'bare')!;
  const overhead = rampart.runs[0] ? rampart.runs[0].storedBytes - bytes : Number.NaN;
  if (bytes < DEFAULT_MIB * MB) invalid.push(`a ${bytes / MB} MiB document (BENCH_P3_DOCUMENT_MIB), not ${DEFAULT_MIB} MiB`);
  const checks = [
    'every run hashes the generated bytes, the meter hashes them on the way in, and the download must hash the same (SHA-256)',
    `the sealed object is ${overhead} bytes longer than the document (24-byte header + a 16-byte tag per 64 KiB chunk); the bare object is the document`,
    `VmHWM ${runs.every((r) => r.hwm !== null) ? 'was reset before streaming in every run, so the peak includes what fell between samples' : 'could not be reset: peaks are from the 50 ms samples only'}`,
  ];
  const measures = [
    measure(
      {
        id: 'p3.document_rss_growth',
        title: 'P3 peak RSS growth streaming a 1 GiB document in and out',
        figure: { label: 'Rampart', value: rampart.growth / MB, unit: 'MB' },
        reference: { label: 'bare', value: bare.growth / MB, unit: 'MB' },
        goal: { op: '<=', value: GOAL_GROWTH_MB, unit: 'MB', source: 'harness default: streaming must not hold the document; a bound fixed before measuring' },
      },
      invalid,
      `peak ${(rampart.peakRss / MB).toFixed(1)} MB over a ${(rampart.baselineRss / MB).toFixed(1)} MB baseline (bare: ${(bare.peakRss / MB).toFixed(1)} over ${(bare.baselineRss / MB).toFixed(1)})`,
    ),
  ];
  return { bytes, runsPerSide: RUNS_PER_SIDE, sampleMs: SAMPLE_MS, sides, checks, measures };
}

// Run as a child: node --import tsx bench/p3-document-rss.ts <side> <bytes> <dir>
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [side, bytes, dir] = process.argv.slice(2);
  if ((side !== 'rampart' && side !== 'bare') || !bytes || !dir) {
    process.stderr.write('usage: p3-document-rss.ts rampart|bare <bytes> <dir>\n');
    process.exit(2);
  }
  child(side, Number(bytes), dir).then(
    (run) => {
      process.stdout.write(`P3_DOCUMENT ${JSON.stringify(run)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
