/**
 * What a `rampart` command works on: the database and the services over it. Either the command
 * opens them itself (`openRuntime`: migrated, closed when the command ends), or the running server
 * lends its own through the control channel (src/control.ts, decision 0020), because the embedded
 * database admits one process at a time. The commands are written once against `Runtime`.
 */
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { objectStorageDir, publicUrl, type Config } from './config.js';
import { StaffEvents } from './modules/events/staff.js';
import { WorkspaceEvents } from './modules/events/workspace.js';
import { KeysService } from './modules/keys/index.js';
import { AuditLog } from './platform/audit/log.js';
import { CheckpointSigner } from './platform/audit/signer.js';
import { BackgroundWork } from './platform/background.js';
import { ContentCodec } from './platform/content/codec.js';
import { openKeyring, type Keyring } from './platform/crypto/index.js';
import { openDatabase } from './platform/db/index.js';
import { loggerOptions } from './platform/log.js';
import type { Database, MigrationReport } from './platform/db/types.js';
import { LocalObjectStore } from './platform/storage/object-store.js';

/** The server that lent its runtime: which process, and the URL it serves. */
export interface LendingServer {
  readonly pid: number;
  readonly url: string;
}

export interface Runtime {
  readonly config: Config;
  readonly db: Database;
  /** Where links point: the running server's own URL when it lends the runtime, else the configured one. */
  readonly publicUrl: string;
  /** The running server that lent this runtime, or null when the command opened it. */
  readonly server: LendingServer | null;
  /** The migrations applied when this runtime was opened (none when the server lends it: it migrated at start). */
  readonly migration: MigrationReport;
  /** The audit log, able to sign checkpoints (opens the key hierarchy). */
  audit(): Promise<AuditLog>;
  keys(): Promise<KeysService>;
  staffEvents(): Promise<StaffEvents>;
}

/** Opens the configured database (migrating it) for one command; everything opened is closed after `work`. */
export async function openRuntime<T>(config: Config, work: (rt: Runtime) => Promise<T>): Promise<T> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase(config);
  let keyring: Keyring | undefined;
  let audit: { log: AuditLog; signed: boolean } | undefined;
  let keys: KeysService | undefined;
  const log = pino(loggerOptions('warn'), pino.destination(2));
  const background = new BackgroundWork((err) => log.error({ err }, 'background work failed'));
  const openKeys = async () => (keyring ??= await openKeyring(config, db));
  const auditLog = async (signed: boolean): Promise<AuditLog> => {
    if (!audit) {
      const signer = signed ? new CheckpointSigner(db, (await openKeys()).root) : undefined;
      audit = { log: new AuditLog(db, { log, signer }), signed };
    }
    if (signed && !audit.signed) throw new Error('the audit log was opened without a signer');
    return audit.log;
  };
  try {
    const migration = await db.migrate();
    const rt: Runtime = {
      config,
      db,
      publicUrl: publicUrl(config),
      server: null,
      migration,
      audit: () => auditLog(true),
      async keys() {
        if (keys) return keys;
        const keyring = await openKeys();
        keys = new KeysService({
          db,
          keyring,
          codec: new ContentCodec(keyring),
          objects: new LocalObjectStore(objectStorageDir(config)),
          events: new WorkspaceEvents(db, await auditLog(true)),
          background,
          log,
          rotationDays: config.keyRotationDays,
        });
        return keys;
      },
      staffEvents: async () => new StaffEvents(db, await auditLog(keyring !== undefined)),
    };
    const result = await work(rt);
    await background.settle();
    return result;
  } finally {
    await audit?.log.stop();
    await keyring?.close();
    await db.close();
  }
}
