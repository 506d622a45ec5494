/**
 * PostgreSQL server driver (`pg`). The runtime pool connects with DATABASE_URL; migrations use
 * DATABASE_OWNER_URL when set. Every runtime transaction switches to the app role and sets the
 * tenant transaction-locally, so a pooled connection carries nothing into its next use.
 */
import pg from 'pg';
import { BaseDatabase, preamble, type Scope } from './base.js';
import { runBatch } from './pg-batch.js';
import type { OwnerTx } from './migrate.js';
import { SCHEMA, type DriverTx, type QueryResult, type Row, type TxOptions } from './types.js';

const INT8_OID = 20;

/** int8 as a JS number (counts and sizes stay far below 2^53), everything else as pg parses it. */
export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

export interface PostgresOptions {
  readonly url: string;
  readonly ownerUrl?: string | undefined;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly applicationName?: string;
}

export class PostgresDatabase extends BaseDatabase {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly ownerUrl: string;

  constructor(private readonly options: PostgresOptions) {
    super();
    this.ownerUrl = options.ownerUrl ?? options.url;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      types: pgTypes,
      application_name: options.applicationName ?? 'rampart',
      // The same for every transaction, so set once per connection (startup parameters). Behind
      // pgBouncer, which does not forward them, set both on the runtime login instead:
      // ALTER ROLE … SET search_path = rampart; ALTER ROLE … SET statement_timeout = '15s'.
      options: `-c search_path=${SCHEMA}`,
      statement_timeout: options.statementTimeoutMs,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
    });
    // A connection that dies while idle in the pool is reported here; the pool drops it.
    this.pool.on('error', () => {});
  }

  /**
   * Read-only: each statement goes out in one round trip together with the preamble, as its own
   * implicit transaction (under READ COMMITTED every statement takes its own snapshot anyway).
   * Read-write: BEGIN, the preamble and the first statement go out together; COMMIT at the end.
   */
  protected async appTransaction<T>(scope: Scope, fn: (tx: DriverTx) => Promise<T>, options: TxOptions): Promise<T> {
    const first = { ...preamble(scope, options.readOnly), discardRows: true };
    const client = await this.pool.connect();
    // The pool listens for a connection's 'error' only while it idles. Checked out, a connection
    // the server ends (pg_terminate_backend, a restart) or the network drops would emit an
    // 'error' nobody hears, which ends the process: listen for as long as we hold it.
    let lost: Error | undefined;
    const onError = (err: Error): void => {
      lost ??= err;
    };
    client.on('error', onError);
    // A connection whose state we cannot vouch for is destroyed instead of returned to the pool.
    let broken: Error | undefined;
    const driverFailed = (err: unknown): void => {
      // The server reports its own errors; anything else, or an error that ends the session,
      // means the link itself failed.
      if (lost || !(err instanceof pg.DatabaseError) || endsSession(err)) broken ??= lost ?? asError(err);
    };
    let begun = false;
    const tx: DriverTx = {
      query: async <R extends Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
        const statement = { text: sql, values: params };
        const oneShot = options.readOnly === true || options.autocommit === true;
        const batch = oneShot ? [first, statement] : begun ? [statement] : [{ text: 'BEGIN' }, first, statement];
        begun ||= !oneShot;
        try {
          const r = (await runBatch(client, batch, pgTypes)).at(-1);
          return { rows: (r?.rows ?? []) as R[], rowCount: r?.rowCount ?? 0 };
        } catch (err) {
          driverFailed(err);
          throw err;
        }
      },
    };
    try {
      const result = await fn(tx);
      if (begun) {
        // A COMMIT whose connection fails has an unknown outcome: the caller gets the error,
        // never a success, and the connection is destroyed.
        const commit = await client.query('COMMIT').catch((err: unknown) => {
          driverFailed(err);
          throw err;
        });
        // COMMIT of a transaction the server already aborted answers ROLLBACK, not an error.
        if (commit.command !== 'COMMIT') throw new Error('the transaction was rolled back by the server');
      }
      return result;
    } catch (err) {
      if (begun && !broken) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = asError(e);
        });
      }
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken ?? lost);
    }
  }

  protected async ownerTransaction<T>(fn: (tx: OwnerTx) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.ownerUrl, types: pgTypes, application_name: 'rampart-migrate' });
    // A connection that dies surfaces as the failure of the statement waiting on it; without a
    // listener it would also be an uncaught 'error' event that ends the process.
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await fn({
          query: async <R extends Row>(sql: string, params?: readonly unknown[]) => {
            const r = await client.query<R>(sql, params as unknown[] | undefined);
            return { rows: r.rows };
          },
          exec: async (sql: string) => {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    } finally {
      await client.end();
    }
  }

  protected async probe(sql: string): Promise<Array<Record<string, unknown>>> {
    return (await this.pool.query(sql)).rows as Array<Record<string, unknown>>;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** SQLSTATEs after which the session is gone: admin or crash shutdown, cannot connect now, connection exceptions. */
function endsSession(err: pg.DatabaseError): boolean {
  return err.severity === 'FATAL' || err.severity === 'PANIC' || err.code?.startsWith('08') === true || /^57P0[123]$/.test(err.code ?? '');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
