/**
 * Starting Rampart: check the configuration's safety, open and migrate the database, build the
 * app, listen, and print the one-time setup link while no account exists.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAuditMaintenance } from './platform/audit/maintenance.js';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp, type RampartApp } from './app.js';
import { ConfigError, objectStorageDir, publicUrl, type Config } from './config.js';
import { openDatabase } from './platform/db/index.js';
import type { Database, MigrationReport } from './platform/db/types.js';
import { LocalObjectStore } from './platform/storage/object-store.js';
import { controlSocketPath, controlUnavailable, openControlChannel, type CommandIo, type ControlChannel } from './control.js';
import type { Runtime } from './runtime.js';
import { listenProblem, preflight, safetyReport, type PreflightReport } from './preflight.js';

export interface RunningServer extends RampartApp {
  readonly db: Database;
  readonly url: string;
  readonly setupLink: string | null;
  close(): Promise<void>;
}

export type Print = (line: string) => void;

const KEY_SCHEDULER_INTERVAL_MS = 60_000;

/**
 * The root secret: configured, or in development a generated one kept under the data directory
 * (0600) so sessions survive restarts. Outside development a missing secret never gets here.
 */
export function resolveRootSecret(config: Config, print: Print): string {
  if (config.rootSecret) return config.rootSecret;
  const file = path.resolve(config.dataDir, 'dev-root-secret');
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    print(`development mode: generated a root secret in ${file}; set RAMPART_ROOT_SECRET outside development`);
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

/** Refuses what the preflight refuses; in development prints each unsafe setting it allows. */
export function enforcePreflight(report: PreflightReport, print: Print): void {
  if (report.refusals.length > 0) throw new ConfigError(report.refusals);
  for (const problem of report.allowed) print(`WARNING (development mode): ${problem}`);
}

/** The safety part of the preflight alone (no I/O): refuses unsafe settings outside development. */
export function enforceSafety(config: Config, print: Print): void {
  enforcePreflight(safetyReport(config), print);
}

/** What embedding code (tests, a host process) may add: its own logger, and hooks before listening. */
export interface StartOptions {
  readonly logger?: FastifyBaseLogger;
  readonly beforeListen?: (app: FastifyInstance) => void;
  /**
   * Runs `rampart` command lines on this server's runtime: with it, a server on the embedded
   * database opens the control channel (src/control.ts), so the CLI works beside it.
   */
  readonly commands?: (lent: Runtime, argv: readonly string[], cwd: string, io: CommandIo) => Promise<number>;
}

export async function startServer(
  config: Config,
  print: Print = (line) => process.stdout.write(`${line}\n`),
  options: StartOptions = {},
): Promise<RunningServer> {
  enforcePreflight(await preflight(config, { port: true }), print);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const rootSecret = resolveRootSecret(config, print);

  const db = await openDatabase(config);
  let started: RampartApp | undefined;
  let report: MigrationReport;
  try {
    report = await db.migrate();
    if (report.applied.length > 0) print(`database migrated: ${report.applied.join(', ')}`);
    started = await buildApp({
      config: { ...config, rootSecret },
      db,
      objects: new LocalObjectStore(objectStorageDir(config)),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    options.beforeListen?.(started.app);
    await started.app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await started?.app.close().catch(() => {});
    await db.close().catch(() => {});
    // The port was free at the preflight; something took it since: the same refusal, the same fix.
    const problem = listenProblem(config, err);
    throw problem ? new ConfigError([problem]) : err;
  }
  const { app, services, routes } = started;
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : config.port;
  const url = publicUrl(config, boundPort);
  print(`Rampart is listening on ${url} (${db.kind === 'pglite' ? `embedded database in ${path.resolve(config.dataDir)}` : 'PostgreSQL'})`);
  services.mailer.start();
  // Key rotation when due, rewrap after it, and the destruction of deleted workspaces' keys.
  const keyScheduler = services.keys.startScheduler(KEY_SCHEDULER_INTERVAL_MS);
  // Signed checkpoints, the SIEM sinks, and retention.
  const auditMaintenance = startAuditMaintenance(services.audit, services.auditSinks, { checkpointSeconds: config.auditCheckpointSeconds, retentionDays: config.auditRetentionDays }, app.log);
  let control: ControlChannel | null = null;
  if (options.commands && db.kind === 'pglite') {
    const lent: Runtime = {
      config,
      db,
      publicUrl: url,
      server: { pid: process.pid, url },
      migration: { applied: [], current: report.current },
      audit: async () => services.audit,
      keys: async () => services.keys,
      staffEvents: async () => services.staffEvents,
    };
    const commands = options.commands;
    const unavailable = controlUnavailable(controlSocketPath(config));
    if (unavailable) print(`rampart commands cannot reach this server (${unavailable}); stop it to run them`);
    else {
      control = await openControlChannel(config, (argv, cwd, io) => commands(lent, argv, cwd, io), app.log).catch((err: unknown) => {
        print(`rampart commands cannot reach this server (its control channel did not open: ${(err as Error).message}); stop it to run them`);
        return null;
      });
    }
  }
  if (!config.smtpUrl) {
    print(
      config.dev
        ? `mail is not sent (no SMTP_URL): messages stay in the outbox; sign-in links are logged and shown at ${url}/dev/mailbox`
        : 'mail is not sent (no SMTP_URL): messages stay in the outbox; set SMTP_URL to deliver them',
    );
  }

  const token = await services.accounts.issueSetupToken();
  // The token travels in the fragment, which browsers never send to the server or its logs.
  const setupLink = token ? `${url}/setup#token=${token}` : null;
  if (setupLink) {
    print('');
    print('  No account exists yet. Create the first one with this one-time link (valid 24 hours):');
    print(`  ${setupLink}`);
    print('');
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    routes,
    db,
    url,
    setupLink,
    close() {
      closing ??= (async () => {
        await control?.close();
        await keyScheduler.stop();
        await auditMaintenance.stop();
        await app.close();
        await db.close();
      })();
      return closing;
    },
  };
}
