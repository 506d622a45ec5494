/**
 * Embedded driver: PGlite (PostgreSQL compiled to WebAssembly, in process). The same migrations,
 * roles and policies as on the server: PGlite runs one session as its superuser, and every
 * runtime transaction drops to the app role with the same preamble, so row-level security binds.
 * PGlite serialises transactions itself; one instance serves the whole process.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { BaseDatabase, preamble, type Scope } from './base.js';
import type { OwnerTx } from './migrate.js';
import { SCHEMA, type DriverTx, type QueryResult, type Row, type TxOptions } from './types.js';

/** Same shapes as the pg driver: bytea as Buffer, int8 as number. */
const parsers = {
  [types.BYTEA]: (v: string) => Buffer.from(v.slice(2), 'hex'),
  [types.INT8]: (v: string) => Number(v),
};

export interface PgliteOptions {
  /** Directory for the database files; undefined keeps everything in memory. */
  readonly dataDir?: string | undefined;
  /** A dump made by `dumpDataDir`, to start from (tests use a migrated template). */
  readonly loadDataDir?: Blob | undefined;
}

export class PgliteDatabase extends BaseDatabase {
  readonly kind = 'pglite' as const;

  private constructor(
    readonly pg: PGlite,
    private readonly releaseLock: () => void,
  ) {
    super();
  }

  static async open(options: PgliteOptions): Promise<PgliteDatabase> {
    let releaseLock = (): void => {};
    if (options.dataDir) {
      mkdirSync(path.dirname(path.resolve(options.dataDir)), { recursive: true, mode: 0o700 });
      releaseLock = acquireDirLock(options.dataDir);
    }
    try {
      const pg = await PGlite.create({
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
        parsers,
      });
      // One session, so its search_path is set once. (No statement timeout: PGlite runs
      // single-threaded in WebAssembly and cannot interrupt a statement.)
      await pg.exec(`SET search_path TO ${SCHEMA}`);
      return new PgliteDatabase(pg, releaseLock);
    } catch (err) {
      releaseLock();
      throw err;
    }
  }

  protected appTransaction<T>(scope: Scope, fn: (tx: DriverTx) => Promise<T>, options: TxOptions): Promise<T> {
    return this.pg.transaction(async (t) => {
      const first = preamble(scope, options.readOnly);
      await t.query(first.text, [...first.values]);
      return fn(transactionTx(t));
    });
  }

  protected ownerTransaction<T>(fn: (tx: OwnerTx) => Promise<T>): Promise<T> {
    return this.pg.transaction((t) =>
      fn({
        query: async <R extends Row>(sql: string, params?: readonly unknown[]) => ({
          rows: (await t.query<R>(sql, params as unknown[] | undefined)).rows,
        }),
        exec: async (sql: string) => {
          await t.exec(sql);
        },
      }),
    );
  }

  protected async probe(sql: string): Promise<Array<Record<string, unknown>>> {
    return (await this.pg.query<Record<string, unknown>>(sql)).rows;
  }

  /** A tarball of the whole database, for templates and backups of the embedded store. */
  dump(): Promise<Blob> {
    return this.pg.dumpDataDir('none');
  }

  async close(): Promise<void> {
    try {
      if (!this.pg.closed) await this.pg.close();
    } finally {
      this.releaseLock();
    }
  }
}

function transactionTx(t: Transaction): DriverTx {
  return {
    async query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const r = await t.query<R>(sql, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.rows.length > 0 ? r.rows.length : (r.affectedRows ?? 0) };
    },
  };
}

/** The lock file of an embedded database directory. */
function lockFile(dir: string): string {
  return `${path.resolve(dir)}.lock`;
}

/** The live process holding an embedded database's lock, or null (no lock, or one a dead process left). */
export function embeddedDatabaseHolder(dir: string): number | null {
  let text: string;
  try {
    text = readFileSync(lockFile(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
}

/**
 * PGlite is single-process: two processes on one data directory would corrupt it. An exclusive
 * lock file with our pid refuses the second; a lock left by a dead process is taken over.
 */
function acquireDirLock(dir: string): () => void {
  const file = lockFile(dir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = embeddedDatabaseHolder(dir);
      if (pid !== null) throw new Error(`the embedded database in ${dir} is in use by process ${pid}`, { cause: err });
      rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock the embedded database in ${dir}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
