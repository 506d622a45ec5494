/**
 * `npm run bench`: P1 (row-level security on PostgreSQL), P2 (an authenticated HTTP read), P3
 * (encryption: seal+open of values against bare node:crypto and the AWS Encryption SDK, rewrap
 * throughput, peak RSS streaming a 1 GiB document), P6 (password sign-ins against the argon2id
 * limit) and P7 (the permission decision, against a bare Set.has and casbin, and its share of the
 * P2 request), P4 (audit appends from 8 concurrent writers against raw INSERTs, with 0 forks), P5
 * (audit verification against node:crypto SHA-256 over the same bytes), P8 (a SCIM userName lookup
 * in 10,000 users through the HTTP app against the bare SQL of the same row, with its plan), P9 (SAML
 * response validations against node-saml alone and samlify, and on every core), P10 (the console's
 * first screen: its gzipped JS and CSS against the budget, and its first contentful paint in
 * Chromium against a blank page from the same server and against Swagger UI),
 * each as ratios against the same work done bare and against a named peer, in one run. Prints a
 * report on stdout (progress goes to stderr) and writes it as JSON to .bench/results.json.
 *
 * Env: BENCH_DATABASE_URL  superuser URL (default postgres://postgres@127.0.0.1:5432/postgres)
 *      BENCH_SECONDS       length of each measured round (default P1 5 s, P2 10 s)
 *      BENCH_WARMUP_SECONDS warmup per side (default P1 2 s, P2 3 s; never longer than a round)
 *      BENCH_ROUNDS        measured rounds per side (default P1 3, P2 2)
 *      BENCH_ONLY          p1 … p10 to run one part (P7 alone takes P2's figure from the last
 *                          .bench/results.json, or makes a short P2 run; P3's and P7's timing is fixed)
 *      BENCH_P3_RECORDS    records per side for P3's rewrap (default 100000; fewer marks it INVALID)
 *      BENCH_P3_DOCUMENT_MIB size of P3's streamed document (default 1024; smaller marks it INVALID)
 *      BENCH_P4_EVENTS     audit appends per writer per round for P4 (default 2000; fewer marks it INVALID)
 *      BENCH_P5_EVENTS     events in P5's chain (default 100000; fewer marks it INVALID)
 *      BENCH_STRICT=1      exit 1 when a goal is missed, not only when the harness fails
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runP1, type P1Result } from './p1-tenant-query.js';
import { runP2, type P2Result } from './p2-http.js';
import { SIZES, runP3, type P3Result } from './p3-crypto.js';
import { runP4, type P4Result } from './p4-audit.js';
import { runP5, type P5Result } from './p5-verify.js';
import { runP6, type P6Result } from './p6-password.js';
import { runP7, type P7Result } from './p7-permissions.js';
import { runP8, type P8Result } from './p8-scim.js';
import { runP9, type P9Result } from './p9-saml.js';
import { runP10, type P10Result } from './p10-console.js';
import { formatGoal, formatNumber, summaryTable, table, type Measure } from './report.js';
import { MB, progress, readSettings, ROOT, run, withClient, type BenchSettings } from './util.js';

interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly postgres: string;
  readonly postgresSettings: Record<string, string>;
  readonly git: string;
}

function git(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}

async function machine(settings: BenchSettings): Promise<Machine> {
  const pg = await withClient(settings.adminUrl, async (c) => {
    const { rows } = await c.query<{ version: string; shared_buffers: string; max_connections: string; jit: string }>(
      `SELECT current_setting('server_version') AS version, current_setting('shared_buffers') AS shared_buffers,
              current_setting('max_connections') AS max_connections, current_setting('jit') AS jit`,
    );
    return rows[0]!;
  });
  const { version, ...postgresSettings } = pg;
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: version,
    postgresSettings,
    git: git(),
  };
}

function printP1(p1: P1Result, out: string[]): void {
  const t = p1.timing;
  out.push(
    `P1 — list ${p1.dataset.page} records of one random tenant (${formatNumber(p1.dataset.records)} rows over ${formatNumber(p1.dataset.tenants)} tenants),` +
      ` ${t.concurrency} concurrent loops, ${t.rounds} rounds × ${t.seconds} s per side (after ${t.warmupSeconds} s warmup each)`,
  );
  const bare = p1.sides.find((s) => s.key === 'bare')!;
  out.push(
    table(
      ['side', 'qps (median)', 'rounds (qps)', 'vs bare', 'p50 ms', 'p99 ms', 'client CPU µs/q', 'PG CPU µs/q', 'queries'],
      p1.sides.map((s) => [
        s.label,
        formatNumber(s.qps),
        s.roundsQps.map((q) => formatNumber(q)).join(' / '),
        `${(s.qps / bare.qps).toFixed(3)}×`,
        formatNumber(s.p50Ms, 2),
        formatNumber(s.p99Ms, 2),
        formatNumber(s.clientCpuUsPerQuery),
        formatNumber(s.pgCpuUsPerQuery),
        formatNumber(s.queries),
      ]),
    ),
  );
  for (const s of p1.sides) out.push(`  ${s.label}: ${s.how}`);
  out.push('  p50/p99 over every measured query; CPU per query over the measured rounds (client = this process, PG = all postgres processes)');
  for (const c of p1.checks) out.push(`  check: ${c}`);
  out.push('');
  for (const plan of p1.plans) {
    out.push(`P1 plan — ${plan.side === 'rls' ? 'withTenant (RLS)' : 'bare'}, as ${plan.role}:`);
    out.push(`  ${plan.sql.replace(/\s+/g, ' ')}`);
    out.push(...plan.plan.split('\n').map((l) => `    ${l}`));
    out.push('');
  }
  for (const n of p1.planNotes) out.push(`  plan: ${n}`);
  out.push('');
}

function printP2(p2: P2Result, out: string[]): void {
  const t = p2.timing;
  out.push(
    `P2 — authenticated GET of one record over HTTP, autocannon ${t.connections} connections, pipelining 1,` +
      ` ${t.rounds} rounds × ${t.seconds} s per side, alternating (after ${t.warmupSeconds} s warmup each)`,
  );
  const bare = p2.sides.find((s) => s.key === 'bare')!;
  out.push(
    table(
      ['side', 'req/s (best)', 'rounds (req/s)', 'vs bare', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'PG CPU µs/req', 'failed', 'RSS idle', 'RSS max load', 'RSS peak'],
      p2.sides.map((s) => [
        s.label,
        formatNumber(s.best.rps),
        s.rounds.map((r) => formatNumber(r.rps)).join(' / '),
        `${(s.best.rps / bare.best.rps).toFixed(3)}×`,
        formatNumber(s.best.p50Ms, 2),
        formatNumber(s.best.p99Ms, 2),
        formatNumber(s.best.serverCpuUsPerRequest),
        formatNumber(s.best.pgCpuUsPerRequest),
        formatNumber(s.failures.non2xx + s.failures.errors + s.failures.timeouts + s.failures.mismatches),
        `${formatNumber(s.rssIdleMb, 1)} MB`,
        `${formatNumber(s.rssLoadedMaxMb, 1)} MB`,
        `${formatNumber(s.rssPeakMb, 1)} MB`,
      ]),
    ),
  );
  for (const s of p2.sides) out.push(`  ${s.label}: ${s.how}`);
  out.push('  failed = non-2xx + errors + timeouts + body mismatches over every run, warmup included (must be 0)');
  out.push('  p50/p99 and CPU per request are from the best round; RSS max load is the largest of the 100 ms VmRSS samples over all load; RSS peak is VmHWM');
  for (const c of p2.checks) out.push(`  check: ${c}`);
  out.push('');
}

function printP3(p3: P3Result, out: string[]): void {
  const c = p3.crypto;
  const t = c.timing;
  const ops = (x: number) => formatNumber(x, x < 100 ? 1 : 0);
  out.push(
    `P3 — seal+open of one value (one operation = encrypt then decrypt), warm key caches, in this process,` +
      ` ${t.rounds} rounds × ${t.roundMs} ms per side and size (after ${t.warmupMs} ms warmup each)`,
  );
  const side = (key: string) => c.sides.find((s) => s.key === key)!;
  const rampart = side('rampart');
  const headers = ['side'];
  for (const size of SIZES) headers.push(`${size.label} ops/s`, `${size.label} rounds (ops/s)`, `${size.label} Rampart ÷ side`);
  out.push(
    table(
      headers,
      c.sides.map((s) => [
        s.label,
        ...s.sizes.flatMap((z, i) => [
          ops(z.opsPerSecond),
          `${ops(Math.min(...z.rounds))}–${ops(Math.max(...z.rounds))}`,
          `${(rampart.sizes[i]!.opsPerSecond / z.opsPerSecond).toFixed(z.opsPerSecond > rampart.sizes[i]!.opsPerSecond / 10 ? 3 : 1)}×`,
        ]),
      ]),
    ),
  );
  for (const s of c.sides) out.push(`  ${s.label}: ${s.how}`);
  out.push(`  peer: @aws-crypto/client-node ${c.peer.version}, default suite ${c.peer.defaultSuite}; additional data ${c.aadBytes} bytes on the Rampart and bare sides`);
  out.push('  ops/s: median round, with the slowest and fastest round; Rampart and bare alternate, then the AWS sides among themselves');
  for (const ch of c.checks) out.push(`  check: ${ch}`);
  out.push('');

  const r = p3.rewrap;
  if (r) {
    for (const e of r.engines) {
      const rounds = e.sides[0]!.rounds.length;
      out.push(
        `P3 — rewrap of ${formatNumber(e.records)} records to a new tenant key version, ${e.label}, batches of ${r.batch}, ${rounds} rounds per side, alternating` +
          ` (after VACUUM ANALYZE each; load ${e.loadSeconds.toFixed(1)} s)`,
      );
      const bare = e.sides.find((s) => s.key === 'bare')!;
      out.push(
        table(
          ['side', 'rows/s (median)', 'rounds (rows/s)', 'vs bare', 'read batches', 'write batches', 'rest (crypto, keys, glue)'],
          e.sides.map((s) => {
            const m = (f: (x: (typeof s.rounds)[number]) => number) => s.rounds.reduce((sum, x) => sum + f(x), 0) / s.rounds.length;
            return [
              s.label,
              formatNumber(s.rowsPerSecond),
              s.rounds.map((x) => formatNumber(x.rowsPerSecond)).join(' / '),
              `${(s.rowsPerSecond / bare.rowsPerSecond).toFixed(3)}×`,
              `${formatNumber(m((x) => x.readShare) * 100)}%`,
              `${formatNumber(m((x) => x.writeShare) * 100)}%`,
              `${formatNumber((1 - m((x) => x.readShare) - m((x) => x.writeShare)) * 100)}%`,
            ];
          }),
        ),
      );
      for (const s of e.sides) out.push(`  ${s.label}: ${s.how}`);
      out.push('  shares of the round time: read = the batch SELECTs (Rampart: read-only withTenant), write = the batch UPDATE transactions; means over the rounds');
      out.push(`  plan: ${e.plan}`);
      for (const ch of e.checks) out.push(`  check: ${ch}`);
      for (const inv of e.invalid) out.push(`  INVALID: ${inv}`);
      out.push('');
    }
    for (const sk of r.skipped) out.push(`  rewrap: ${sk}`);
  } else {
    out.push(`P3 rewrap: failed (${p3.rewrapError?.split('\n')[0] ?? 'unknown'})`);
    out.push('');
  }

  const d = p3.document;
  if (d) {
    out.push(
      `P3 — peak RSS streaming a ${formatNumber(d.bytes / MB)} MiB document in (upload) and out (download), each run a child process,` +
        ` ${d.runsPerSide} runs per side, alternating, RSS sampled every ${d.sampleMs} ms plus VmHWM`,
    );
    out.push(
      table(
        ['side', 'baseline RSS', 'peak RSS', 'growth (median)', 'growth per run', 'upload MB/s', 'download MB/s'],
        d.sides.map((s) => [
          s.label,
          `${formatNumber(s.baselineRss / MB, 1)} MB`,
          `${formatNumber(s.peakRss / MB, 1)} MB`,
          `${formatNumber(s.growth / MB, 1)} MB`,
          s.runs.map((x) => formatNumber((Math.max(x.peakUploadRss, x.peakDownloadRss, x.hwm ?? 0) - x.baselineRss) / MB, 1)).join(' / '),
          formatNumber(s.uploadMBps),
          formatNumber(s.downloadMBps),
        ]),
      ),
    );
    for (const s of d.sides) out.push(`  ${s.label}: ${s.how}`);
    out.push('  baseline: RSS just before streaming, after opening PGlite, the keyring and the store (the same setup on both sides); growth = peak − baseline');
    for (const ch of d.checks) out.push(`  check: ${ch}`);
  } else {
    out.push(`P3 document: failed (${p3.documentError?.split('\n')[0] ?? 'unknown'})`);
  }
  out.push('');
}

function printP4(p4: P4Result, out: string[]): void {
  const ms = (x: number | null) => (x === null ? '—' : formatNumber(x * 1000));
  const pct = (x: number | null) => (x === null ? '—' : `${formatNumber(x * 100)}%`);
  for (const e of p4.engines) {
    const warmup = Math.max(50, Math.floor(e.eventsPerWriter / 4));
    out.push(
      `P4 — audit appends, ${e.label}: ${e.writers} concurrent writers on one tenant, ${e.writers} × ${formatNumber(e.eventsPerWriter)} appends per side per round,` +
        ` ${e.rounds} rounds per side, alternating (after a warmup round of ${e.writers} × ${formatNumber(warmup)} each); body ${formatNumber(e.bodyBytes)} bytes`,
    );
    const bare = e.sides.find((s) => s.key === 'bare')!;
    const m = (s: (typeof e.sides)[number], f: (r: (typeof s.rounds)[number]) => number | null): number | null => {
      const xs = s.rounds.map(f).filter((x): x is number => x !== null);
      return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    out.push(
      table(
        ['side', 'appends/s (median)', 'rounds (appends/s)', 'vs bare', "writers' appends/s", 'sequencer tail ms', 'sequencer busy', 'p50 ms', 'p99 ms', 'client CPU µs/append', 'PG CPU µs/append'],
        e.sides.map((s) => [
          s.label,
          formatNumber(s.perSecond),
          s.rounds.map((r) => formatNumber(r.perSecond)).join(' / '),
          `${(s.perSecond / bare.perSecond).toFixed(3)}×`,
          formatNumber(s.writerPerSecond),
          ms(m(s, (r) => r.tailSeconds)),
          pct(m(s, (r) => r.sequencerShare)),
          formatNumber(m(s, (r) => r.p50Ms) ?? Number.NaN, 2),
          formatNumber(m(s, (r) => r.p99Ms) ?? Number.NaN, 2),
          formatNumber(m(s, (r) => r.clientCpuUsPerAppend) ?? Number.NaN),
          formatNumber(m(s, (r) => r.pgCpuUsPerAppend) ?? Number.NaN),
        ]),
      ),
    );
    for (const s of e.sides) out.push(`  ${s.label}: ${s.how}`);
    out.push(
      "  appends/s: over the whole round (Rampart: until every event is chained); writers' appends/s: while the writers ran; sequencer tail: from the last commit until chained;" +
        ' sequencer busy: wall time of its transactions ÷ the round; p50/p99, CPU: means over the rounds (client = this process, PG = all postgres processes)',
    );
    if (e.engine === 'pglite') {
      const rampart = e.sides.find((s) => s.key === 'rampart')!;
      out.push(`  PGlite: Rampart ÷ bare PGlite = ${(rampart.perSecond / bare.perSecond).toFixed(3)}× (context, no goal)`);
    }
    out.push(`  forks: ${e.forks}`);
    for (const c of e.checks) out.push(`  check: ${c}`);
    out.push('');
  }
}

function printP5(p5: P5Result, out: string[]): void {
  out.push(
    `P5 — verifying a chain of ${formatNumber(p5.events)} events with ${p5.checkpoints} signed checkpoints (export ${formatNumber(p5.fileBytes / 1e6, 1)} MB, records ${formatNumber(p5.recordBytes / 1e6, 1)} MB),` +
      ` in this process, ${p5.rounds} rounds per side, alternating in pairs (after a warmup each)`,
  );
  const against: Record<string, string> = { 'verify-export': 'bare-file', 'chain-verifier': 'bare-memory' };
  const byKey = (key: string) => p5.sides.find((s) => s.key === key)!;
  out.push(
    table(
      ['side', 'events/s (median)', 'rounds (events/s)', 'MB/s (records hashed)', 'MB/s (file read)', 'vs its bare'],
      p5.sides.map((s) => {
        const ref = against[s.key];
        return [
          s.label,
          formatNumber(s.eventsPerSecond),
          s.roundsEventsPerSecond.map((x) => formatNumber(x)).join(' / '),
          formatNumber(s.recordMBps),
          s.fileMBps === null ? '—' : formatNumber(s.fileMBps),
          ref ? `${(s.eventsPerSecond / byKey(ref).eventsPerSecond).toFixed(3)}×` : '—',
        ];
      }),
    ),
  );
  for (const s of p5.sides) out.push(`  ${s.label}: ${s.how}`);
  out.push(
    `  ChainVerifier (in memory) ÷ bare SHA-256 (file): ${(byKey('chain-verifier').eventsPerSecond / byKey('bare-file').eventsPerSecond).toFixed(3)}×`,
  );
  out.push(
    `  live verification: audit.verify on the database ${formatNumber(p5.live.eventsPerSecond)} events/s (rounds ${p5.live.roundsEventsPerSecond.map((x) => formatNumber(x)).join(' / ')}; no goal) — ${p5.live.how}`,
  );
  out.push(
    `  the chain: ${p5.build.how}; queued in ${p5.build.queueSeconds.toFixed(1)} s, chained in ${p5.build.sequenceSeconds.toFixed(1)} s` +
      ` (${formatNumber(p5.events / p5.build.sequenceSeconds)} events/s), exported in ${p5.build.exportSeconds.toFixed(1)} s (${formatNumber(p5.build.exportEventsPerSecond)} events/s)`,
  );
  for (const c of p5.checks) out.push(`  check: ${c}`);
  out.push('');
}

function printP6(p6: P6Result, out: string[]): void {
  const t = p6.timing;
  out.push(
    `P6 — password sign-ins (POST /api/v1/auth/sign-in), ${t.clients} clients in closed loops, ${t.rounds} rounds × ${t.seconds} s (after ${t.warmupSeconds} s warmup)`,
  );
  out.push(
    table(
      ['argon2id', 'hash ms (median)', 'cores', 'limit /s', 'sign-ins /s (median)', 'rounds (/s)', 'vs limit', 'p50 ms', 'CPU ms/sign-in server · PG · client', 'failed', 'RSS idle', 'RSS max load', 'RSS peak'],
      [
        [
          `m=${p6.argon2.memoryKib} KiB t=${p6.argon2.timeCost} p=${p6.argon2.parallelism}`,
          formatNumber(p6.hashMs, 1),
          String(p6.cores),
          formatNumber(p6.limitPerSecond, 1),
          formatNumber(p6.signInsPerSecond, 1),
          p6.roundsPerSecond.map((r) => formatNumber(r, 1)).join(' / '),
          `${(p6.signInsPerSecond / p6.limitPerSecond).toFixed(3)}×`,
          formatNumber(p6.p50Ms, 1),
          `${formatNumber(p6.serverCpuMsPerSignIn, 2)} · ${formatNumber(p6.pgCpuMsPerSignIn, 2)} · ${formatNumber(p6.clientCpuMsPerSignIn, 2)}`,
          formatNumber(p6.failures),
          `${formatNumber(p6.rssIdleMb, 1)} MB`,
          `${formatNumber(p6.rssLoadedMaxMb, 1)} MB`,
          `${formatNumber(p6.rssPeakMb, 1)} MB`,
        ],
      ],
    ),
  );
  out.push('  limit = cores ÷ the median time of one argon2id hash in this process with the same library and parameters');
  out.push('');
}

function printP7(p7: P7Result, out: string[]): void {
  const t = p7.timing;
  const us = (x: number) => formatNumber(x, x < 10 ? 3 : x < 1000 ? 1 : 0);
  const times = (x: number) => (x < 100 ? `${x.toFixed(3)}×` : `${formatNumber(x)}×`);
  out.push(
    `P7 — the permission decision, ${t.decisionsInMix} decisions in turn (4 callers × a scope held and one not), in this process,` +
      ` ${t.rounds} rounds × ${t.roundMs} ms per side, alternating (after ${t.warmupMs} ms warmup and calibration each)`,
  );
  const rampart = p7.sides.find((s) => s.key === 'rampart')!;
  out.push(
    table(
      ['side', 'µs/decision (median)', 'decisions/s', 'rounds (µs/decision)', 'Rampart speed ÷ side', 'iterations/round'],
      p7.sides.map((s) => [
        s.label,
        us(s.usPerDecision),
        formatNumber(s.decisionsPerSecond),
        s.roundsUs.map(us).join(' / '),
        times(s.usPerDecision / rampart.usPerDecision),
        formatNumber(s.iterations),
      ]),
    ),
  );
  for (const s of p7.sides) out.push(`  ${s.label}: ${s.how}`);
  out.push('');
  out.push(
    table(
      ['caller (alone)', 'allowed · denied scope', 'Rampart µs', 'casbin µs', 'Rampart speed ÷ casbin'],
      p7.callers.map((c) => [c.label, `${c.allowed} · ${c.denied}`, us(c.rampartUs), us(c.casbinUs), times(c.casbinUs / c.rampartUs)]),
    ),
  );
  const r = p7.p2;
  if (r) {
    const pct = (x: number) => `${formatNumber(x * 100, 4)}%`;
    out.push(
      `  share of the P2 request: ${us(rampart.usPerDecision)} µs ÷ ${formatNumber(r.meanLatencyUs)} µs mean latency` +
        ` (${r.connections} connections ÷ ${formatNumber(r.rps)} req/s; p50 ${formatNumber(r.p50Ms, 2)} ms) = ${pct(p7.shareOfRequest)}, goal ≤ 5%`,
    );
    out.push(`  share of P2's server CPU per request: ${us(rampart.usPerDecision)} µs ÷ ${formatNumber(r.serverCpuUsPerRequest)} µs = ${pct(p7.shareOfServerCpu)}`);
    out.push(`  P2 figure: ${r.source}`);
  } else {
    out.push(`  share of the P2 request: no P2 figure (${p7.p2Error ?? 'unknown'})`);
  }
  for (const c of p7.checks) out.push(`  check: ${c}`);
  out.push('');
}

function printP8(p8: P8Result, out: string[]): void {
  out.push(`P8 — a SCIM lookup (filter=userName eq "…") in a workspace of ${formatNumber(p8.users)} SCIM users, in this process, alternating rounds (after a warmup each)`);
  out.push(
    table(
      ['side', 'p50 ms', 'p99 ms', 'rounds (p50 ms)', 'vs bare (p50)', 'requests'],
      [p8.rampart, p8.bare].map((s) => [
        s.label,
        formatNumber(s.p50Ms, 3),
        formatNumber(s.p99Ms, 3),
        s.roundsP50Ms.map((x) => formatNumber(x, 3)).join(' / '),
        `${(s.p50Ms / p8.bare.p50Ms).toFixed(2)}×`,
        formatNumber(s.requests),
      ]),
    ),
  );
  for (const s of [p8.rampart, p8.bare]) out.push(`  ${s.label}: ${s.how}`);
  out.push('  plan of the server\'s statement (EXPLAIN ANALYZE, in the tenant transaction as the app role):');
  for (const line of p8.plan) out.push(`    ${line}`);
  out.push('  plan of the bare statement:');
  for (const line of p8.barePlan) out.push(`    ${line}`);
  for (const c of p8.checks) out.push(`  check: ${c}`);
  out.push('');
}

function printP9(p9: P9Result, out: string[]): void {
  const t = p9.timing;
  out.push(
    `P9 — SAML response validations (one ${formatNumber(p9.responseBytes)}-byte signed response, RSA-SHA256), in this process,` +
      ` ${t.rounds} rounds × ${t.roundMs} ms per side, alternating (after ${t.warmupMs} ms warmup each)`,
  );
  const rampart = p9.sides.find((s) => s.key === 'rampart');
  out.push(
    table(
      ['side', 'validations/s (median)', 'rounds', 'Rampart ÷ side'],
      p9.sides.map((s) => [s.label, formatNumber(s.perSecond), s.rounds.map((r) => formatNumber(r)).join(' / '), `${((rampart?.perSecond ?? 0) / s.perSecond).toFixed(3)}×`]),
    ),
  );
  out.push(`  Rampart on ${p9.bothCores.workers} worker threads (${t.workerMs} ms each): ${formatNumber(p9.bothCores.perSecond)} validations/s`);
  out.push('');
}

function printP10(p10: P10Result, out: string[]): void {
  const kb = (bytes: number) => `${formatNumber(bytes / 1000, 1)} KB`;
  out.push(`P10 — the console's first screen: the JS and CSS index.html loads, gzipped (level 9), and its first contentful paint in ${p10.chromium}`);
  out.push(
    table(
      ['file', 'bytes', 'gzipped'],
      [
        ...p10.firstScreen.map((f) => [f.file, kb(f.bytes), kb(f.gzipBytes)]),
        ['first screen', kb(p10.firstScreenBytes), kb(p10.firstScreenGzipBytes)],
        ...p10.later.map((f) => [`${f.file} (loaded later)`, kb(f.bytes), kb(f.gzipBytes)]),
      ],
    ),
  );
  const bare = p10.sides.find((s) => s.key === 'bare')!;
  out.push(
    table(
      ['side', 'FCP ms (median)', 'rounds (ms, min–max)', 'vs blank page', 'sign-in form ms'],
      p10.sides.map((s) => [
        s.label,
        formatNumber(s.fcpMs, 1),
        `${formatNumber(Math.min(...s.roundsMs), 1)}–${formatNumber(Math.max(...s.roundsMs), 1)}`,
        `${(s.fcpMs / bare.fcpMs).toFixed(3)}×`,
        s.readyMs === null ? '—' : formatNumber(s.readyMs, 1),
      ]),
    ),
  );
  for (const s of p10.sides) out.push(`  ${s.label}: ${s.how}`);
  for (const c of p10.checks) out.push(`  check: ${c}`);
  out.push('');
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const t0 = performance.now();
  const settings = readSettings();
  const only = settings.only;
  const info = await machine(settings);
  const errors: Array<{ part: string; error: string }> = [];

  let p1: P1Result | null = null;
  let p2: P2Result | null = null;
  let p3: P3Result | null = null;
  let p4: P4Result | null = null;
  let p5: P5Result | null = null;
  let p6: P6Result | null = null;
  let p7: P7Result | null = null;
  let p8: P8Result | null = null;
  let p9: P9Result | null = null;
  let p10: P10Result | null = null;
  if (only === undefined || only === 'p1') {
    try {
      progress('P1: row-level security on the hot path');
      p1 = await runP1(settings);
    } catch (err) {
      errors.push({ part: 'P1', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P1 failed: ${String(err)}`);
    }
  }
  if (only === undefined || only === 'p2' || only === 'p6') {
    progress('building the server (npm run build:server)');
    await run('npm', ['run', '--silent', 'build:server'], ROOT);
  }
  if (only === undefined || only === 'p2') {
    try {
      progress('P2: authenticated HTTP read');
      p2 = await runP2(settings);
    } catch (err) {
      errors.push({ part: 'P2', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P2 failed: ${String(err)}`);
    }
  }

  if (only === undefined || only === 'p3') {
    try {
      progress('P3: encryption');
      p3 = await runP3(settings);
      if (p3.rewrapError !== undefined) errors.push({ part: 'P3 rewrap', error: p3.rewrapError });
      if (p3.documentError !== undefined) errors.push({ part: 'P3 document', error: p3.documentError });
    } catch (err) {
      errors.push({ part: 'P3', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P3 failed: ${String(err)}`);
    }
  }

  if (only === undefined || only === 'p4') {
    try {
      progress('P4: audit appends from concurrent writers');
      p4 = await runP4(settings);
    } catch (err) {
      errors.push({ part: 'P4', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P4 failed: ${String(err)}`);
    }
  }

  if (only === undefined || only === 'p5') {
    try {
      progress('P5: audit verification');
      p5 = await runP5(settings);
    } catch (err) {
      errors.push({ part: 'P5', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P5 failed: ${String(err)}`);
    }
  }

  if (only === undefined || only === 'p6') {
    try {
      progress('P6: password sign-ins');
      p6 = await runP6(settings);
    } catch (err) {
      errors.push({ part: 'P6', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P6 failed: ${String(err)}`);
    }
  }

  if (only === undefined || only === 'p7') {
    try {
      progress('P7: the permission decision');
      p7 = await runP7(settings, p2);
    } catch (err) {
      errors.push({ part: 'P7', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P7 failed: ${String(err)}`);
    }
  }

  if (only === undefined || only === 'p8') {
    try {
      progress('P8: SCIM lookups');
      p8 = await runP8(settings);
    } catch (err) {
      errors.push({ part: 'P8', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P8 failed: ${String(err)}`);
    }
  }

  if (only === undefined || only === 'p9') {
    try {
      progress('P9: SAML response validations');
      p9 = await runP9();
    } catch (err) {
      errors.push({ part: 'P9', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P9 failed: ${String(err)}`);
    }
  }

  if (only === undefined || only === 'p10') {
    try {
      progress('P10: the console first screen');
      p10 = await runP10(settings);
    } catch (err) {
      errors.push({ part: 'P10', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`P10 failed: ${String(err)}`);
    }
  }

  const measures: Measure[] = [
    ...(p1?.measures ?? []),
    ...(p2?.measures ?? []),
    ...(p3?.measures ?? []),
    ...(p4?.measures ?? []),
    ...(p5?.measures ?? []),
    ...(p6?.measures ?? []),
    ...(p7?.measures ?? []),
    ...(p8?.measures ?? []),
    ...(p9?.measures ?? []),
    ...(p10?.measures ?? []),
  ];
  const wallSeconds = (performance.now() - t0) / 1000;

  const out: string[] = [];
  out.push(`Rampart benchmark — ${startedAt.toISOString()} — git ${info.git}`);
  out.push(
    `Machine: ${info.cpus} CPUs (${info.cpuModel}), ${info.memoryGiB.toFixed(1)} GiB RAM, ${info.os}; Node ${info.node}; ` +
      `PostgreSQL ${info.postgres} (${Object.entries(info.postgresSettings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')})`,
  );
  out.push('');
  if (p1) printP1(p1, out);
  if (p2) printP2(p2, out);
  if (p3) printP3(p3, out);
  if (p4) printP4(p4, out);
  if (p5) printP5(p5, out);
  if (p6) printP6(p6, out);
  if (p7) printP7(p7, out);
  if (p8) printP8(p8, out);
  if (p9) printP9(p9, out);
  if (p10) printP10(p10, out);
  out.push('Summary');
  out.push(measures.length > 0 ? summaryTable(measures) : '(no measures)');
  for (const m of measures) {
    if (m.goal.source !== 'project brief') out.push(`  goal of "${m.title}" (${formatGoal(m.goal)}): ${m.goal.source}`);
    if (m.note) out.push(`  ${m.verdict} "${m.title}": ${m.note}`);
  }
  for (const e of errors) out.push(`  ${e.part} FAILED: ${e.error.split('\n').slice(0, 6).join('\n    ')}`);
  out.push('');
  out.push(`Wall time: ${wallSeconds.toFixed(1)} s`);
  process.stdout.write(`${out.join('\n')}\n`);

  const dir = path.join(ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'results.json');
  const json = { startedAt: startedAt.toISOString(), wallSeconds, machine: info, settings: { ...settings, only, adminUrl: undefined }, measures, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, errors };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  progress(`results written to ${path.relative(ROOT, file)}`);

  const broken = errors.length > 0 || measures.some((m) => m.verdict === 'INVALID');
  const missed = measures.some((m) => m.verdict === 'MISS');
  return broken || (settings.strict && missed) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
