/**
 * The server as a user starts it: embedded database under a data directory, the one-time setup
 * link, restarts that keep data, HTTPS with TLS 1.2 as the floor, and the client address taken
 * from X-Forwarded-For only when the proxy is trusted. On PostgreSQL too when TEST_DATABASE_URL
 * is set: `migrate`, then `start`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config.js';
import { main } from '../src/cli.js';
import { startServer, type RunningServer } from '../src/server.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, signUp } from './helpers/app.js';

const SECRET = randomBytes(32).toString('base64url');

function config(env: Record<string, string>, flags: Partial<Config> = {}): Config {
  return loadConfig({ env: { LOG_LEVEL: 'silent', RAMPART_ROOT_SECRET: SECRET, ...env }, flags: { port: 0, ...flags } });
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('starting on the embedded database', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rampart-data-'));
  const printed: string[] = [];

  it('prints a one-time setup link that creates the first account, and keeps data across restarts', async () => {
    const first = await startServer(config({ RAMPART_DATA_DIR: dataDir }), (l) => printed.push(l));
    let workspaceId: string;
    try {
      expect(first.db.kind).toBe('pglite');
      expect(first.setupLink).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/setup#token=rsu_[A-Za-z0-9_-]{43}$/);
      expect(printed.join('\n')).toContain(first.setupLink as string);
      const token = (first.setupLink as string).split('#token=')[1] as string;

      const noToken = await json(`${first.url}/api/v1/auth/sign-up`, { method: 'POST', body: JSON.stringify({ email: 'first@example.test', password: 'a-long-password' }) });
      expect(noToken.status).toBe(403);
      const signUpRes = await fetch(`${first.url}/api/v1/auth/sign-up`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'first@example.test', password: 'a-long-password', setupToken: token }),
      });
      expect(signUpRes.status).toBe(201);
      const again = await json(`${first.url}/api/v1/auth/sign-up`, {
        method: 'POST',
        body: JSON.stringify({ email: 'second@example.test', password: 'a-long-password', setupToken: token }),
      });
      expect(again.status).toBe(202); // the token is spent; later accounts verify their email instead
      const tokenRes = await json(`${first.url}/api/v1/auth/tokens`, { method: 'POST', body: JSON.stringify({ email: 'first@example.test', password: 'a-long-password' }) });
      const bearer = { authorization: `Bearer ${String(tokenRes.body['token'])}` };
      const created = await json(`${first.url}/api/v1/workspaces`, { method: 'POST', headers: bearer, body: JSON.stringify({ name: 'Persisted' }) });
      workspaceId = String(created.body['id']);
    } finally {
      await first.close();
    }
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    printed.length = 0;
    const second = await startServer(config({ RAMPART_DATA_DIR: dataDir }), (l) => printed.push(l));
    try {
      expect(second.setupLink).toBeNull();
      expect(printed.join('\n')).not.toContain('/setup#token=');
      const tokenRes = await json(`${second.url}/api/v1/auth/tokens`, { method: 'POST', body: JSON.stringify({ email: 'first@example.test', password: 'a-long-password' }) });
      const list = await json(`${second.url}/api/v1/workspaces`, { headers: { authorization: `Bearer ${String(tokenRes.body['token'])}` } });
      expect((list.body['data'] as Array<{ id: string }>).map((w) => w.id)).toEqual([workspaceId]);
    } finally {
      await second.close();
    }
  });

  it('refuses a second process on the same embedded database', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-lock-'));
    const one = await startServer(config({ RAMPART_DATA_DIR: dir }), () => {});
    try {
      await expect(startServer(config({ RAMPART_DATA_DIR: dir }), () => {})).rejects.toThrow(/in use by process/);
    } finally {
      await one.close();
    }
  });

  it('in development mode without a root secret, generates one (0600) and keeps it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-dev-'));
    const env = { LOG_LEVEL: 'silent', RAMPART_DATA_DIR: dir, RAMPART_DEV: '1' };
    const lines: string[] = [];
    const s = await startServer(loadConfig({ env, flags: { port: 0 } }), (l) => lines.push(l));
    await s.close();
    const file = path.join(dir, 'dev-root-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = readFileSync(file, 'utf8');
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect(lines.join('\n')).toMatch(/WARNING \(development mode\): no root secret/);
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('refuses to start without a root secret outside development mode', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-nosecret-'));
    await expect(startServer(loadConfig({ env: { RAMPART_DATA_DIR: dir }, flags: { port: 0 } }), () => {})).rejects.toThrow(/no root secret/);
  });
});

describe('HTTPS', () => {
  let server: RunningServer;
  let port: number;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    server = await startServer(config({ RAMPART_DATA_DIR: path.join(dir, 'data'), RAMPART_TLS_CERT_FILE: cert, RAMPART_TLS_KEY_FILE: key }), () => {});
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => server?.close());

  function handshake(options: tls.ConnectionOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
        const protocol = socket.getProtocol() ?? 'unknown';
        socket.end();
        resolve(protocol);
      });
      socket.once('error', reject);
    });
  }

  it('serves HTTPS', async () => {
    expect(server.url).toMatch(/^https:/);
    expect(await handshake({})).toBe('TLSv1.3');
    expect(await handshake({ maxVersion: 'TLSv1.2' })).toBe('TLSv1.2');
  });

  it('refuses a TLS 1.1 client — one that a TLS 1.1 server accepts', async () => {
    const legacy = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    // The control: this client really can speak TLS 1.1.
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-tls11-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', `${dir}/k`, '-out', `${dir}/c`], { stdio: 'ignore' });
    const old = tls.createServer({ key: readFileSync(`${dir}/k`), cert: readFileSync(`${dir}/c`), ...legacy }, (s) => s.end());
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    const oldPort = (old.address() as { port: number }).port;
    const control = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: oldPort, rejectUnauthorized: false, ...legacy }, () => {
        resolve(s.getProtocol() ?? '');
        s.end();
      });
      s.once('error', reject);
    });
    old.close();
    expect(control).toBe('TLSv1.1');
    await expect(handshake(legacy)).rejects.toThrow(/protocol version|unsupported protocol|alert/i);
  });
});

describe('behind a proxy', () => {
  async function signedInIp(trustProxy: Config['trustProxy'], forwardedFor: string): Promise<string | null> {
    const t = await buildTestApp(BACKENDS[0]!, { trustProxy });
    try {
      const user = await signUp(t, 'proxied');
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/sign-in',
        remoteAddress: '10.0.0.5',
        headers: { 'x-forwarded-for': forwardedFor },
        payload: { email: user.email, password: user.password },
      });
      const rows = await t.database.raw<{ ip: string | null }>(
        "SELECT s.ip FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE a.email = $1 AND s.kind = 'cookie' ORDER BY s.created_at DESC LIMIT 1",
        [user.email],
      );
      return rows[0]?.ip ?? null;
    } finally {
      await t.close();
    }
  }

  it('takes the client address from X-Forwarded-For only from a trusted proxy', async () => {
    expect(await signedInIp(['10.0.0.5'], '203.0.113.9')).toBe('203.0.113.9');
    expect(await signedInIp(['10.0.0.0/8'], '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(await signedInIp(false, '203.0.113.9')).toBe('10.0.0.5');
    expect(await signedInIp(['192.0.2.1'], '203.0.113.9')).toBe('10.0.0.5');
    expect(await signedInIp(1, '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
  });
});

const adminUrl = process.env['TEST_DATABASE_URL'];

describe.skipIf(!adminUrl)('on PostgreSQL: `rampart migrate`, then start', () => {
  const name = `rampart_srv_${randomBytes(5).toString('hex')}`;
  let url: string;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(adminUrl as string);
    u.pathname = `/${name}`;
    url = u.toString();
  });
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('migrates with the CLI and serves from PostgreSQL', async () => {
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), env: { DATABASE_URL: url, LOG_LEVEL: 'silent' } };
    expect(await main(['node', 'rampart', 'migrate', '--json'], io)).toBe(0);
    const all = readdirSync('migrations').filter((f) => f.endsWith('.sql')).sort().map((f) => f.replace(/\.sql$/, ''));
    expect(JSON.parse(out[0] as string)).toMatchObject({ applied: all, current: all[all.length - 1] });
    out.length = 0;
    expect(await main(['node', 'rampart', 'migrate'], io)).toBe(0);
    expect(out[0]).toBe('nothing to apply');

    const s = await startServer(config({ DATABASE_URL: url }), () => {});
    try {
      expect(s.db.kind).toBe('postgres');
      expect((await json(`${s.url}/readyz`)).body).toEqual({ status: 'ready' });
      expect(s.setupLink).toMatch(/\/setup#token=rsu_/);
    } finally {
      await s.close();
    }
  });
});
