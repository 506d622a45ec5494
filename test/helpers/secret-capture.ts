/**
 * The secret-capture harness: while a test file runs, every secret the tests handle is recorded,
 * and so is every log line and error response the test apps produce. At the end of the file
 * (test/setup/secret-capture.ts, a setupFile of every test file) no captured line or error
 * response may contain a recorded secret, raw or encoded.
 *
 * Secrets are harvested from the traffic of apps built by buildTestApp (Fastify hooks added by
 * `instrumentApp`, test-side only): credentials in requests (authorization, cookies, CSRF header,
 * secret-named body fields, also out of malformed JSON), credentials the app hands out in 2xx/3xx
 * responses (set-cookie, tokens, API key secrets, recovery codes, TOTP secrets, link tokens in
 * bodies and redirects), link tokens in enqueued mail, configuration secrets; tests add their own
 * with `registerSecret`. A 2xx response may carry a secret to its owner: only logs and error
 * responses are checked, and an error response's set-cookie values (issued to that client, like
 * a 2xx's) are harvested rather than checked.
 *
 * Values shorter than 8 characters are ignored, and so is a value the tests also sent in a
 * non-secret position (a URL, a query or body field's name, a name field), whole or as part of
 * one: the fuzzer sends the same odd strings as passwords and inside query strings, and what a
 * client puts in a URL is the client's choice to expose.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Transform, Writable, pipeline } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { Config } from '../../src/config.js';
import { loggerOptions } from '../../src/platform/log.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const MIN_SECRET_LENGTH = 8;

export interface Finding {
  /** What the secret is, e.g. `request body "password"`. */
  readonly kind: string;
  /** First 4 characters and the length: enough to tell secrets apart, never the secret. */
  readonly fingerprint: string;
  /** How it was written: raw, url-encoded, json-escaped, base64, base64url or hex. */
  readonly form: string;
  /** Where: the log line or the error response, with the secret masked in the excerpt. */
  readonly where: string;
}

export interface CaptureSummary {
  readonly secrets: number;
  readonly logLines: number;
  readonly errorResponses: number;
  /** Development-mode "mail held" lines, which show links by design (see `captureLogLine`). */
  readonly devMailLines: number;
}

interface Entry {
  readonly text: string;
  readonly where: string;
}

interface Registry {
  readonly secrets: Map<string, string>;
  readonly publicValues: Set<string>;
  readonly logLines: Entry[];
  readonly errorResponses: Entry[];
  devMailLines: number;
}

const KEY = Symbol.for('rampart.test.secretCapture');

function registry(): Registry {
  const g = globalThis as { [KEY]?: Registry };
  g[KEY] ??= { secrets: new Map(), publicValues: new Set(), logLines: [], errorResponses: [], devMailLines: 0 };
  return g[KEY];
}

/** Starts afresh (the setupFile does this when a test file starts). */
export function resetCapture(): void {
  delete (globalThis as { [KEY]?: Registry })[KEY];
}

/** Adds a value the tests know to be secret (root key material, a vault value, a PIN…). */
export function registerSecret(value: string, kind = 'registered by the test'): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
  const secrets = registry().secrets;
  if (!secrets.has(value)) secrets.set(value, kind);
}

/** A value the tests sent in a non-secret position: never reported as a leaked secret. */
export function notePublic(value: string): void {
  if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) registry().publicValues.add(value);
}

/**
 * A log line of a test app. In development mode without SMTP the mailer logs held messages' links
 * on purpose (src/platform/mail/mailer.ts: the operator reads them there): those lines of an app
 * built with `dev: true` are counted, not checked.
 */
export function captureLogLine(line: string, options: { dev?: boolean } = {}): void {
  const r = registry();
  if (options.dev && line.includes('"msg":"mail held (no SMTP):')) {
    r.devMailLines += 1;
    return;
  }
  r.logLines.push({ text: line, where: `log line #${r.logLines.length + 1}` });
}

export function captureErrorResponse(text: string, where: string): void {
  const r = registry();
  r.errorResponses.push({ text, where: `error response #${r.errorResponses.length + 1} (${where})` });
}

export function captureSummary(): CaptureSummary {
  const r = registry();
  return { secrets: r.secrets.size, logLines: r.logLines.length, errorResponses: r.errorResponses.length, devMailLines: r.devMailLines };
}

/** Removes captured lines and responses that `drop` selects (tests of the harness itself). */
export function discardCaptured(drop: (text: string) => boolean): number {
  const r = registry();
  let removed = 0;
  for (const list of [r.logLines, r.errorResponses]) {
    const kept = list.filter((e) => !drop(e.text));
    removed += list.length - kept.length;
    list.splice(0, list.length, ...kept);
  }
  return removed;
}

/** The registered secrets of a kind (tests of the harness itself). */
export function registeredSecrets(kind?: RegExp): string[] {
  return [...registry().secrets].filter(([, k]) => !kind || kind.test(k)).map(([v]) => v);
}

export function fingerprint(value: string): string {
  return `"${[...value].slice(0, 4).join('')}…" (${value.length} chars)`;
}

// --- The check -----------------------------------------------------------------------------

interface Form {
  readonly text: string;
  readonly name: string;
  readonly secret: string;
}

function formsOf(secret: string): Form[] {
  const utf8 = Buffer.from(secret, 'utf8');
  const candidates: Array<[string, string]> = [
    ['raw', secret],
    ['url-encoded', encodeURIComponent(secret)],
    ['json-escaped', JSON.stringify(secret).slice(1, -1)],
    ['base64', utf8.toString('base64')],
    ['base64url', utf8.toString('base64url')],
    ['hex', utf8.toString('hex')],
  ];
  const seen = new Set<string>();
  const forms: Form[] = [];
  for (const [name, text] of candidates) {
    if (seen.has(text)) continue;
    seen.add(text);
    forms.push({ text, name, secret });
  }
  return forms;
}

// Rabin–Karp over the first MIN_SECRET_LENGTH characters: one pass over the captured text
// whatever the number of secrets (a file registers hundreds and captures tens of thousands of lines).
const K = MIN_SECRET_LENGTH;
const BASE = 257;
let baseK = 1;
for (let i = 0; i < K - 1; i++) baseK = Math.imul(baseK, BASE);

function headHash(text: string): number {
  let h = 0;
  for (let i = 0; i < K; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
  return h;
}

interface Hit {
  readonly form: Form;
  readonly index: number;
}

function scan(text: string, table: Map<number, Form[]>): Hit[] {
  const hits: Hit[] = [];
  if (text.length < K) return hits;
  let h = headHash(text);
  for (let start = 0; ; start++) {
    const candidates = table.get(h);
    if (candidates) for (const form of candidates) if (text.startsWith(form.text, start)) hits.push({ form, index: start });
    const next = start + K;
    if (next >= text.length) break;
    h = (Math.imul((h - Math.imul(text.charCodeAt(start), baseK)) | 0, BASE) + text.charCodeAt(next)) | 0;
  }
  return hits;
}

function excerpt(text: string, hits: readonly Hit[], secrets: ReadonlyMap<string, string>): string {
  const spans = hits.map((h) => ({ start: h.index, end: h.index + h.form.text.length, secret: h.form.secret })).sort((a, b) => a.start - b.start);
  const first = hits[0] as Hit;
  let from = Math.max(0, first.index - 60);
  let to = Math.min(text.length, first.index + first.form.text.length + 60);
  // The window never cuts a secret: it widens to whole hits, which are then masked.
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of spans) {
      if (s.start < from && s.end > from) [from, changed] = [s.start, true];
      if (s.start < to && s.end > to) [to, changed] = [s.end, true];
    }
  }
  let shown = '';
  let pos = from;
  for (const s of spans) {
    if (s.end <= from || s.start >= to) continue;
    if (s.start < pos) {
      pos = Math.max(pos, s.end);
      continue;
    }
    shown += `${text.slice(pos, s.start)}‹${secrets.get(s.secret) ?? 'secret'} ${fingerprint(s.secret)}›`;
    pos = s.end;
  }
  shown += text.slice(pos, to);
  return `${from > 0 ? '…' : ''}${shown}${to < text.length ? '…' : ''}`;
}

/** Every registered secret found in a captured log line or error response. */
export function findLeaks(): Finding[] {
  const r = registry();
  const table = new Map<number, Form[]>();
  // NUL-joined, so that a secret is found only inside one public value, never across two.
  const publicText = [...r.publicValues].join('\u0000');
  for (const secret of r.secrets.keys()) {
    if (publicText.includes(secret)) continue;
    for (const form of formsOf(secret)) {
      const h = headHash(form.text);
      const list = table.get(h);
      if (list) list.push(form);
      else table.set(h, [form]);
    }
  }
  const findings: Finding[] = [];
  if (table.size === 0) return findings;
  for (const entry of [...r.logLines, ...r.errorResponses]) {
    const hits = scan(entry.text, table);
    if (hits.length === 0) continue;
    const reported = new Set<string>();
    for (const hit of hits) {
      if (reported.has(hit.form.secret)) continue;
      reported.add(hit.form.secret);
      findings.push({
        kind: r.secrets.get(hit.form.secret) ?? 'secret',
        fingerprint: fingerprint(hit.form.secret),
        form: hit.form.name,
        where: `${entry.where}: ${excerpt(entry.text, hits, r.secrets)}`,
      });
    }
  }
  return findings;
}

export function formatFindings(findings: readonly Finding[]): string {
  const lines = findings.slice(0, 20).map((f) => `- ${f.kind} ${f.fingerprint}, ${f.form}, in ${f.where}`);
  if (findings.length > 20) lines.push(`- … and ${findings.length - 20} more`);
  return `secret capture: ${findings.length} secret(s) in logs or error responses:\n${lines.join('\n')}`;
}

// --- Harvesting ----------------------------------------------------------------------------

/** Body fields that carry a credential, wherever they are sent. */
const BODY_SECRET_FIELDS = new Set([
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'setupToken',
  'mfaToken',
  'csrfToken',
  'recoveryCode',
  'secret',
  'pin',
  'privateKey',
  'rootKey',
  'rootSecret',
  'clientSecret',
  // A signed assertion is a bearer credential until it expires.
  'SAMLResponse',
]);

/** Response fields that hand a credential out. */
const RESPONSE_SECRET_FIELDS = new Set(['token', 'secret', 'setupToken', 'mfaToken', 'csrfToken', 'recoveryCodes', 'otpauthUrl', 'setupLink']);

/** The secret-named fields of a request body to this URL (`code` only on MFA routes, `value` in the vault). */
function isBodySecret(field: string, url: string): boolean {
  if (BODY_SECRET_FIELDS.has(field)) return true;
  if (field === 'code') return /\/mfa(\/|$|\?)/.test(url);
  if (field === 'value') return /\/secrets(\/|$|\?)/.test(url);
  return false;
}

/**
 * Calls `visit` with every leaf and the name of the field holding it (array items: the array's),
 * and `visitKey`, when given, with every field name.
 */
function walk(value: unknown, visit: (key: string | null, value: unknown) => void, visitKey?: (key: string) => void, key: string | null = null, depth = 0): void {
  if (depth > 12) return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit, visitKey, key, depth + 1);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      visitKey?.(k);
      walk(v, visit, visitKey, k, depth + 1);
    }
  } else {
    visit(key, value);
  }
}

/** Tokens carried by links in any text: `token=` in a query or fragment, an otpauth `secret=`. */
const LINK_TOKEN = /[#?&](token|secret)=([^&#\s"'<>]+)/g;

export function harvestLinks(text: string, kind: string): void {
  for (const m of text.matchAll(LINK_TOKEN)) {
    try {
      registerSecret(decodeURIComponent(m[2] as string), `${kind} (${m[1]}= of a link)`);
    } catch {
      registerSecret(m[2] as string, `${kind} (${m[1]}= of a link)`);
    }
  }
}

/** Secrets in a value a service handed the tests (a setup token, a sign-in result). */
export function harvestResult(value: unknown, kind: string): void {
  if (typeof value === 'string') {
    registerSecret(value, kind);
    return;
  }
  walk(value, (key, v) => {
    if (typeof v !== 'string') return;
    if (key !== null && (RESPONSE_SECRET_FIELDS.has(key) || BODY_SECRET_FIELDS.has(key))) registerSecret(v, `${kind} "${key}"`);
    harvestLinks(v, kind);
  });
}

/** The link tokens of a message about to be enqueued. */
export function harvestMail(message: { template: string; data?: unknown }): void {
  walk(message.data, (_key, v) => {
    if (typeof v === 'string') harvestLinks(v, `mail ${message.template} link`);
  });
}

function harvestQuery(url: string): void {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  for (const segment of path.split('/')) {
    try {
      notePublic(decodeURIComponent(segment));
    } catch {
      notePublic(segment);
    }
  }
  if (q < 0) return;
  const oidcCallback = path.endsWith('/oidc/callback');
  for (const [name, value] of new URLSearchParams(url.slice(q + 1))) {
    notePublic(name);
    if (oidcCallback && (name === 'code' || name === 'state')) registerSecret(value, `OIDC callback query "${name}"`);
    else notePublic(value);
  }
}

function harvestRequestHeaders(request: FastifyRequest): void {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const [scheme, ...rest] = auth.split(' ');
    const credentials = rest.join(' ').trim();
    if (/^basic$/i.test(scheme ?? '') && credentials) {
      registerSecret(credentials, 'authorization Basic credentials');
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      registerSecret(decoded.slice(decoded.indexOf(':') + 1), 'authorization Basic password');
    } else {
      registerSecret(credentials || auth, `authorization ${scheme ?? ''} credential`.replace(/\s+/g, ' '));
    }
  }
  for (const name of ['x-csrf-token', 'x-api-key']) {
    const v = request.headers[name];
    if (typeof v === 'string') registerSecret(v, `request header ${name}`);
  }
  const cookie = request.headers.cookie;
  if (typeof cookie === 'string') {
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) registerSecret(part.slice(eq + 1).trim(), `request cookie ${part.slice(0, eq).trim()}`);
    }
  }
}

function harvestRequestBody(body: unknown, url: string): void {
  walk(
    body,
    (key, v) => {
      if (typeof v !== 'string') return;
      if (key !== null && isBodySecret(key, url)) registerSecret(v, `request body "${key}"`);
      else notePublic(v);
    },
    notePublic, // a client's field names are its own, never a secret
  );
}

/** Secret-named string fields out of raw JSON, so a body that fails to parse is covered too. */
function harvestRawJson(raw: string, url: string): void {
  for (const m of raw.matchAll(/"([A-Za-z_]+)"\s*:\s*"((?:[^"\\]|\\.)*)/g)) {
    if (!isBodySecret(m[1] as string, url)) continue;
    let value = m[2] as string;
    try {
      value = JSON.parse(`"${value}"`) as string;
    } catch {
      // Kept as written.
    }
    registerSecret(value, `request body "${m[1]}"`);
  }
}

function setCookies(reply: FastifyReply): string[] {
  const header = reply.getHeader('set-cookie');
  return (Array.isArray(header) ? header : typeof header === 'string' ? [header] : []).map(String);
}

/** The set-cookie header with the values left out: `name=‹issued›; attributes`. */
function setCookieNames(reply: FastifyReply): string[] {
  return setCookies(reply).map((c) => c.replace(/^([^=;]*)=[^;]*/, '$1=‹issued›'));
}

function harvestSetCookies(reply: FastifyReply): void {
  for (const c of setCookies(reply)) {
    const first = c.split(';')[0] ?? '';
    const eq = first.indexOf('=');
    if (eq > 0) registerSecret(decodeURIComponentSafe(first.slice(eq + 1)), `set-cookie ${first.slice(0, eq)}`);
  }
}

function decodeURIComponentSafe(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function payloadText(payload: unknown): string | null {
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  return null;
}

const MAX_RAW_BODY = 1024 * 1024;

/** Adds the harvesting and capturing hooks to a test app (before `ready()`); Fastify runs them for every route. */
export function instrumentApp(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const hasBody = request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
    if (!hasBody || !/json/i.test(String(request.headers['content-type'] ?? ''))) return payload;
    const chunks: Buffer[] = [];
    let size = 0;
    const url = request.url;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (size < MAX_RAW_BODY) {
          chunks.push(chunk);
          size += chunk.length;
        }
        done(null, chunk);
      },
      flush(done) {
        harvestRawJson(Buffer.concat(chunks).toString('utf8'), url);
        done();
      },
    });
    pipeline(payload, tap, () => {});
    return tap;
  });

  // The request is read here, after the fact: an earlier hook (authentication) refusing it skips
  // the later onRequest hooks, and a refused credential is a credential all the same.
  app.addHook('onSend', async (request, reply, payload) => {
    harvestRequestHeaders(request);
    harvestQuery(request.url);
    if (request.body !== undefined) harvestRequestBody(request.body, request.url);
    const status = reply.statusCode;
    const text = payloadText(payload);
    // A cookie set is a value issued to this client, as in a 2xx (an email-link binding cookie
    // comes with the 403 of an unverified sign-in): harvested, and left out of the check.
    harvestSetCookies(reply);
    if (status >= 400) {
      const headers: Record<string, unknown> = { ...reply.getHeaders() };
      if (headers['set-cookie'] !== undefined) headers['set-cookie'] = setCookieNames(reply);
      captureErrorResponse(`${JSON.stringify(headers)}\n${text ?? '[stream body]'}`, `${request.method} ${request.routeOptions.url ?? '(no route)'} → ${status}`);
      return payload;
    }
    const location = reply.getHeader('location');
    if (typeof location === 'string') harvestLinks(location, 'redirect');
    if (text !== null && /json/i.test(String(reply.getHeader('content-type') ?? ''))) {
      try {
        harvestResult(JSON.parse(text) as unknown, 'response');
      } catch {
        harvestLinks(text, 'response');
      }
    }
    return payload;
  });
}

/** Configuration values that are secrets: whole, each root key, and URL passwords. */
const CONFIG_SECRETS = ['rootSecret', 'oidcClientSecret', 'pkcs11Pin', 'localRootKeys', 'databaseUrl', 'databaseOwnerUrl', 'smtpUrl', 'redisUrl', 'auditSinkToken', 'auditSinkUrl'];

export function registerConfigSecrets(config: Config): void {
  for (const key of CONFIG_SECRETS) {
    const value: unknown = (config as unknown as Record<string, unknown>)[key];
    if (typeof value !== 'string') continue;
    if (key.endsWith('Url')) {
      try {
        const password = new URL(value).password;
        if (password) registerSecret(decodeURIComponent(password), `config ${key} password`);
      } catch {
        // Not a URL: nothing to take from it.
      }
      continue;
    }
    registerSecret(value, `config ${key}`);
    if (key === 'localRootKeys') for (const entry of value.split(',')) registerSecret(entry.slice(entry.indexOf(':') + 1), 'config localRootKeys key');
  }
}

/**
 * The production logger options writing to the capture: every line is checked at the end of the
 * file. `onLine` also sees each line (tests that read their app's log).
 */
export function capturingLogger(config: Pick<Config, 'logLevel' | 'dev'>, onLine?: (line: string) => void): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        onLine?.(line);
        captureLogLine(line, { dev: config.dev });
      }
      done();
    },
  });
  return pino(loggerOptions(config.logLevel), sink);
}

/** Every root key version of a local key file, registered as secrets. */
export function registerKeyFile(file: string): void {
  if (!existsSync(file)) return;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { versions?: Array<{ key?: unknown }> };
  for (const v of parsed.versions ?? []) if (typeof v.key === 'string') registerSecret(v.key, 'root key file');
}
