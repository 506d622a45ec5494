/**
 * P6 — password sign-ins per second with 4 concurrent clients, as a ratio to this machine's
 * limit: cores ÷ the measured time of one argon2id hash at the configured parameters (the
 * hash is the work a sign-in cannot avoid; everything else Rampart does is overhead on it).
 *
 * Starts Rampart (the built server) on a fresh PostgreSQL database with the default argon2
 * parameters and rate limits raised out of the way, creates the account through the setup link,
 * then runs 4 connections in closed loops of `POST /api/v1/auth/sign-in` (autocannon). The per-hash time is
 * measured in this process with the same library and parameters, before the load.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hash, type Algorithm } from '@node-rs/argon2';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.js';
import { measure, type Measure } from './report.js';
import {
  type Child,
  expectStatus,
  http,
  MB,
  median,
  pgUrl,
  postgresCpuBetween,
  postgresCpuSnapshot,
  progress,
  readCpuSeconds,
  readMemory,
  recreateDatabase,
  RssSampler,
  startRampart,
  timing,
  type BenchSettings,
} from './util.js';

export const P6_DATABASE = 'rampart_bench_auth';
const CLIENTS = 4;
const DEFAULTS = { seconds: 5, warmupSeconds: 2, rounds: 3 };
const HASH_SAMPLES = 30;

export interface P6Result {
  readonly timing: { readonly seconds: number; readonly warmupSeconds: number; readonly rounds: number; readonly clients: number };
  readonly argon2: { readonly memoryKib: number; readonly timeCost: number; readonly parallelism: number };
  readonly hashMs: number;
  readonly cores: number;
  readonly limitPerSecond: number;
  readonly roundsPerSecond: readonly number[];
  readonly signInsPerSecond: number;
  readonly p50Ms: number;
  readonly failures: number;
  /** CPU per sign-in over the measured rounds: the server process, PostgreSQL, and this (client) process. */
  readonly serverCpuMsPerSignIn: number;
  readonly pgCpuMsPerSignIn: number;
  readonly clientCpuMsPerSignIn: number;
  readonly rssIdleMb: number;
  readonly rssLoadedMaxMb: number;
  readonly rssPeakMb: number;
  readonly measures: readonly Measure[];
}

async function hashTimeMs(params: { memoryKib: number; timeCost: number; parallelism: number }): Promise<number> {
  const options = { algorithm: 2 as Algorithm, memoryCost: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism };
  for (let i = 0; i < 3; i++) await hash('warm up the allocator', options);
  const samples: number[] = [];
  for (let i = 0; i < HASH_SAMPLES; i++) {
    const start = performance.now();
    await hash(`sample ${i} ${randomBytes(8).toString('hex')}`, options);
    samples.push(performance.now() - start);
  }
  return median(samples);
}

/**
 * `CLIENTS` connections in closed loops of sign-ins for `seconds` (autocannon: the load generator
 * shares the machine, so it must cost little next to the server).
 */
async function load(url: string, email: string, password: string, seconds: number): Promise<{ ok: number; failed: number; latencies: number[] }> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/api/v1/auth/sign-in`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
        connections: CLIENTS,
        pipelining: 1,
        duration: seconds,
      },
      (err: unknown, r) => (err ? reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err })) : resolve(r)),
    );
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
  return { ok: result['2xx'], failed: result.non2xx + result.errors + result.timeouts, latencies };
}

export async function runP6(settings: BenchSettings): Promise<P6Result> {
  const t = timing(settings, DEFAULTS);
  const defaults = loadConfig({ env: {} });
  const argon2 = { memoryKib: defaults.argon2MemoryKib, timeCost: defaults.argon2TimeCost, parallelism: defaults.argon2Parallelism };
  const cores = os.availableParallelism();

  progress(`P6: timing one argon2id hash (m=${argon2.memoryKib} KiB, t=${argon2.timeCost}, p=${argon2.parallelism}), ${HASH_SAMPLES} samples`);
  const hashMs = await hashTimeMs(argon2);
  const limitPerSecond = cores / (hashMs / 1000);

  await recreateDatabase(settings.adminUrl, P6_DATABASE);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rampart-bench-p6-'));
  const started: Child[] = [];
  try {
    const { child, url, setupToken } = await startRampart({
      dbUrl: pgUrl(settings.adminUrl, { database: P6_DATABASE }),
      dataDir,
      started,
      profileDir: '/tmp/prof6',
      // Rate limits would (rightly) stop one client signing in hundreds of times a minute.
      env: { RAMPART_RATE_LIMIT_IP_PER_MINUTE: '1000000', RAMPART_RATE_LIMIT_EMAIL_PER_5_MINUTES: '1000000' },
    });
    const email = 'p6@example.com';
    const password = `bench ${randomBytes(12).toString('base64url')}`;
    expectStatus(await http('POST', `${url}/api/v1/auth/sign-up`, { email, password, setupToken }), 201, 'sign-up');
    expectStatus(await http('POST', `${url}/api/v1/auth/sign-in`, { email, password }), 200, 'sign-in');

    const rssIdle = readMemory(child.pid).rss;
    progress(`P6: warmup ${t.warmupSeconds} s, then ${t.rounds} rounds × ${t.seconds} s with ${CLIENTS} clients`);
    const sampler = new RssSampler(child.pid, 100);
    let failures = (await load(url, email, password, t.warmupSeconds)).failed;
    const rounds: number[] = [];
    const latencies: number[] = [];
    const serverCpuBefore = readCpuSeconds(child.pid);
    const pgBefore = postgresCpuSnapshot();
    const clientBefore = process.cpuUsage();
    let completed = 0;
    for (let r = 0; r < t.rounds; r++) {
      const run = await load(url, email, password, t.seconds);
      failures += run.failed;
      completed += run.ok;
      rounds.push(run.ok / t.seconds);
      latencies.push(...run.latencies);
    }
    const serverCpu = readCpuSeconds(child.pid) - serverCpuBefore;
    const pgCpu = postgresCpuBetween(pgBefore, postgresCpuSnapshot());
    const clientUsage = process.cpuUsage(clientBefore);
    const clientCpu = (clientUsage.user + clientUsage.system) / 1e6;
    const rss = sampler.stop();
    const signInsPerSecond = median(rounds);
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50Ms = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    const result = {
      timing: { ...t, clients: CLIENTS },
      argon2,
      hashMs,
      cores,
      limitPerSecond,
      roundsPerSecond: rounds,
      signInsPerSecond,
      p50Ms,
      failures,
      serverCpuMsPerSignIn: (serverCpu / completed) * 1000,
      pgCpuMsPerSignIn: (pgCpu / completed) * 1000,
      clientCpuMsPerSignIn: (clientCpu / completed) * 1000,
      rssIdleMb: rssIdle / MB,
      rssLoadedMaxMb: rss.maxRss / MB,
      rssPeakMb: readMemory(child.pid).hwm / MB,
    };
    const measures = [
      measure(
        {
          id: 'p6.sign_ins_vs_limit',
          title: `P6 password sign-ins/s, ${CLIENTS} clients: Rampart vs cores ÷ argon2id time`,
          figure: { label: 'Rampart sign-ins', value: signInsPerSecond, unit: '/s' },
          reference: { label: `limit (${cores} cores ÷ ${hashMs.toFixed(1)} ms)`, value: limitPerSecond, unit: '/s' },
          goal: { op: '>=', value: 0.85, unit: 'x', source: 'project brief' },
        },
        failures > 0 ? [`${failures} sign-ins did not answer 200`] : [],
      ),
    ];
    return { ...result, measures };
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${started.map((c) => c.tail()).join('\n')}`, { cause: err });
  } finally {
    for (const c of started) await c.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
