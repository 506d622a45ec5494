/** Builds the real app over a test database, with a captured log, and drives it in process. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type RouteEntry, type Services } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { Throttle, type ThrottleLimits } from '../../src/platform/http/throttle.js';
import { LocalObjectStore } from '../../src/platform/storage/object-store.js';
import type { Backend, TestDatabase } from './backends.js';
import { capturingLogger, harvestMail, harvestResult, instrumentApp, registerConfigSecrets } from './secret-capture.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly routes: readonly RouteEntry[];
  readonly database: TestDatabase;
  readonly config: Config & { rootSecret: string };
  readonly objectsDir: string;
  /** Every log line written so far. */
  readonly logs: string[];
  close(): Promise<void>;
}

export async function buildTestApp(
  backend: Backend,
  overrides: Partial<Config> = {},
  options: {
    webRoot?: string | null;
    poolSize?: number;
    limits?: Partial<ThrottleLimits>;
    redisUrl?: string | undefined;
    /** Adds test-only routes or hooks before the app is ready. */
    beforeReady?: (app: FastifyInstance) => void;
  } = {},
): Promise<TestApp> {
  const database = await backend.open(options.poolSize ? { poolSize: options.poolSize } : {});
  const objectsDir = mkdtempSync(path.join(tmpdir(), 'rampart-objects-'));
  const config = {
    ...loadConfig({ env: {} }),
    rootSecret: randomBytes(32).toString('base64url'),
    // Root keys in memory and the destruction register in the test's own directory.
    localRootKeys: `1:${randomBytes(32).toString('base64url')}`,
    dataDir: objectsDir,
    regions: ['eu', 'us'],
    documentMaxBytes: 64 * 1024,
    argon2MemoryKib: 8192,
    logLevel: 'info' as const,
    ...overrides,
  } as Config & { rootSecret: string };
  registerConfigSecrets(config);
  const logs: string[] = [];
  const logger = capturingLogger(config, (line) => logs.push(line));
  const { app, services, routes } = await buildApp({
    config,
    db: database.db,
    objects: new LocalObjectStore(objectsDir),
    logger,
    webRoot: options.webRoot ?? null,
    // Many sign-ins from one address: limits loose unless a test sets its own.
    throttle: Throttle.create({ redisUrl: options.redisUrl, keyPrefix: `t${randomBytes(4).toString('hex')}`, limits: { ...LOOSE_LIMITS, ...options.limits } }),
  });
  // The secret-capture harness: secrets harvested from the traffic, error responses captured.
  instrumentApp(app);
  const { mailer, accounts } = services;
  const enqueue = mailer.enqueue.bind(mailer);
  mailer.enqueue = (tx, message) => {
    harvestMail(message);
    return enqueue(tx, message);
  };
  const issueSetupToken = accounts.issueSetupToken.bind(accounts);
  accounts.issueSetupToken = async () => {
    const token = await issueSetupToken();
    harvestResult(token, 'setup token');
    return token;
  };
  const beginSignIn = accounts.beginSignIn.bind(accounts);
  accounts.beginSignIn = async (...args) => {
    const result = await beginSignIn(...args);
    harvestResult(result, 'sign-in result');
    return result;
  };
  options.beforeReady?.(app);
  await app.ready();
  return {
    app,
    services,
    routes,
    database,
    config,
    objectsDir,
    logs,
    async close() {
      await app.close();
      await database.close();
      rmSync(objectsDir, { recursive: true, force: true });
    },
  };
}

const LOOSE_LIMITS: Partial<ThrottleLimits> = {
  ip: { points: 100_000, durationSeconds: 60 },
  account: { points: 1000, durationSeconds: 60 },
  email_link: { points: 1000, durationSeconds: 60 },
  mfa: { points: 1000, durationSeconds: 60 },
};

export interface Caller {
  readonly accountId: string;
  readonly email: string;
  readonly password: string;
  /** Headers that authenticate as this caller with a bearer token. */
  readonly bearer: Record<string, string>;
  /** Headers that authenticate with the session cookie, CSRF token included. */
  readonly cookie: Record<string, string>;
  readonly token: string;
}

let counter = 0;

/** The newest message held in the outbox for `to` (mail is not sent in tests without SMTP). */
export async function latestMail(t: TestApp, to: string): Promise<{ template: string; subject: string; text: string; html: string }> {
  await t.services.accounts.settle();
  const [message] = await t.services.mailer.mailbox({ to, limit: 1 });
  if (!message) throw new Error(`no mail for ${to}`);
  return message;
}

/** The token of the newest email link sent to `to` (it travels in the URL fragment). */
export async function latestLinkToken(t: TestApp, to: string): Promise<string> {
  const { text } = await latestMail(t, to);
  const match = /#token=([A-Za-z0-9_-]+)/.exec(text);
  if (!match) throw new Error(`no link in the newest mail to ${to}`);
  return match[1] as string;
}

/**
 * Creates an account and signs it in both ways: the first through the setup token, the others
 * through sign-up and the emailed verification link, as a user would.
 */
export async function signUp(t: TestApp, name = 'user'): Promise<Caller> {
  counter += 1;
  const email = `${name}-${counter}-${randomBytes(3).toString('hex')}@example.test`;
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  const setupToken = (await t.services.accounts.setupRequired()) ? ((await t.services.accounts.issueSetupToken()) ?? undefined) : undefined;
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email, password, name, setupToken } });
  if (res.statusCode !== 201 && res.statusCode !== 202) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  // Others verify their address with the emailed link, which also signs them in.
  let signedIn = res;
  if (res.statusCode === 202) {
    signedIn = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: await latestLinkToken(t, email) } });
    if (signedIn.statusCode !== 200) throw new Error(`verification failed: ${signedIn.statusCode} ${signedIn.body}`);
  }
  const body = signedIn.json<{ account: { id: string }; csrfToken: string }>();
  const cookie = sessionCookie(signedIn);
  const tokenRes = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email, password } });
  if (tokenRes.statusCode !== 201) throw new Error(`token failed: ${tokenRes.statusCode} ${tokenRes.body}`);
  const token = tokenRes.json<{ token: string }>().token;
  return {
    accountId: body.account.id,
    email,
    password,
    token,
    bearer: { authorization: `Bearer ${token}` },
    cookie: { cookie: `__Host-rampart_session=${cookie}`, 'x-csrf-token': body.csrfToken },
  };
}

export function sessionCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === '__Host-rampart_session');
  if (!c) throw new Error('no session cookie set');
  return c.value;
}

export async function createWorkspace(t: TestApp, caller: Caller, name = 'Acme'): Promise<{ id: string; name: string; region: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: caller.bearer, payload: { name } });
  if (res.statusCode !== 201) throw new Error(`create workspace failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** A multipart/form-data body with one file part. */
export function multipart(filename: string, content: Buffer | string, contentType = 'application/octet-stream', field = 'file') {
  const boundary = `----rampart${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    // As browsers do (HTML multipart/form-data encoding): quotes and line breaks percent-encoded.
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    payload: Buffer.concat([head, Buffer.isBuffer(content) ? content : Buffer.from(content), tail]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
