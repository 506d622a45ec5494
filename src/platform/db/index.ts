import path from 'node:path';
import type { Config } from '../../config.js';
import { PgliteDatabase } from './pglite.js';
import { PostgresDatabase } from './postgres.js';
import type { Database } from './types.js';

export * from './types.js';

/** Where the embedded database lives inside the data directory. */
export function embeddedDatabaseDir(config: Pick<Config, 'dataDir'>): string {
  return path.resolve(config.dataDir, 'pgdata');
}

/** The server database when DATABASE_URL is set, the embedded one otherwise. */
export async function openDatabase(config: Config): Promise<Database> {
  if (config.databaseUrl) {
    return new PostgresDatabase({
      url: config.databaseUrl,
      ownerUrl: config.databaseOwnerUrl,
      poolSize: config.databasePoolSize,
      acquireTimeoutMs: config.databaseAcquireTimeoutMs,
      statementTimeoutMs: config.statementTimeoutMs,
    });
  }
  return PgliteDatabase.open({ dataDir: embeddedDatabaseDir(config) });
}
