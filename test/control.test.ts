/**
 * The CLI beside a running server (decision 0020): `rampart start` runs as a real process (the
 * built CLI) on an embedded database, and each `rampart` command runs as a second process on the
 * same data directory. The database commands run inside the server through its control channel
 * and print what it did; the ones that cannot run beside it say exactly what to do instead.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendCommand } from '../src/control.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { captureLogLine, registerKeyFile, registerSecret } from './helpers/secret-capture.js';

const BIN = path.resolve('bin/rampart.js');
// Keys leave the cache at once, so a retirement right after a rotation is allowed (as in test/cli-keys.test.ts).
const ENV = { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', RAMPART_KEY_CACHE_SECONDS: '0' };

interface Ran {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** The built `rampart` in its own process, as a user runs it in a second terminal. */
function rampart(args: string[], options: { cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: ENV, cwd: options.cwd ?? process.cwd(), timeout: 60_000 }, (error, stdout, stderr) => {
      // Standard output holds links printed for the operator on purpose (their tokens are registered); the rest is checked like a log line.
      for (const token of stdout.matchAll(/#token=([A-Za-z0-9_-]+)/g)) registerSecret(token[1] as string, 'setup token printed by the CLI');
      for (const line of stderr.split('\n')) if (line) captureLogLine(line);
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout.trim(), err: stderr.trim() });
    });
  });
}

interface Server {
  readonly process: ChildProcessWithoutNullStreams;
  readonly url: string;
  readonly setupLink: string;
  readonly lines: string[];
}

/** Starts `rampart start --dev` and waits for its setup link, the last thing it prints. */
async function startServerProcess(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'start', '--dev', '--port', '0', '--data-dir', dataDir], { env: ENV });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      // The printed setup link is meant for the operator; every other line (the readable development log included) is checked for secrets.
      if (!/\/setup#token=/.test(line)) captureLogLine(line, { dev: true });
    });
  }
  const deadline = Date.now() + 90_000;
  for (;;) {
    const link = lines.map((l) => /^\s+(http:\/\/\S+\/setup#token=\S+)$/.exec(l)?.[1]).find(Boolean);
    const url = lines.map((l) => /^Rampart is listening on (\S+)/.exec(l)?.[1]).find(Boolean);
    if (link && url) {
      registerSecret(link.split('#token=')[1] as string, 'setup token printed by the server');
      return { process: child, url, setupLink: link, lines };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function json(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('rampart commands beside a running server on the embedded database', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rampart-ctl-'));
  const work = mkdtempSync(path.join(tmpdir(), 'rampart-ctl-work-'));
  let server: Server;
  let workspace = '';
  let bearer: Record<string, string> = {};

  beforeAll(async () => {
    server = await startServerProcess(dataDir);
    registerKeyFile(path.join(dataDir, 'root-keys.json'));
  });
  afterAll(async () => {
    if (server && server.process.exitCode === null) {
      server.process.kill('SIGINT');
      await new Promise((r) => server.process.once('exit', r));
    }
  });

  it('setup-link asks the server: a new link on the port the server listens on, which creates the first account', async () => {
    const res = await rampart(['setup-link', '--dev', '--json', '--data-dir', dataDir]);
    expect(res.code, res.err).toBe(0);
    expect(res.err).toContain(`process ${server.process.pid}`);
    const link = (JSON.parse(res.out) as { setupLink: string }).setupLink;
    expect(link.startsWith(`${server.url}/setup#token=rsu_`)).toBe(true);
    expect(link).not.toBe(server.setupLink);
    const token = link.split('#token=')[1] as string;
    const old = server.setupLink.split('#token=')[1] as string;
    const account = { email: 'owner@example.test', password: 'correct horse battery staple', name: 'Owner' };
    // A new link replaces the one printed at start.
    expect((await json(`${server.url}/api/v1/auth/sign-up`, { ...account, setupToken: old })).status).toBe(403);
    expect((await json(`${server.url}/api/v1/auth/sign-up`, { ...account, setupToken: token })).status).toBe(201);
    const signedIn = await json(`${server.url}/api/v1/auth/tokens`, { email: account.email, password: account.password });
    bearer = { authorization: `Bearer ${String(signedIn.body['token'])}` };
    registerSecret(String(signedIn.body['token']), 'API session token');
    workspace = String((await json(`${server.url}/api/v1/workspaces`, { name: 'Beside' }, bearer)).body['id']);
    // Content, so the workspace has a key for the key commands to work on.
    expect((await json(`${server.url}/api/v1/workspaces/${workspace}/collections`, { name: 'notes' }, bearer)).status).toBe(201);
    expect((await json(`${server.url}/api/v1/workspaces/${workspace}/collections/notes/records`, { data: { text: 'kept' } }, bearer)).status).toBe(201);

    const again = await rampart(['setup-link', '--data-dir', dataDir]);
    expect(again).toMatchObject({ code: 0, out: 'an account already exists; sign in instead' });
  });

  it('the control socket is the owner’s alone: 0600 in a 0700 directory of the data directory', () => {
    const socket = path.join(dataDir, 'run', 'control.sock');
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
  });

  it('staff add prints a link to the server as it runs (its port, not the default), and staff list sees the member', async () => {
    const added = await rampart(['staff', 'add', '--email', 'ada@ops.example.test', '--name', 'Ada', '--role', 'staff-admin', '--json', '--data-dir', dataDir]);
    expect(added.code, added.err).toBe(0);
    const body = JSON.parse(added.out) as { setupLink: string; member: { id: string } };
    expect(body.setupLink.startsWith(`${server.url}/staff/setup#token=rsts_`)).toBe(true);
    const listed = await rampart(['staff', 'list', '--json', '--data-dir', dataDir]);
    expect(listed.code, listed.err).toBe(0);
    expect((JSON.parse(listed.out) as { members: Array<{ id: string }> }).members.map((m) => m.id)).toEqual([body.member.id]);
  });

  it('migrate answers that the running server migrated the database', async () => {
    const res = await rampart(['migrate', '--json', '--data-dir', dataDir]);
    expect(res.code, res.err).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({ applied: [], current: expect.stringMatching(/^\d{4}_/), migratedBy: { pid: server.process.pid, url: server.url } });
    expect((await rampart(['migrate', '--data-dir', dataDir])).out).toMatch(/^nothing to apply: the running server \(process \d+, http:\S+\) migrated the database when it started/);
  });

  it('keys status, rotate, rewrap and retire work on the server’s keys', async () => {
    const status = await rampart(['keys', 'status', '--tenant', workspace, '--json', '--data-dir', dataDir]);
    expect(status.code, status.err).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ currentVersion: 1 });
    expect((await rampart(['keys', 'rotate', '--tenant', workspace, '--data-dir', dataDir])).out).toContain(`${workspace}: now version 2`);
    const rewrap = await rampart(['keys', 'rewrap', '--tenant', workspace, '--json', '--data-dir', dataDir]);
    expect(rewrap.code, rewrap.err).toBe(0);
    expect(JSON.parse(rewrap.out)).toMatchObject({ results: [{ version: 2, remaining: 0 }] });
    const retired = await rampart(['keys', 'retire', '--tenant', workspace, '--json', '--data-dir', dataDir]);
    expect(retired.code, retired.err).toBe(0);
    expect(JSON.parse(retired.out)).toEqual({ tenant: workspace, minDecryptVersion: 2 });
    // The server itself sees what the command did.
    const keys = await json(`${server.url}/api/v1/workspaces/${workspace}/keys`, undefined, bearer);
    expect(keys.body).toMatchObject({ currentVersion: 2, minDecryptVersion: 2 });
  });

  it('audit checkpoint, verify, public-keys and export run on the server; the export lands where the caller is', async () => {
    expect((await rampart(['audit', 'checkpoint', '--data-dir', dataDir])).code).toBe(0);
    const verified = await rampart(['audit', 'verify', '--json', '--data-dir', dataDir]);
    expect(verified.code, verified.err).toBe(0);
    const chains = (JSON.parse(verified.out) as { chains: Array<{ chain: string; ok: boolean }> }).chains;
    expect(chains.map((c) => c.chain)).toContain(workspace);
    expect(chains.every((c) => c.ok)).toBe(true);
    const keys = await rampart(['audit', 'public-keys', '--json', '--data-dir', dataDir]);
    expect(keys.code, keys.err).toBe(0);
    writeFileSync(path.join(work, 'keys.json'), keys.out);
    const exported = await rampart(['audit', 'export', '--chain', workspace, '--out', 'export.jsonl', '--data-dir', dataDir], { cwd: work });
    expect(exported.code, exported.err).toBe(0);
    expect(readFileSync(path.join(work, 'export.jsonl'), 'utf8')).toMatch(/"action":"workspace\.created"/);
    // An export verifies offline, here, without the server.
    const offline = await rampart(['audit', 'verify', '--file', 'export.jsonl', '--public-key', 'keys.json', '--json'], { cwd: work });
    expect(offline.code, offline.err).toBe(0);
    expect(JSON.parse(offline.out)).toMatchObject({ ok: true, chain: workspace });
    expect(offline.err).not.toContain('running server');
  });

  it('check-config and a second start say the server holds the data directory, and name the fix', async () => {
    const check = await rampart(['check-config', '--dev', '--port', '0', '--data-dir', dataDir]);
    expect(check.code).toBe(1);
    expect(check.out).toMatch(new RegExp(`in use by process ${server.process.pid}.*another --data-dir`));
    const second = await rampart(['start', '--dev', '--port', '0', '--data-dir', dataDir]);
    expect(second.code).toBe(2);
    expect(second.err).toMatch(new RegExp(`^Rampart cannot start: the embedded database in .* is in use by process ${server.process.pid}.*another --data-dir`));
    expect(second.err).not.toMatch(/^\s+at /m);
  });

  it('the server runs only database commands sent to it', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await sendCommand(path.join(dataDir, 'run', 'control.sock'), ['node', 'rampart', 'start', '--dev'], work, { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/`rampart start` does not run inside the server/);
    await expect(sendCommand(path.join(dataDir, 'run', 'control.sock'), ['node'], 'relative', { out: () => {}, err: () => {} })).rejects.toThrow(/refused the command \(400\)/);
  });

  it('stopping the server removes its socket; commands then open the database themselves', async () => {
    server.process.kill('SIGINT');
    await new Promise((r) => server.process.once('exit', r));
    expect(existsSync(path.join(dataDir, 'run', 'control.sock'))).toBe(false);
    const res = await rampart(['staff', 'list', '--json', '--data-dir', dataDir]);
    expect(res.code, res.err).toBe(0);
    expect(res.err).not.toContain('running server');
  });
});

describe('a database command beside a process that takes no commands', () => {
  it('says which process holds the database and how to go on, without a stack trace', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rampart-ctl-held-'));
    // Another process on the database that has no control channel: here, this test process.
    const held = await PgliteDatabase.open({ dataDir: path.join(dataDir, 'pgdata') });
    try {
      const res = await rampart(['setup-link', '--dev', '--data-dir', dataDir]);
      expect(res.code).toBe(1);
      expect(res.err).toMatch(new RegExp(`in use by process ${process.pid}, which takes no commands .*stop it .*kill ${process.pid}.*then run \`rampart setup-link\` again`));
      expect(res.err).not.toMatch(/^\s+at /m);
    } finally {
      await held.close();
    }
  });
});
