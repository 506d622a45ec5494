/** The `rampart` command: help everywhere, clear refusals, machine-readable output. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';

const COMMANDS = ['start', 'migrate', 'setup-link', 'secret', 'check-config'];

async function run(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'rampart', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('rampart CLI', () => {
  it('--help lists every command', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const c of COMMANDS) expect(out).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it.each(COMMANDS)('%s --help describes the command and its options', async (command) => {
    const { code, out } = await run([command, '--help']);
    expect(code).toBe(0);
    expect(out).toContain(`Usage: rampart ${command}`);
    expect(out).toContain('-h, --help');
  });

  it('start --help names the flags for port, host and data directory', async () => {
    const { out } = await run(['start', '--help']);
    expect(out).toMatch(/--port <port>/);
    expect(out).toMatch(/--host <host>/);
    expect(out).toMatch(/--data-dir <dir>/);
    expect(out).toMatch(/--dev/);
  });

  it('refuses an unknown command or a bad flag with a non-zero exit', async () => {
    expect((await run(['frobnicate'])).code).not.toBe(0);
    const bad = await run(['start', '--port', 'eighty']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/port is an integer/);
  });

  it('start refuses unsafe settings with a clear message and exit code 2', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-cli-'));
    const res = await run(['start', '--host', '0.0.0.0', '--port', '0', '--data-dir', dir], { RAMPART_ROOT_SECRET: 'y'.repeat(40) });
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/listening on 0\.0\.0\.0 \(not loopback\) over plain HTTP/);
    expect(res.err).toMatch(/--dev/);
  });

  it('check-config reports problems as JSON and fails', async () => {
    const res = await run(['check-config', '--json'], { HOST: '0.0.0.0' });
    expect(res.code).toBe(1);
    const report = JSON.parse(res.out);
    expect(report.ok).toBe(false);
    expect(report.unsafe).toHaveLength(2);
  });

  it('secret prints a fresh 256-bit secret each time', async () => {
    const a = JSON.parse((await run(['secret', '--json'])).out).rootSecret as string;
    const b = JSON.parse((await run(['secret', '--json'])).out).rootSecret as string;
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
  });

  it('setup-link issues a link for the embedded database until an account exists', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-cli-setup-'));
    const res = await run(['setup-link', '--json', '--data-dir', dir], { RAMPART_ROOT_SECRET: 'z'.repeat(40), LOG_LEVEL: 'silent' });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out).setupLink).toMatch(/^http:\/\/127\.0\.0\.1:3000\/setup#token=rsu_/);
  });

  it('the installed `rampart` binary runs (built by npm install)', () => {
    const out = execFileSync(process.execPath, [path.resolve('bin/rampart.js'), '--help'], { encoding: 'utf8' });
    for (const c of COMMANDS) expect(out).toContain(c);
  });
});
