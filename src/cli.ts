/**
 * `rampart` — the command line. Every command has --help; commands that report have --json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkSafety, ConfigError, loadConfig, publicUrl, type Config } from './config.js';
import { issueSetupToken } from './modules/accounts/index.js';
import { openDatabase } from './platform/db/index.js';
import { redactUrl } from './platform/log.js';
import { startServer } from './server.js';

interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

interface CommonFlags {
  config?: string;
  dataDir?: string;
  json?: boolean;
}

function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('-c, --config <file>', 'JSON configuration file').env('RAMPART_CONFIG_FILE'))
    .addOption(new Option('-d, --data-dir <dir>', 'data directory (embedded database, local objects)'));
}

function config(flags: CommonFlags & Partial<Record<keyof Config, unknown>>, io: Io, extra: Partial<Record<keyof Config, unknown>> = {}): Config {
  return loadConfig({ env: io.env, ...(flags.config ? { file: flags.config } : {}), flags: { dataDir: flags.dataDir, ...extra } });
}

function databaseLabel(c: Config): string {
  return c.databaseUrl ? redactUrl(c.databaseOwnerUrl ?? c.databaseUrl) : `embedded database in ${c.dataDir}`;
}

/** `outcome.exitCode` is what a command that completed wants the process to exit with. */
export function buildCli(io: Io = defaultIo, outcome: { exitCode: number } = { exitCode: 0 }): Command {
  const program = new Command('rampart')
    .description('Rampart — the trust layer for multi-tenant SaaS')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();

  withCommon(program.command('start'))
    .description('start the server (migrates the database first)')
    .addOption(new Option('-p, --port <port>', 'TCP port (PORT)').argParser(port))
    .addOption(new Option('-H, --host <host>', 'interface to listen on (HOST)'))
    .addOption(new Option('--dev', 'development mode: allow unsafe settings, with warnings (RAMPART_DEV)'))
    .action(async (flags: CommonFlags & { port?: number; host?: string; dev?: boolean }) => {
      const c = config(flags, io, { port: flags.port, host: flags.host, dev: flags.dev });
      const server = await startServer(c, io.out);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          io.out(`received ${signal}, shutting down`);
          server.close().then(resolve, (err: unknown) => {
            io.err(`shutdown failed: ${String(err)}`);
            resolve();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  withCommon(program.command('migrate'))
    .description('apply pending database migrations, as the schema owner (DATABASE_OWNER_URL or DATABASE_URL)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: CommonFlags) => {
      const c = config(flags, io);
      mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
      const db = await openDatabase(c);
      try {
        const report = await db.migrate();
        if (flags.json) io.out(JSON.stringify({ database: databaseLabel(c), ...report }));
        else {
          io.out(report.applied.length > 0 ? `applied: ${report.applied.join(', ')}` : 'nothing to apply');
          io.out(`schema is at ${report.current ?? 'nothing'} (${databaseLabel(c)})`);
        }
      } finally {
        await db.close();
      }
    });

  withCommon(program.command('setup-link'))
    .description('print a new one-time link for creating the first account (only while none exists)')
    .option('--json', 'print the result as JSON')
    .option('--dev', 'development mode (uses the generated development root secret)')
    .action(async (flags: CommonFlags & { dev?: boolean }) => {
      const c = config(flags, io, { dev: flags.dev });
      if (!c.rootSecret && !c.dev) throw new ConfigError(['no root secret: set RAMPART_ROOT_SECRET, or pass --dev']);
      mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
      const db = await openDatabase(c);
      try {
        await db.migrate();
        const token = await issueSetupToken(db);
        const link = token ? `${publicUrl(c)}/setup#token=${token}` : null;
        if (flags.json) io.out(JSON.stringify({ setupLink: link }));
        else io.out(link ?? 'an account already exists; sign in instead');
      } finally {
        await db.close();
      }
    });

  program
    .command('secret')
    .description('print a new random root secret for RAMPART_ROOT_SECRET')
    .option('--json', 'print the result as JSON')
    .action((flags: { json?: boolean }) => {
      const secret = randomBytes(32).toString('base64url');
      io.out(flags.json ? JSON.stringify({ rootSecret: secret }) : secret);
    });

  withCommon(program.command('check-config'))
    .description('validate the configuration and report unsafe settings, without starting')
    .option('--json', 'print the result as JSON')
    .option('--dev', 'evaluate as in development mode')
    .action((flags: CommonFlags & { dev?: boolean }) => {
      const c = config(flags, io, { dev: flags.dev });
      const { unsafe } = checkSafety(c);
      const ok = unsafe.length === 0 || c.dev;
      if (flags.json) io.out(JSON.stringify({ ok, dev: c.dev, unsafe, database: databaseLabel(c) }));
      else {
        io.out(ok ? 'configuration is valid' : 'configuration would refuse to start:');
        for (const u of unsafe) io.out(`  - ${u}`);
      }
      if (!ok) outcome.exitCode = 1;
    });

  return program;
}

/** Runs the CLI; returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  const outcome = { exitCode: 0 };
  const program = buildCli(io, outcome);
  try {
    await program.parseAsync([...argv]);
    return outcome.exitCode;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 1;
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    io.err(`rampart: ${e.message ?? String(err)}`);
    return 1;
  }
}
