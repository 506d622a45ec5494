/**
 * What `npm start` (the built CLI, `start --dev`) prints: the setup link last, after the listening
 * line, and then one readable line per request (method, path, status, time, request id) instead
 * of two JSON lines; outside development the log stays JSON. The readable form redacts exactly
 * what the JSON form does.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/platform/log.js';
import { captureLogLine, registerKeyFile, registerSecret } from './helpers/secret-capture.js';

const BIN = path.resolve('bin/rampart.js');
const running: ChildProcessWithoutNullStreams[] = [];

afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode !== null) continue;
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
});

interface Started {
  readonly url: string;
  readonly lines: string[];
}

/** Runs `rampart start` in its own process and waits until it printed `until`. */
async function start(args: string[], env: Record<string, string>, until: RegExp): Promise<Started> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rampart-devlog-'));
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--data-dir', dataDir, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
  running.push(child);
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      const token = /\/setup#token=([A-Za-z0-9_-]+)/.exec(line)?.[1];
      // The setup link is printed for the operator on purpose; every other line is checked like a log line.
      if (token) registerSecret(token, 'setup token printed at start');
      else captureLogLine(line, { dev: args.includes('--dev') });
    });
  }
  const deadline = Date.now() + 90_000;
  while (!lines.some((l) => until.test(l))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  registerKeyFile(path.join(dataDir, 'root-keys.json'));
  const url = lines.map((l) => /^Rampart is listening on (\S+)/.exec(l)?.[1]).find(Boolean) as string;
  return { url, lines };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the log of `npm start`', () => {
  it('prints the setup link last, after the listening line', async () => {
    const s = await start(['--dev'], {}, /\/setup#token=/);
    await settle(1000); // anything else start prints comes before the link, not after it
    const printed = s.lines.filter((l) => l.trim() !== '');
    const listening = printed.findIndex((l) => l.startsWith('Rampart is listening on'));
    expect(listening).toBeGreaterThanOrEqual(0);
    expect(printed.at(-1)).toMatch(new RegExp(`^\\s+${s.url.replace(/[.:/]/g, '\\$&')}/setup#token=rsu_`));
    expect(printed.at(-2)).toMatch(/No account exists yet/);
    expect(printed.length - 2).toBeGreaterThan(listening);
  });

  it('in development, one readable line per request: method, path, status, time, request id', async () => {
    const s = await start(['--dev'], {}, /\/setup#token=/);
    const before = s.lines.length;
    const ids: string[] = [];
    for (const p of ['/api/v1/setup', '/api/v1/no-such-route', '/readyz']) {
      const res = await fetch(`${s.url}${p}`);
      ids.push(res.headers.get('x-request-id') as string);
    }
    await expect.poll(() => s.lines.slice(before).filter((l) => l.includes(ids[2] as string)).length).toBe(1);
    const after = s.lines.slice(before);
    const line = (id: string) => after.filter((l) => l.includes(id));
    expect(line(ids[0] as string)).toEqual([expect.stringMatching(new RegExp(`^\\[\\d{2}:\\d{2}:\\d{2}\\] INFO: GET /api/v1/setup 200 \\d+ ms ${ids[0]}$`))]);
    expect(line(ids[1] as string)).toEqual([expect.stringMatching(new RegExp(`^\\[\\d{2}:\\d{2}:\\d{2}\\] INFO: GET /api/v1/no-such-route 404 \\d+ ms ${ids[1]}$`))]);
    expect(line(ids[2] as string)).toEqual([expect.stringMatching(new RegExp(`GET /readyz 200 \\d+ ms ${ids[2]}$`))]);
    expect(after.filter((l) => l.startsWith('{'))).toEqual([]);
  });

  it('outside development, the log stays JSON lines', async () => {
    const s = await start([], { RAMPART_ROOT_SECRET: randomBytes(32).toString('base64url') }, /\/setup#token=/);
    const before = s.lines.length;
    const res = await fetch(`${s.url}/api/v1/setup`);
    const id = res.headers.get('x-request-id') as string;
    await expect.poll(() => s.lines.slice(before).filter((l) => l.includes(id)).length).toBe(2);
    const entries = s.lines.slice(before).filter((l) => l.includes(id)).map((l) => JSON.parse(l) as { msg: string; requestId: string });
    expect(entries.map((e) => e.msg)).toEqual(['incoming request', 'request completed']);
  });
});

describe('the development log format', () => {
  it('redacts what the JSON log redacts', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const token = `tok-${randomBytes(12).toString('hex')}`;
    registerSecret(password, 'password logged by the test');
    registerSecret(token, 'token logged by the test');
    const log = createLogger({ dev: true, logLevel: 'info' }, sink);
    log.info({ password, user: { token }, err: { config: { secret: token } } }, 'something happened');
    for (const l of lines) captureLogLine(l);
    expect(lines.join('\n')).toContain('something happened');
    expect(lines.join('\n')).toContain('[redacted]');
    expect(lines.join('\n')).not.toContain(password);
    expect(lines.join('\n')).not.toContain(token);
    expect(lines.every((l) => !l.startsWith('{'))).toBe(true);
  });
});
