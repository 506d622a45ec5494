/** The `rampart` command: help everywhere, clear refusals, machine-readable output. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildCli, DATABASE_COMMANDS, main } from '../src/cli.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { LocalKeyProvider } from '../src/platform/crypto/providers/local.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { startServer } from '../src/server.js';
import { registerKeyFile } from './helpers/secret-capture.js';

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

  it('every command that opens the database runs inside a running server beside it; the rest never do', () => {
    const leaves: string[] = [];
    const walk = (cmd: Command, prefix: string[]) => {
      for (const sub of cmd.commands) {
        const name = [...prefix, sub.name()];
        if (sub.commands.length > 0) walk(sub, name);
        else leaves.push(name.join(' '));
      }
    };
    walk(buildCli(), []);
    const local = ['start', 'secret', 'check-config'];
    expect(leaves.filter((l) => !local.includes(l)).sort()).toEqual([...DATABASE_COMMANDS].sort());
  });

  it('the installed `rampart` binary runs (built by npm install)', () => {
    const out = execFileSync(process.execPath, [path.resolve('bin/rampart.js'), '--help'], { encoding: 'utf8' });
    for (const c of COMMANDS) expect(out).toContain(c);
  });
});

/**
 * `check-config` runs the checks `start` runs (one function, src/preflight.ts): each refusal of
 * `start` is reported by `check-config` first, with the same words and the fix named, and `start`
 * refuses it with exit code 2 before it writes anything.
 */
describe('check-config catches everything start refuses', () => {
  const SECRET_ENV = { RAMPART_ROOT_SECRET: 'c'.repeat(40), LOG_LEVEL: 'silent' };
  const fresh = (prefix: string) => path.join(mkdtempSync(path.join(tmpdir(), prefix)), 'data');
  const certPair = (dir: string, name: string) => {
    const cert = path.join(dir, `${name}.crt`);
    const key = path.join(dir, `${name}.key`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], {
      stdio: 'ignore',
    });
    return { cert, key };
  };

  interface Case {
    readonly name: string;
    /** Makes the situation; returns the flags and environment, and what to undo afterwards. */
    readonly arrange: () => Promise<{ args: string[]; env: Record<string, string>; dataDir: string; undo?: () => Promise<void> }>;
    /** What both commands say: the problem and its fix. */
    readonly says: readonly RegExp[];
    /** The data directory did not exist before, and start must not create it. */
    readonly writesNothing: boolean;
  }

  const cases: readonly Case[] = [
    {
      name: 'plain HTTP on a public interface outside development',
      arrange: async () => {
        const dataDir = fresh('rampart-pf-host-');
        return { args: ['--host', '0.0.0.0', '--data-dir', dataDir], env: SECRET_ENV, dataDir };
      },
      says: [/listening on 0\.0\.0\.0 \(not loopback\) over plain HTTP/, /--dev/],
      writesNothing: true,
    },
    {
      name: 'a development root key file outside development',
      arrange: async () => {
        const dataDir = fresh('rampart-pf-devkey-');
        mkdirSync(dataDir, { mode: 0o700 });
        // The file `npm start` (development mode) makes at its first start.
        await LocalKeyProvider.open({ kind: 'file', file: path.join(dataDir, 'root-keys.json'), dev: true }).close();
        registerKeyFile(path.join(dataDir, 'root-keys.json'));
        return { args: ['--data-dir', dataDir], env: SECRET_ENV, dataDir };
      },
      says: [/root key file .*root-keys\.json was made in development mode/, /--dev/, /--data-dir/],
      writesNothing: false,
    },
    {
      name: 'an embedded database another process holds',
      arrange: async () => {
        const dataDir = fresh('rampart-pf-lock-');
        const held = await PgliteDatabase.open({ dataDir: path.join(dataDir, 'pgdata') });
        return { args: ['--data-dir', dataDir], env: SECRET_ENV, dataDir, undo: () => held.close() };
      },
      says: [new RegExp(`embedded database in .* is in use by process ${process.pid}`), /--data-dir/],
      writesNothing: false,
    },
    {
      name: 'a data directory that is a file',
      arrange: async () => {
        const dataDir = fresh('rampart-pf-file-');
        mkdirSync(path.dirname(dataDir), { recursive: true });
        writeFileSync(dataDir, 'not a directory');
        return { args: ['--data-dir', dataDir], env: SECRET_ENV, dataDir };
      },
      says: [/data directory .* is not a directory/, /--data-dir/],
      writesNothing: false,
    },
    {
      name: 'a TLS certificate file that cannot be read',
      arrange: async () => {
        const dataDir = fresh('rampart-pf-tlsread-');
        const { key } = certPair(path.dirname(dataDir), 'a');
        return { args: ['--data-dir', dataDir], env: { ...SECRET_ENV, RAMPART_TLS_CERT_FILE: path.join(path.dirname(dataDir), 'missing.crt'), RAMPART_TLS_KEY_FILE: key }, dataDir };
      },
      says: [/cannot read the TLS certificate .*missing\.crt \(ENOENT\)/, /RAMPART_TLS_CERT_FILE/],
      writesNothing: true,
    },
    {
      name: 'a TLS key that is not the certificate’s',
      arrange: async () => {
        const dataDir = fresh('rampart-pf-tlspair-');
        const a = certPair(path.dirname(dataDir), 'a');
        const b = certPair(path.dirname(dataDir), 'b');
        return { args: ['--data-dir', dataDir], env: { ...SECRET_ENV, RAMPART_TLS_CERT_FILE: a.cert, RAMPART_TLS_KEY_FILE: b.key }, dataDir };
      },
      says: [/TLS certificate .*a\.crt and key .*b\.key cannot serve HTTPS/, /RAMPART_TLS_KEY_FILE/],
      writesNothing: true,
    },
    {
      name: 'a port another process listens on',
      arrange: async () => {
        const dataDir = fresh('rampart-pf-port-');
        const taken = net.createServer();
        await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
        const busy = (taken.address() as net.AddressInfo).port;
        return {
          args: ['--data-dir', dataDir, '--port', String(busy)],
          env: SECRET_ENV,
          dataDir,
          undo: () => new Promise<void>((resolve) => taken.close(() => resolve())),
        };
      },
      says: [/port \d+ on 127\.0\.0\.1 is in use/, /PORT=<n>/, /--port <n>/],
      writesNothing: true,
    },
  ];

  it.each(cases)('$name', async (c) => {
    const { args, env, dataDir, undo } = await c.arrange();
    try {
      const checked = await run(['check-config', ...args], env);
      expect(checked.code, checked.out).toBe(1);
      expect(checked.out).toMatch(/^configuration would refuse to start:/);
      for (const re of c.says) expect(checked.out).toMatch(re);
      const json = await run(['check-config', '--json', ...args], env);
      expect(JSON.parse(json.out)).toMatchObject({ ok: false, refusals: expect.arrayContaining([expect.stringMatching(c.says[0] as RegExp)]) });

      const portArgs = args.includes('--port') ? [] : ['--port', '0'];
      const started = await run(['start', ...args, ...portArgs], env);
      expect(started.code, started.err).toBe(2);
      for (const re of c.says) expect(started.err).toMatch(re);
      expect(started.err).not.toMatch(/^\s+at /m);
      if (c.writesNothing) expect(existsSync(dataDir)).toBe(false);
    } finally {
      await undo?.();
    }
  });

  it('passes the same settings once nothing is in the way, and says what it checked', async () => {
    const dataDir = fresh('rampart-pf-ok-');
    const ok = await run(['check-config', '--json', '--data-dir', dataDir], SECRET_ENV);
    expect(ok.code, ok.out).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true, refusals: [], unsafe: [] });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('in development mode, allows what --dev allows and still refuses what it cannot', async () => {
    const dataDir = fresh('rampart-pf-dev-');
    const dev = await run(['check-config', '--dev', '--host', '0.0.0.0', '--data-dir', dataDir], { LOG_LEVEL: 'silent' });
    expect(dev.code, dev.out).toBe(0);
    expect(dev.out).toMatch(/allowed in development mode:\n {2}- .*not loopback/);
    writeFileSync(path.join(path.dirname(dataDir), 'data'), 'a file');
    const refused = await run(['check-config', '--dev', '--data-dir', dataDir], { LOG_LEVEL: 'silent' });
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/is not a directory/);
    // What --dev allows is listed apart from what stops it, never as one of the refusals.
    expect(refused.out).toMatch(/^configuration would refuse to start:\n {2}- [^\n]*is not a directory[^\n]*\nallowed in development mode \(not what stops it\):\n {2}- no root secret/m);
  });

  it('start names PORT= when the port is taken between the check and listening, in one line, without a stack trace', async () => {
    const dataDir = fresh('rampart-pf-race-');
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const squatter = net.createServer();
    const config = loadConfig({ env: { ...SECRET_ENV, RAMPART_DATA_DIR: dataDir }, flags: { port } });
    try {
      // The port is free when start checks it, and taken just before it listens.
      const refused = startServer(config, () => {}, {
        beforeListen: () => {
          squatter.listen(port, '127.0.0.1');
        },
      });
      await expect(refused).rejects.toBeInstanceOf(ConfigError);
      await expect(refused).rejects.toThrow(new RegExp(`^Rampart cannot start: port ${port} on 127\\.0\\.0\\.1 is in use: .*PORT=<n>.*--port <n>[^\\n]*$`));
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});
