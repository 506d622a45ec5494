/**
 * `rampart keys`: status, rotation (tenant and root), rewrap with progress, retirement, and the
 * refusals, against a real embedded database and the development key file a server made.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { captureLogLine, capturingLogger, instrumentApp, registerKeyFile } from './helpers/secret-capture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-cli-keys-'));
const ENV = { LOG_LEVEL: 'silent', RAMPART_DATA_DIR: dir, RAMPART_KEY_CACHE_SECONDS: '0' };

async function run(args: string[], env: Record<string, string> = ENV) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'rampart', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env });
  // What the CLI prints is checked for secrets like any log line.
  for (const line of [...out, ...err]) captureLogLine(line);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function withServer<T>(fn: (s: Awaited<ReturnType<typeof startServer>>, headers: Record<string, string>) => Promise<T>): Promise<T> {
  const config = loadConfig({ env: { ...ENV, RAMPART_DEV: '1' }, flags: { port: 0 } });
  const s = await startServer(config, () => {}, { logger: capturingLogger(config), beforeListen: instrumentApp });
  registerKeyFile(path.join(dir, 'root-keys.json'));
  try {
    const email = 'owner@example.test';
    const password = 'correct horse battery staple';
    if (s.setupLink) {
      const setupToken = s.setupLink.split('#token=')[1];
      const res = await s.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email, password, name: 'Owner', setupToken } });
      expect(res.statusCode, res.body).toBe(201);
    }
    const token = (await s.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email, password } })).json<{ token: string }>().token;
    return await fn(s, { authorization: `Bearer ${token}` });
  } finally {
    await s.close();
  }
}

describe('rampart keys', () => {
  let ws = '';
  const ids: string[] = [];

  beforeAll(async () => {
    await withServer(async (s, headers) => {
      ws = (await s.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers, payload: { name: 'Cli' } })).json<{ id: string }>().id;
      await s.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections`, headers, payload: { name: 'n' } });
      for (let i = 0; i < 3; i++) {
        const res = await s.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections/n/records`, headers, payload: { data: { i } } });
        ids.push(res.json<{ id: string }>().id);
      }
    });
  });
  afterAll(() => undefined);

  it('lists its commands', async () => {
    const { code, out } = await run(['keys', '--help']);
    expect(code).toBe(0);
    for (const c of ['status', 'rotate', 'rewrap', 'retire', 'destroy']) expect(out).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it('refuses the development key file without --dev', async () => {
    const { code, err } = await run(['keys', 'status', '--tenant', ws]);
    expect(code).toBe(2);
    expect(err).toMatch(/made in development mode/);
    expect(JSON.parse(readFileSync(path.join(dir, 'root-keys.json'), 'utf8'))).toMatchObject({ development: true });
  });

  it('rotates a workspace key, rewraps with progress, then retires the old version', async () => {
    const status = await run(['keys', 'status', '--tenant', ws, '--dev', '--json']);
    expect(status.code, status.err).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ currentVersion: 1, versions: [{ version: 1, rows: { records: 3 } }] });

    expect(await run(['keys', 'rotate', '--dev'])).toMatchObject({ code: 1, err: expect.stringMatching(/exactly one of --root, --tenant <id>, --all-tenants/) });
    const rotated = await run(['keys', 'rotate', '--tenant', ws, '--dev']);
    expect(rotated.code, rotated.err).toBe(0);
    expect(rotated.out).toContain(`${ws}: now version 2`);

    const early = await run(['keys', 'retire', '--tenant', ws, '--dev']);
    expect(early.code).toBe(1);
    expect(early.err).toMatch(/still encrypted under an older key version/);

    const rewrap = await run(['keys', 'rewrap', '--dev', '--batch-size', '2']);
    expect(rewrap.code, rewrap.err).toBe(0);
    expect(rewrap.err).toMatch(new RegExp(`${ws} \\[#{24}\\] 100% 3/3 rows`));
    expect(rewrap.out).toContain(`${ws}: 3 rows now under version 2; 0 left on older versions; 0 failed`);

    const retired = await run(['keys', 'retire', '--tenant', ws, '--dev', '--json']);
    expect(retired.code, retired.err).toBe(0);
    expect(JSON.parse(retired.out)).toEqual({ tenant: ws, minDecryptVersion: 2 });
    // Running it again finds nothing to do.
    const again = await run(['keys', 'rewrap', '--tenant', ws, '--dev', '--json']);
    expect(JSON.parse(again.out)).toMatchObject({ results: [{ rewrapped: 0, remaining: 0 }] });
  });

  it('rotates the root key and rewraps every tenant key under it; the server still reads everything', async () => {
    const { code, out, err } = await run(['keys', 'rotate', '--root', '--dev', '--json']);
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toEqual({ root: 'local:2', tenantKeysRewrapped: 2 });
    const status = JSON.parse((await run(['keys', 'status', '--tenant', ws, '--dev', '--json'])).out) as { versions: Array<{ keyRef: string }> };
    expect(status.versions.map((v) => v.keyRef)).toEqual(['local:2', 'local:2']);
    await withServer(async (s, headers) => {
      for (const [i, id] of ids.entries()) {
        const res = await s.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/collections/n/records/${id}`, headers });
        expect(res.json<{ data: unknown }>().data).toEqual({ i });
      }
    });
  });

  it("refuses to destroy a live workspace's keys, and asks for --yes", async () => {
    const live = await run(['keys', 'destroy', '--tenant', ws, '--yes', '--dev']);
    expect(live.code).toBe(1);
    expect(live.err).toMatch(/delete the workspace first/);
    expect(await run(['keys', 'status', '--tenant', 'not-a-uuid', '--dev'])).toMatchObject({ code: 1 });
  });
});
