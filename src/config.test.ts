import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkSafety, ConfigError, isLoopback, loadConfig, publicUrl } from './config.js';
import { enforceSafety } from './server.js';
import { DEFAULT_THROTTLE_LIMITS } from './platform/http/throttle.js';

const SECRET = 'x'.repeat(40);

function configFile(content: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rampart-config-'));
  const file = path.join(dir, 'rampart.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('configuration', () => {
  it('has safe defaults: loopback, port 3000, data under ./.rampart, embedded database', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({ host: '127.0.0.1', port: 3000, dataDir: '.rampart', dev: false, trustProxy: false, regions: ['local'] });
    expect(c.databaseUrl).toBeUndefined();
    expect(publicUrl(c)).toBe('http://127.0.0.1:3000');
  });

  it('reads the environment, then flags over it, over a file under both', () => {
    const file = configFile({ port: 4000, host: '127.0.0.2', regions: ['eu'] });
    const c = loadConfig({
      env: { PORT: '5000', RAMPART_DATA_DIR: '/tmp/x', RAMPART_REGIONS: 'eu, us', RAMPART_TRUST_PROXY: '10.0.0.0/8,127.0.0.1' },
      file,
      flags: { port: 6000 },
    });
    expect(c).toMatchObject({ port: 6000, host: '127.0.0.2', dataDir: '/tmp/x', regions: ['eu', 'us'], trustProxy: ['10.0.0.0/8', '127.0.0.1'] });
    expect(loadConfig({ env: { RAMPART_TRUST_PROXY: '2' } }).trustProxy).toBe(2);
    expect(loadConfig({ env: { RAMPART_DEV: '1' } }).dev).toBe(true);
  });

  it('reports every invalid setting at once, naming its environment variable', () => {
    let error: unknown;
    try {
      loadConfig({ env: { PORT: 'eighty', RAMPART_REGIONS: 'EU!', RAMPART_ROOT_SECRET: 'short', DATABASE_URL: 'mysql://x' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/port \(PORT\)/);
    expect(problems).toMatch(/regions.*\(RAMPART_REGIONS\)/);
    expect(problems).toMatch(/rootSecret \(RAMPART_ROOT_SECRET\).*at least 32/);
    expect(problems).toMatch(/databaseUrl \(DATABASE_URL\)/);
    expect(problems).not.toContain('short');
  });

  it('refuses unknown keys and broken files', () => {
    expect(() => loadConfig({ env: {}, file: configFile({ prot: 1 }) })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, file: configFile('{ not json') })).toThrow(/not valid JSON/);
    expect(() => loadConfig({ env: {}, file: configFile([]) })).toThrow(/JSON object/);
    expect(() => loadConfig({ env: {}, file: '/nonexistent/rampart.json' })).toThrow(/cannot read/);
  });

  it('requires TLS certificate and key together, and proxies to be addresses', () => {
    expect(() => loadConfig({ env: { RAMPART_TLS_CERT_FILE: '/c.pem' } })).toThrow(/must be set together/);
    expect(() => loadConfig({ env: { RAMPART_TRUST_PROXY: 'example.com' } })).toThrow(/not an IP address or CIDR/);
    expect(() => loadConfig({ env: { RAMPART_TRUST_PROXY: '10.0.0.0/33' } })).toThrow(/not an IP address or CIDR/);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['::ffff:10.0.0.1', '::ffff:7f00:1x']) expect(isLoopback(h), h).toBe(false);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopback(h), h).toBe(false);
  });
});

describe('unsafe settings', () => {
  const safe = () => loadConfig({ env: { RAMPART_ROOT_SECRET: SECRET } });

  it('a loopback listener with a root secret is safe', () => {
    expect(checkSafety(safe()).unsafe).toEqual([]);
  });

  it('flags a missing root secret', () => {
    expect(checkSafety(loadConfig({ env: {} })).unsafe.join()).toMatch(/no root secret/);
  });

  it('flags plain HTTP on a public interface, unless TLS is configured or terminated at a trusted proxy', () => {
    const exposed = loadConfig({ env: { RAMPART_ROOT_SECRET: SECRET, HOST: '0.0.0.0' } });
    expect(checkSafety(exposed).unsafe.join()).toMatch(/not loopback\) over plain HTTP/);
    const tls = loadConfig({ env: { RAMPART_ROOT_SECRET: SECRET, HOST: '0.0.0.0', RAMPART_TLS_CERT_FILE: 'c', RAMPART_TLS_KEY_FILE: 'k' } });
    expect(checkSafety(tls).unsafe).toEqual([]);
    const proxied = loadConfig({
      env: { RAMPART_ROOT_SECRET: SECRET, HOST: '0.0.0.0', RAMPART_TRUST_PROXY: '10.0.0.1', RAMPART_PUBLIC_URL: 'https://trust.example.com' },
    });
    expect(checkSafety(proxied).unsafe).toEqual([]);
    const proxiedHttp = loadConfig({
      env: { RAMPART_ROOT_SECRET: SECRET, HOST: '0.0.0.0', RAMPART_TRUST_PROXY: '10.0.0.1', RAMPART_PUBLIC_URL: 'http://trust.example.com' },
    });
    expect(checkSafety(proxiedHttp).unsafe.length).toBe(2);
  });

  it('refuse to start outside development mode, and only warn in it', () => {
    const exposed = { HOST: '0.0.0.0' };
    expect(() => enforceSafety(loadConfig({ env: exposed }), () => {})).toThrow(/--dev/);
    const printed: string[] = [];
    enforceSafety(loadConfig({ env: { ...exposed, RAMPART_DEV: 'true' } }), (l) => printed.push(l));
    expect(printed).toHaveLength(2);
    expect(printed.every((l) => l.startsWith('WARNING (development mode)'))).toBe(true);
  });
});

describe('README configuration table', () => {
  it('is exactly what SETTINGS renders (run `npm run docs:config` after changing a setting)', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderConfigTable, CONFIG_TABLE_START, CONFIG_TABLE_END } = await import('./config-docs.js');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf(CONFIG_TABLE_START) + CONFIG_TABLE_START.length, readme.indexOf(CONFIG_TABLE_END)).trim();
    expect(table).toBe(renderConfigTable());
  });

  it('checks identity settings: OpenID Connect all or nothing, https off loopback, a public URL for its redirect', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig({ env });
        return [];
      } catch (err) {
        return err instanceof ConfigError ? [...err.problems] : ['not a ConfigError'];
      }
    };
    expect(problems({ OIDC_ISSUER: 'https://accounts.google.com' }).join('\n')).toMatch(/must be set together/);
    const http = { OIDC_ISSUER: 'http://idp.example.com', OIDC_CLIENT_ID: 'id', OIDC_CLIENT_SECRET: 'secret' };
    expect(problems(http).join('\n')).toMatch(/must be https/);
    expect(problems({ ...http, OIDC_ISSUER: 'http://127.0.0.1:9000' })).toEqual([]);
    const google = loadConfig({ env: { ...http, OIDC_ISSUER: 'https://accounts.google.com', RAMPART_ROOT_SECRET: SECRET } });
    expect(checkSafety(google).unsafe.join('\n')).toMatch(/RAMPART_PUBLIC_URL/);
    expect(checkSafety({ ...google, publicUrl: 'https://rampart.example.com' }).unsafe).toEqual([]);
    expect(problems({ SMTP_URL: 'http://mail.example.com' }).join('\n')).toMatch(/smtp:\/\/ or smtps:\/\//);
    expect(problems({ REDIS_URL: 'localhost:6379' }).join('\n')).toMatch(/redis:\/\//);
    // The rate limits the server is started with are the throttle's own defaults.
    expect(loadConfig({ env: {} })).toMatchObject({
      rateLimitIpPerMinute: DEFAULT_THROTTLE_LIMITS.ip.points,
      rateLimitEmailPer5Minutes: DEFAULT_THROTTLE_LIMITS.account.points,
    });
    expect([DEFAULT_THROTTLE_LIMITS.ip.durationSeconds, DEFAULT_THROTTLE_LIMITS.account.durationSeconds]).toEqual([60, 300]);
    expect(loadConfig({ env: {} })).toMatchObject({ argon2MemoryKib: 19456, argon2TimeCost: 2, argon2Parallelism: 1, sessionIdleSeconds: 43200, sessionTtlSeconds: 604800 });
  });
});
