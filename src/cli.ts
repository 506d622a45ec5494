/**
 * `rampart` — the command line. Every command has --help; commands that report have --json.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { hostOption, LINK_HOST, LINK_PORT, portOption } from './cli-options.js';
import { checkSafety, ConfigError, loadConfig, type Config } from './config.js';
import { controlSocketExists, controlSocketPath, controlUnavailable, sendCommand } from './control.js';
import { issueSetupToken } from './modules/accounts/index.js';
import { embeddedDatabaseDir } from './platform/db/index.js';
import { embeddedDatabaseHolder } from './platform/db/pglite.js';
import { redactUrl } from './platform/log.js';
import { preflight } from './preflight.js';
import { openRuntime, type Runtime } from './runtime.js';
import { startServer } from './server.js';
import { auditCommands } from './cli-audit.js';
import { staffCommands } from './modules/staff/cli.js';
import { tenantContext } from './platform/db/types.js';
import { isUuid } from './platform/ids.js';
import type { KeysService } from './modules/keys/index.js';
import type { StaffEvents } from './modules/events/staff.js';

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

interface CommonFlags {
  config?: string;
  dataDir?: string;
  json?: boolean;
}

type Extra = Partial<Record<keyof Config, unknown>>;

/**
 * How a command reaches its configuration and its runtime, and resolves the paths it is given.
 * Run by a user, it loads the configuration and opens the runtime itself; run inside the server
 * (the control channel), both are the server's own and paths resolve against the caller's
 * working directory.
 */
export interface CommandContext {
  readonly io: Io;
  readonly outcome: { exitCode: number };
  readonly withCommon: (cmd: Command) => Command;
  readonly config: (flags: CommonFlags, extra?: Extra) => Config;
  readonly open: <T>(flags: CommonFlags, extra: Extra, work: (rt: Runtime) => Promise<T>) => Promise<T>;
  /** An option value that names a file, made absolute against the caller's working directory. */
  readonly path: (value: string) => string;
}

/** Where the commands run: by default here; `lent` when the running server runs them on its own runtime. */
export interface CliOptions {
  readonly lent?: Runtime;
  /** The caller's working directory (the control channel's caller), for relative paths. */
  readonly cwd?: string;
}

function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('-c, --config <file>', 'JSON configuration file').env('RAMPART_CONFIG_FILE'))
    .addOption(new Option('-d, --data-dir <dir>', 'data directory (embedded database, local objects)'));
}

function loadFor(flags: CommonFlags, io: Io, extra: Extra = {}): Config {
  return loadConfig({ env: io.env, ...(flags.config ? { file: flags.config } : {}), flags: { dataDir: flags.dataDir, ...extra } });
}

function databaseLabel(c: Config): string {
  return c.databaseUrl ? redactUrl(c.databaseOwnerUrl ?? c.databaseUrl) : `embedded database in ${path.resolve(c.dataDir)}`;
}

/**
 * The commands that work on the database. Beside a running server on the same embedded database
 * they run inside that server (decision 0020); `start`, `secret` and `check-config` always run here.
 */
export const DATABASE_COMMANDS: ReadonlySet<string> = new Set([
  'migrate',
  'setup-link',
  'keys status',
  'keys rotate',
  'keys rewrap',
  'keys retire',
  'keys destroy',
  'audit verify',
  'audit export',
  'audit checkpoint',
  'audit rotate-signing-key',
  'audit public-keys',
  'staff add',
  'staff list',
]);

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Whether this command line needs the database (`audit verify --file` checks a file offline). */
function needsDatabase(cmd: Command): boolean {
  const name = commandPath(cmd);
  return DATABASE_COMMANDS.has(name) && !(name === 'audit verify' && cmd.opts<{ file?: string }>().file !== undefined);
}

/** Thrown before a command runs when the running server must run it: main sends it there. */
class SendToServer extends Error {
  constructor(
    readonly socket: string,
    readonly pid: number,
  ) {
    super(`the running server (process ${pid}) takes this command`);
  }
}

/**
 * Before a database command opens anything: if a live process holds the embedded database, the
 * command goes to it through its control channel; without one, say exactly what to do.
 */
function routeToServer(cmd: Command, io: Io): void {
  if (!needsDatabase(cmd)) return;
  let c: Config;
  try {
    c = loadFor(cmd.opts<CommonFlags>(), io);
  } catch {
    return; // the command itself reports the configuration's problems
  }
  if (c.databaseUrl) return;
  const holder = embeddedDatabaseHolder(embeddedDatabaseDir(c));
  if (holder === null) return;
  const socket = controlSocketPath(c);
  if (controlSocketExists(c)) throw new SendToServer(socket, holder);
  const why = controlUnavailable(socket);
  throw new Error(
    `the embedded database in ${path.resolve(c.dataDir)} is in use by process ${holder}, which takes no commands ` +
      `(${why ?? 'an older Rampart, or another rampart command'}): stop it (Ctrl-C where it runs, or \`kill ${holder}\`), ` +
      `then run \`rampart ${commandPath(cmd)}\` again`,
  );
}

/** `outcome.exitCode` is what a command that completed wants the process to exit with. */
export function buildCli(io: Io = defaultIo, outcome: { exitCode: number } = { exitCode: 0 }, options: CliOptions = {}): Command {
  const { lent } = options;
  const cwd = options.cwd ?? process.cwd();
  const ctx: CommandContext = {
    io,
    outcome,
    withCommon,
    config: (flags, extra) => lent?.config ?? loadFor(flags, io, extra),
    open: (flags, extra, work) => (lent ? work(lent) : openRuntime(loadFor(flags, io, extra), work)),
    path: (value) => path.resolve(cwd, value),
  };
  const program = new Command('rampart')
    .description('Rampart — the trust layer for multi-tenant SaaS')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride()
    .hook('preAction', (_program, cmd) => {
      if (!lent) return routeToServer(cmd, io);
      if (!needsDatabase(cmd)) throw new Error(`\`rampart ${commandPath(cmd)}\` does not run inside the server`);
    });

  withCommon(program.command('start'))
    .description('start the server (migrates the database first)')
    .addOption(portOption())
    .addOption(hostOption())
    .addOption(new Option('--dev', 'development mode: allow unsafe settings, with warnings (RAMPART_DEV)'))
    .action(async (flags: CommonFlags & { port?: number; host?: string; dev?: boolean }) => {
      const c = loadFor(flags, io, { port: flags.port, host: flags.host, dev: flags.dev });
      // Beside it, the database commands run inside it (the control channel, decision 0020).
      const server = await startServer(c, io.out, { commands: runInServer });
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
    .action((flags: CommonFlags) =>
      ctx.open(flags, {}, async (rt) => {
        const report = rt.migration;
        if (flags.json) return io.out(JSON.stringify({ database: databaseLabel(rt.config), ...report, ...(rt.server ? { migratedBy: rt.server } : {}) }));
        if (rt.server) io.out(`nothing to apply: the running server (process ${rt.server.pid}, ${rt.server.url}) migrated the database when it started`);
        else io.out(report.applied.length > 0 ? `applied: ${report.applied.join(', ')}` : 'nothing to apply');
        io.out(`schema is at ${report.current ?? 'nothing'} (${databaseLabel(rt.config)})`);
      }),
    );

  withCommon(program.command('setup-link'))
    .description('print a new one-time link for creating the first account (only while none exists); beside a running server, it asks the server')
    .option('--json', 'print the result as JSON')
    .option('--dev', 'development mode (uses the generated development root secret)')
    .addOption(portOption(LINK_PORT))
    .addOption(hostOption(LINK_HOST))
    .action((flags: CommonFlags & { dev?: boolean; port?: number; host?: string }) => {
      const extra = { dev: flags.dev, port: flags.port, host: flags.host };
      const c = ctx.config(flags, extra);
      if (!c.rootSecret && !c.dev) throw new ConfigError(['no root secret: set RAMPART_ROOT_SECRET, or pass --dev']);
      return ctx.open(flags, extra, async (rt) => {
        const token = await issueSetupToken(rt.db);
        // The token travels in the fragment, which browsers never send to the server or its logs.
        const link = token ? `${rt.publicUrl}/setup#token=${token}` : null;
        if (flags.json) io.out(JSON.stringify({ setupLink: link }));
        else io.out(link ?? 'an account already exists; sign in instead');
      });
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
    .addOption(portOption())
    .addOption(hostOption())
    .action(async (flags: CommonFlags & { dev?: boolean; port?: number; host?: string }) => {
      const c = loadFor(flags, io, { dev: flags.dev, port: flags.port, host: flags.host });
      const { refusals, allowed } = await preflight(c, { port: true });
      const ok = refusals.length === 0;
      const { unsafe } = checkSafety(c);
      if (flags.json) io.out(JSON.stringify({ ok, dev: c.dev, refusals, unsafe, database: databaseLabel(c) }));
      else {
        io.out(ok ? `configuration is valid; \`rampart start\` would start (${databaseLabel(c)})` : 'configuration would refuse to start:');
        for (const r of refusals) io.out(`  - ${r}`);
        if (allowed.length > 0) io.out(ok ? 'allowed in development mode:' : 'allowed in development mode (not what stops it):');
        for (const a of allowed) io.out(`  - ${a}`);
      }
      if (!ok) outcome.exitCode = 1;
    });

  keysCommands(program, ctx);
  staffCommands(program, ctx);
  auditCommands(program, ctx);
  return program;
}

interface KeysFlags extends CommonFlags {
  dev?: boolean;
  tenant?: string;
}

/** Runs `work` on the key service of the runtime the command opens (or the server lends). */
function withKeys<T>(ctx: CommandContext, flags: KeysFlags, work: (keys: KeysService, system: StaffEvents) => Promise<T>): Promise<T> {
  return ctx.open(flags, { dev: flags.dev }, async (rt) => work(await rt.keys(), await rt.staffEvents()));
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

function keysCommands(program: Command, ctx: CommandContext): void {
  const { io, outcome } = ctx;
  const keys = program.command('keys').description('encryption keys: status, rotation, rewrap, retirement, destruction');
  const common = (cmd: Command) =>
    withCommon(cmd)
      .option('--json', 'print the result as JSON')
      .option('--dev', 'development mode (accepts a development root key file)');

  common(keys.command('status'))
    .description("a workspace's keys: versions, rows under each, rotation")
    .requiredOption('--tenant <id>', 'workspace id', tenantId)
    .action((flags: KeysFlags) =>
      withKeys(ctx, flags, async (k) => {
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
      return withKeys(ctx, flags, async (k, system) => {
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
      withKeys(ctx, flags, async (k) => {
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
      withKeys(ctx, flags, async (k) => {
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
      withKeys(ctx, flags, async (k) => {
        const tenant = flags.tenant as string;
        const status = await k.keyring.status(tenant);
        if (!status.destroyAfter && !status.destroyedAt) throw new Error('only the keys of a deleted workspace are destroyed; delete the workspace first');
        if (!flags.yes) throw new Error('pass --yes to confirm');
        await k.keyring.destroy(tenant);
        io.out(flags.json ? JSON.stringify({ tenant, destroyed: true }) : `${tenant}: keys destroyed; the destruction is recorded outside the database`);
      }),
    );
}

/** Runs one command line; returns the exit code instead of exiting. */
async function run(argv: readonly string[], io: Io, options: CliOptions): Promise<number> {
  const outcome = { exitCode: 0 };
  const program = buildCli(io, outcome, options);
  try {
    await program.parseAsync([...argv]);
    return outcome.exitCode;
  } catch (err) {
    if (err instanceof SendToServer) throw err;
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

/** A command line the control channel brought: run inside the server, on its runtime. */
export function runInServer(lent: Runtime, argv: readonly string[], cwd: string, io: Pick<Io, 'out' | 'err'>): Promise<number> {
  return run(argv, { ...io, env: {} }, { lent, cwd });
}

/** Runs the CLI; returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    return await run(argv, io, {});
  } catch (err) {
    if (!(err instanceof SendToServer)) throw err;
    io.err(`(the running server, process ${err.pid}, holds the embedded database: this command runs there)`);
    try {
      return await sendCommand(err.socket, argv, process.cwd(), io);
    } catch (sendErr) {
      io.err(
        `rampart: the running server (process ${err.pid}) did not take the command on ${err.socket} (${(sendErr as Error).message}); ` +
          'if it is stopping, wait for it, then run the command again',
      );
      return 1;
    }
  }
}
