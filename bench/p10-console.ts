/**
 * P10 — the console's first screen: its size and how soon it paints.
 *
 * Size: the JavaScript and CSS that web/dist/index.html loads before anything else (its scripts,
 * stylesheets and module preloads, and the static imports they pull in), gzipped at level 9 as a
 * reverse proxy would send them, against the budget of 150 KB; chunks loaded later (lazy imports)
 * are listed apart.
 *
 * Paint: first contentful paint read from Chromium's performance timeline
 * (`performance.getEntriesByName('first-contentful-paint')`), each load in a fresh browser
 * context (cold cache, no service worker), of three pages served by the same Rampart server in
 * this process (the built console, production settings, on the PostgreSQL server):
 *   - bare: a blank page — one line of text, no script, no stylesheet — answered by a route added
 *     to the same app, so it carries the same headers (CSP and the rest);
 *   - Rampart: the console at /sign-in, as a person who is not signed in opens it; also the time
 *     until its sign-in form is on screen (its email field visible);
 *   - peer: Swagger UI (the API reference the same server serves at /api/v1/docs), a widely used
 *     single-page app of the same kind.
 * Sides alternate in every round (who goes first rotates); the figure is the median round.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { ensureConsoleBuilt } from '../scripts/console-build.js';
import { loadConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/server.js';
import { measure, type Goal, type Measure } from './report.js';
import { median, pgUrl, progress, recreateDatabase, ROOT, rotate, type BenchSettings } from './util.js';

export const P10_DATABASE = 'rampart_bench_console';
const DIST = path.join(ROOT, 'web', 'dist');
const ROUNDS = 25;
const WARMUP_ROUNDS = 2;
const BUDGET_KB = 150;
const BLANK_PATH = '/bench-blank';
const CHROMIUM = '/usr/bin/chromium';

export interface P10File {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface P10Side {
  readonly key: 'bare' | 'rampart' | 'peer';
  readonly label: string;
  readonly how: string;
  readonly fcpMs: number;
  readonly roundsMs: readonly number[];
  /** Rampart only: until the sign-in form is on screen. */
  readonly readyMs: number | null;
}

export interface P10Result {
  readonly firstScreen: readonly P10File[];
  readonly later: readonly P10File[];
  readonly firstScreenGzipBytes: number;
  readonly firstScreenBytes: number;
  readonly sides: readonly P10Side[];
  readonly rounds: number;
  readonly chromium: string;
  readonly checks: readonly string[];
  readonly measures: Measure[];
}

function fileFigures(relative: string): P10File {
  const bytes = readFileSync(path.join(DIST, relative));
  return { file: relative, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

/**
 * What index.html loads before the first paint: its scripts, stylesheets and module preloads,
 * and, transitively, the static `import … from "./x.js"` of those scripts (not `import()`).
 */
export function firstScreenFiles(): { first: string[]; later: string[] } {
  const html = readFileSync(path.join(DIST, 'index.html'), 'utf8');
  const first = new Set<string>();
  const queue: string[] = [];
  for (const m of html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="\/?([^"]+\.(?:js|css))"/g)) queue.push(m[1]!);
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (first.has(file)) continue;
    first.add(file);
    if (!file.endsWith('.js')) continue;
    const source = readFileSync(path.join(DIST, file), 'utf8');
    const dir = path.posix.dirname(file);
    for (const m of source.matchAll(/(?:^|[;\s}])import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) {
      queue.push(path.posix.join(dir, m[1]!));
    }
  }
  const all = readdirSync(path.join(DIST, 'assets')).filter((f) => /\.(js|css)$/.test(f)).map((f) => `assets/${f}`);
  return { first: [...first], later: all.filter((f) => !first.has(f)) };
}

/** One cold load in a fresh context: FCP, and for the console when its sign-in form shows. */
async function load(browser: Browser, url: string, readySelector: string | null): Promise<{ fcp: number; ready: number | null }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    let ready: number | null = null;
    if (readySelector) {
      await page.locator(readySelector).first().waitFor({ state: 'visible', timeout: 15_000 });
      ready = await page.evaluate(() => performance.now());
    }
    // The paint entry is in the timeline once Chromium has painted; wait for it (up to 10 s).
    const handle = await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime, undefined, { timeout: 10_000, polling: 20 });
    const fcp = Number(await handle.jsonValue());
    return { fcp, ready };
  } finally {
    await context.close();
  }
}

export async function runP10(settings: BenchSettings): Promise<P10Result> {
  if (!existsSync(CHROMIUM)) throw new Error(`P10 needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
  if (ensureConsoleBuilt()) progress('P10: built the console (its sources were newer than web/dist)');
  const checks: string[] = [];
  const invalid: string[] = [];

  const { first, later } = firstScreenFiles();
  const firstScreen = first.map(fileFigures);
  const laterFiles = later.map(fileFigures);
  const firstScreenGzipBytes = firstScreen.reduce((sum, f) => sum + f.gzipBytes, 0);
  const firstScreenBytes = firstScreen.reduce((sum, f) => sum + f.bytes, 0);
  if (!first.some((f) => f.endsWith('.js')) || !first.some((f) => f.endsWith('.css'))) invalid.push('index.html loads no script or no stylesheet');

  await recreateDatabase(settings.adminUrl, P10_DATABASE);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rampart-bench-console-'));
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  try {
    const config = {
      ...loadConfig({ env: { DATABASE_URL: pgUrl(settings.adminUrl, { database: P10_DATABASE }) }, flags: { port: 0, dataDir, logLevel: 'warn' } }),
      rootSecret: randomBytes(32).toString('base64url'),
    };
    server = await startServer(
      config,
      () => {},
      {
        beforeListen: (app) => {
          app.get(BLANK_PATH, { schema: { hide: true } }, async (_request, reply) =>
            reply.type('text/html; charset=utf-8').send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Blank</title></head><body><p>Blank page.</p></body></html>'),
          );
        },
      },
    );
    const base = server.url;
    // An account exists, so /sign-in is the page a visitor sees (not the setup notice).
    const token = server.setupLink ? new URL(server.setupLink).hash.replace('#token=', '') : null;
    if (!token) throw new Error('P10: the server printed no setup link');
    const signUp = await fetch(`${base}/api/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@bench.test', password: 'correct horse battery staple bench', setupToken: token }),
    });
    if (signUp.status !== 201) throw new Error(`P10: creating the first account answered ${signUp.status}`);

    const blank = await fetch(`${base}${BLANK_PATH}`);
    const csp = blank.headers.get('content-security-policy');
    const consoleCsp = (await fetch(`${base}/sign-in`, { headers: { accept: 'text/html' } })).headers.get('content-security-policy');
    if (!csp || csp !== consoleCsp) invalid.push('the blank page does not carry the console’s Content-Security-Policy');
    else checks.push('the blank page and the console carry the same Content-Security-Policy');

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const chromiumLabel = `Chromium ${browser.version()}`;
    const targets = [
      { key: 'bare' as const, url: `${base}${BLANK_PATH}`, ready: null },
      { key: 'rampart' as const, url: `${base}/sign-in`, ready: 'input[type=email]' },
      { key: 'peer' as const, url: `${base}/api/v1/docs/`, ready: null },
    ];
    const fcps = new Map<string, number[]>(targets.map((t) => [t.key, []]));
    const readies: number[] = [];
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round += 1) {
      progress(`P10: round ${round + 1}/${WARMUP_ROUNDS + ROUNDS}${round < WARMUP_ROUNDS ? ' (warmup)' : ''}`);
      for (const t of rotate(targets, round)) {
        const { fcp, ready } = await load(browser, t.url, t.ready);
        if (round < WARMUP_ROUNDS) continue;
        fcps.get(t.key)!.push(fcp);
        if (ready !== null) readies.push(ready);
      }
    }
    checks.push(`every load in a fresh browser context (cold cache); ${ROUNDS} rounds after ${WARMUP_ROUNDS} warmup rounds; viewport 1440×900`);

    const label = { bare: 'blank page (same server)', rampart: 'Rampart console (/sign-in)', peer: 'Swagger UI (/api/v1/docs)' } as const;
    const how = {
      bare: `${BLANK_PATH}: one paragraph of text, no script or stylesheet, a route on the same app (same headers)`,
      rampart: `the built console; index.html, then its script and stylesheet; the sign-in form rendered after GET /api/v1/setup`,
      peer: '@fastify/swagger-ui as Rampart serves it: its HTML, CSS and the Swagger UI bundle, rendering the OpenAPI document',
    } as const;
    const sides: P10Side[] = targets.map((t) => ({
      key: t.key,
      label: label[t.key],
      how: how[t.key],
      fcpMs: median(fcps.get(t.key)!),
      roundsMs: fcps.get(t.key)!,
      readyMs: t.key === 'rampart' ? median(readies) : null,
    }));
    const side = (key: P10Side['key']) => sides.find((s) => s.key === key)!;
    const fig = (s: P10Side) => ({ label: s.label, value: s.fcpMs, unit: 'ms' });
    /** The console's first contentful paint against another side's. */
    const fcpAgainst = (key: P10Side['key'], id: string, what: string, goal: Goal) =>
      measure({ id, title: `P10 console first contentful paint vs ${what}`, figure: fig(side('rampart')), reference: fig(side(key)), goal }, invalid);

    const measures: Measure[] = [
      measure(
        {
          id: 'p10-bundle',
          title: 'P10 console first-screen JS+CSS, gzipped',
          figure: { label: 'first screen', value: firstScreenGzipBytes / 1000, unit: 'KB' },
          reference: { label: 'budget', value: BUDGET_KB, unit: 'KB' },
          goal: { op: '<=', value: 1, unit: 'x', source: 'project brief (≤ 150 KB gzipped)' },
        },
        invalid,
      ),
      fcpAgainst('bare', 'p10-fcp-bare', 'a blank page', { op: '<=', value: 1.5, unit: 'x', source: 'project brief (1.0× to 1.5× of a blank page)' }),
      fcpAgainst('peer', 'p10-fcp-peer', 'Swagger UI', { op: '<=', value: 1, unit: 'x', source: 'harness default (no slower than the peer)' }),
    ];
    return {
      firstScreen,
      later: laterFiles,
      firstScreenGzipBytes,
      firstScreenBytes,
      sides,
      rounds: ROUNDS,
      chromium: chromiumLabel,
      checks,
      measures,
    };
  } finally {
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}
