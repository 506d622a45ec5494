/**
 * `rampart` — the command line. Every command has --help; commands that report have --json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkSafety, ConfigError, loadConfig, objectStorageDir, publicUrl, type Config } from './config.js';
import { issueSetupToken } from './modules/accounts/index.js';
import { openDatabase } from './platform/db/index.js';
import { redactUrl } from './platform/log.js';
import { preflight } from './preflight.js';
import { startServer } from './server.js';
import pino from 'pino';
import { KeysService } from './modules/keys/index.js';
import { WorkspaceEvents } from './modules/events/workspace.js';
import { StaffEvents } from './modules/events/staff.js';
import { AuditLog } from './platform/audit/log.js';
import { auditCommands } from './cli-audit.js';
import { staffCommands } from './modules/staff/cli.js';
import { BackgroundWork } from './platform/background.js';
import { ContentCodec } from './platform/content/codec.js';
import { openKeyring, type Keyring } from './platform/crypto/index.js';
import { tenantContext, type Database } from './platform/db/types.js';
import { isUuid } from './platform/ids.js';
import { LocalObjectStore } from './platform/storage/object-store.js';

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
    .description('run every check `start` runs (settings, data directory, root key file, TLS files, port), without starting')
    .option('--json', 'print the result as JSON')
    .option('--dev', 'evaluate as in development mode')
    .addOption(new Option('-p, --port <port>', 'TCP port (PORT)').argParser(port))
    .addOption(new Option('-H, --host <host>', 'interface to listen on (HOST)'))
    .action(async (flags: CommonFlags & { dev?: boolean; port?: number; host?: string }) => {
      const c = config(flags, io, { dev: flags.dev, port: flags.port, host: flags.host });
      const { refusals, allowed } = await preflight(c, { port: true });
      const ok = refusals.length === 0;
      const { unsafe } = checkSafety(c);
      if (flags.json) io.out(JSON.stringify({ ok, dev: c.dev, refusals, unsafe, database: databaseLabel(c) }));
      else {
        io.out(ok ? `configuration is valid; \`rampart start\` would start (${databaseLabel(c)})` : 'configuration would refuse to start:');
        for (const r of refusals) io.out(`  - ${r}`);
        for (const a of allowed) io.out(`  - allowed in development mode: ${a}`);
      }
      if (!ok) outcome.exitCode = 1;
    });

  keysCommands(program, io, outcome);
  staffCommands(program, { io, withCommon, config: (flags) => config(flags, io) });
  auditCommands(program, { io, outcome, withCommon, config: (flags, extra) => config(flags, io, extra) });
  return program;
}

interface KeysFlags extends CommonFlags {
  dev?: boolean;
  tenant?: string;
}

/** Opens what the key commands work on, runs `work`, and closes it all. */
async function withKeys<T>(flags: KeysFlags, io: Io, work: (keys: KeysService, db: Database, system: StaffEvents) => Promise<T>): Promise<T> {
  const c = config(flags, io, { dev: flags.dev });
  mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase(c);
  let keyring: Keyring | undefined;
  try {
    await db.migrate();
    keyring = await openKeyring(c, db);
    const log = pino({ level: 'warn' }, pino.destination(2));
    const background = new BackgroundWork((err) => log.error({ err }, 'background work failed'));
    const audit = new AuditLog(db, { log });
    const keys = new KeysService({
      db,
      keyring,
      codec: new ContentCodec(keyring),
      objects: new LocalObjectStore(objectStorageDir(c)),
      events: new WorkspaceEvents(db, audit),
      background,
      log,
      rotationDays: c.keyRotationDays,
    });
    const result = await work(keys, db, new StaffEvents(db, audit));
    await background.settle();
    await audit.stop();
    return result;
  } finally {
    await keyring?.close();
    await db.close();
  }
}

function tenantId(value: string): string {
  if (!isUuid(value)) throw new InvalidArgumentError('a tenant (workspace) id is a lowercase UUID');
  return value;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

/** One line of progress: a bar, counts and rate. */
export function progressLine(p: { tenantId: string; done: number; total: number }, startedAt: number, now = Date.now()): string {
  const width = 24;
  const ratio = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const filled = Math.round(ratio * width);
  const rate = p.done / Math.max(0.001, (now - startedAt) / 1000);
  return `${p.tenantId} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${p.done}/${p.total} rows ${Math.round(rate)} rows/s`;
}

function keysCommands(program: Command, io: Io, outcome: { exitCode: number }): void {
  const keys = program.command('keys').description('encryption keys: status, rotation, rewrap, retirement, destruction');
  const common = (cmd: Command) =>
    withCommon(cmd)
      .option('--json', 'print the result as JSON')
      .option('--dev', 'development mode (accepts a development root key file)');

  common(keys.command('status'))
    .description("a workspace's keys: versions, rows under each, rotation")
    .requiredOption('--tenant <id>', 'workspace id', tenantId)
    .action((flags: KeysFlags) =>
      withKeys(flags, io, async (k) => {
        const status = await k.status({ tenant: tenantContext(flags.tenant as string, null) });
        if (flags.json) return io.out(JSON.stringify(status));
        io.out(`provider ${status.provider}${status.ownKey ? ` (own key ${status.ownKey.keyRef})` : ''}; current version ${status.currentVersion}; decrypts from version ${status.minDecryptVersion}`);
        for (const v of status.versions) {
          io.out(`  v${v.version} ${v.state.padEnd(9)} ${v.keyRef}  records ${v.rows.records}, documents ${v.rows.documents}, secrets ${v.rows.secrets}`);
        }
        io.out(`  rows waiting for rewrap: ${status.pendingRewrap}; next rotation: ${status.nextRotationAt ?? 'off'}`);
      }),
    );

  common(keys.command('rotate'))
    .description('add a key version: of the root key (--root), of one workspace (--tenant), or of every workspace (--all-tenants)')
    .option('--root', 'rotate the root key, then rewrap every tenant key under the new root key')
    .option('--tenant <id>', 'rotate one workspace key', tenantId)
    .option('--all-tenants', 'rotate every workspace key')
    .action((flags: KeysFlags & { root?: boolean; allTenants?: boolean }) => {
      const chosen = [flags.root, flags.tenant, flags.allTenants].filter(Boolean).length;
      if (chosen !== 1) throw new Error('name exactly one of --root, --tenant <id>, --all-tenants');
      return withKeys(flags, io, async (k, _db, system) => {
        if (flags.root) {
          const ref = await k.keyring.root.rotateRoot();
          let moved = 0;
          for (const t of await k.keyring.tenants()) moved += await k.keyring.rewrapTenantKeys(t);
          // The system acted, from the command line: an event in the staff chain.
          await system.record(null, { action: 'key.root_rotated', outcome: 'success', details: { keyRef: ref, tenantKeysRewrapped: moved, via: 'cli' } }, null);
          return io.out(flags.json ? JSON.stringify({ root: ref, tenantKeysRewrapped: moved }) : `root key is now ${ref}; ${moved} tenant key versions rewrapped under it`);
        }
        const tenants = flags.tenant ? [flags.tenant] : await k.keyring.tenants();
        const rotated: Array<{ tenant: string; version: number }> = [];
        for (const t of tenants) rotated.push({ tenant: t, version: await k.rotateAsSystem(t) });
        if (flags.json) return io.out(JSON.stringify({ rotated }));
        for (const r of rotated) io.out(`${r.tenant}: now version ${r.version}`);
        io.out('content moves to the new versions with `rampart keys rewrap` (the server also does it in the background)');
      });
    });

  common(keys.command('rewrap'))
    .description("re-encrypt content under each workspace's newest key version; resumable, safe beside a running server")
    .option('--tenant <id>', 'only this workspace', tenantId)
    .option('--batch-size <n>', 'rows per transaction', positive, 500)
    .action((flags: KeysFlags & { batchSize: number }) =>
      withKeys(flags, io, async (k) => {
        const tenants = flags.tenant ? [flags.tenant] : await k.keyring.tenants();
        const results = [];
        for (const t of tenants) {
          const startedAt = Date.now();
          let last = 0;
          const result = await k.rewrap(t, {
            batchSize: flags.batchSize,
            onProgress: (p) => {
              if (flags.json || Date.now() - last < 1000) return;
              last = Date.now();
              io.err(progressLine(p, startedAt));
            },
          });
          if (!flags.json) {
            io.err(progressLine({ tenantId: t, done: result.rewrapped, total: result.rewrapped + result.remaining }, startedAt));
            io.out(`${t}: ${result.rewrapped} rows now under version ${result.version}; ${result.remaining} left on older versions; ${result.failed.length} failed`);
            for (const f of result.failed) io.out(`  failed: ${f.table} ${f.id} (${f.code})`);
          }
          results.push(result);
          if (result.failed.length > 0 || result.remaining > 0) outcome.exitCode = 1;
        }
        if (flags.json) io.out(JSON.stringify({ results }));
      }),
    );

  common(keys.command('retire'))
    .description('stop versions below --min-version (default: the current one) from decrypting; refused while rows remain under them')
    .requiredOption('--tenant <id>', 'workspace id', tenantId)
    .option('--min-version <n>', 'the oldest version that may still decrypt', positive)
    .action((flags: KeysFlags & { minVersion?: number }) =>
      withKeys(flags, io, async (k) => {
        const tenant = flags.tenant as string;
        const min = flags.minVersion ?? (await k.keyring.status(tenant)).currentVersion;
        await k.keyring.retire(tenant, min);
        io.out(flags.json ? JSON.stringify({ tenant, minDecryptVersion: min }) : `${tenant}: versions below ${min} no longer decrypt`);
      }),
    );

  common(keys.command('destroy'))
    .description("crypto-shred a deleted workspace now, without waiting for its grace period")
    .requiredOption('--tenant <id>', 'workspace id', tenantId)
    .option('--yes', 'confirm: everything encrypted under these keys becomes unreadable, for good')
    .action((flags: KeysFlags & { yes?: boolean }) =>
      withKeys(flags, io, async (k) => {
        const tenant = flags.tenant as string;
        const status = await k.keyring.status(tenant);
        if (!status.destroyAfter && !status.destroyedAt) throw new Error('only the keys of a deleted workspace are destroyed; delete the workspace first');
        if (!flags.yes) throw new Error('pass --yes to confirm');
        await k.keyring.destroy(tenant);
        io.out(flags.json ? JSON.stringify({ tenant, destroyed: true }) : `${tenant}: keys destroyed; the destruction is recorded outside the database`);
      }),
    );
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
