/**
 * PostgreSQL server driver (`pg`). The runtime pool connects with DATABASE_URL; migrations use
 * DATABASE_OWNER_URL when set. Every runtime transaction switches to the app role and sets the
 * tenant transaction-locally, so a pooled connection carries nothing into its next use.
 */
import pg from 'pg';
import { ConfigSchema } from '../../config.js';
import { BaseDatabase, preamble, type Scope } from './base.js';
import { isConnectionFailure } from './failures.js';
import type { OwnerTx } from './migrate.js';
import { runBatch, type BatchResult, type Statement } from './pg-batch.js';
import { DatabaseUnavailableError, SCHEMA, type DriverTx, type QueryResult, type Row, type TxOptions } from './types.js';

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
  /** How long to wait for a pooled connection (free or new); the configuration's default when unset. */
  readonly acquireTimeoutMs?: number;
  readonly applicationName?: string;
}

const DEFAULT_ACQUIRE_TIMEOUT_MS: number = ConfigSchema.shape.databaseAcquireTimeoutMs.parse(undefined);

/**
 * How much longer than the statement timeout the client waits for an answer. The server ends a
 * statement at its timeout and says so; silence beyond that means the server or the link hangs.
 */
const QUERY_TIMEOUT_MARGIN_MS = 1000;

/**
 * A connection checked out of the pool, for one transaction. The pool listens for a connection's
 * 'error' only while it idles: checked out, a connection the server ends (pg_terminate_backend, a
 * restart) or the network drops would emit an 'error' nobody hears, which ends the process. So we
 * listen for as long as we hold it, and a connection we cannot vouch for is destroyed on release
 * instead of going back to the pool.
 */
class Checkout {
  private lost: Error | undefined;
  broken: Error | undefined;
  private readonly onError = (err: Error): void => {
    this.lost ??= err;
  };

  constructor(
    readonly client: pg.PoolClient,
    /** Whether the pool had used this connection before (it may have died while idle). */
    readonly reused: boolean,
  ) {
    client.on('error', this.onError);
  }

  /**
   * Records a failure of the driver and returns what to throw: a connection-level failure becomes
   * DatabaseUnavailableError (and the connection is destroyed); the server's statement errors
   * pass through; anything else also destroys the connection, whose state is then unknown.
   */
  failed(err: unknown, during = 'a statement'): Error {
    const connection = this.lost !== undefined || isConnectionFailure(err);
    if (connection || !(err instanceof pg.DatabaseError)) this.broken ??= this.lost ?? asError(err);
    return connection ? new DatabaseUnavailableError(`the database connection failed during ${during}: ${describe(err)}`, { cause: err }) : asError(err);
  }

  private released = false;

  /** Once only (a connection replaced mid-transaction is released before the final release runs). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.client.off('error', this.onError);
    this.client.release(this.broken ?? this.lost);
  }
}

export class PostgresDatabase extends BaseDatabase {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly ownerUrl: string;
  private readonly used = new WeakSet<pg.PoolClient>();

  constructor(options: PostgresOptions) {
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
      // The same limit on the client: a server that accepts and never answers fails here.
      query_timeout: options.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
      idleTimeoutMillis: 30_000,
      // Waiting for a free connection, and opening a new one, are both bounded by this.
      connectionTimeoutMillis: options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS,
      // Idle connections whose peer vanished (a failover, a dropped link) are noticed and dropped.
      keepAlive: true,
    });
    // A connection that dies while idle in the pool is reported here; the pool drops it.
    this.pool.on('error', () => {});
  }

  private async checkout(): Promise<Checkout> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      // Refused, unreachable, too many connections, or none free within the acquire timeout.
      throw new DatabaseUnavailableError(`no database connection: ${describe(err)}`, { cause: err });
    }
    const reused = this.used.has(client);
    this.used.add(client);
    return new Checkout(client, reused);
  }

  /**
   * Read-only: each statement goes out in one round trip together with the preamble, as its own
   * implicit transaction (under READ COMMITTED every statement takes its own snapshot anyway).
   * Read-write: BEGIN, the preamble and the first statement go out together; COMMIT at the end.
   */
  protected async appTransaction<T>(scope: Scope, fn: (tx: DriverTx) => Promise<T>, options: TxOptions): Promise<T> {
    const first = { ...preamble(scope, options.readOnly), discardRows: true };
    const oneShot = options.readOnly === true || options.autocommit === true;
    let held = await this.checkout();
    const send = async (batch: readonly Statement[]): Promise<BatchResult[]> => {
      try {
        return await runBatch(held.client, batch, pgTypes);
      } catch (err) {
        throw held.failed(err);
      }
    };
    let begun = false;
    const tx: DriverTx = {
      query: async <R extends Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
        const statement = { text: sql, values: params };
        const batch = oneShot ? [first, statement] : begun ? [statement] : [{ text: 'BEGIN' }, first, statement];
        // Nothing this transaction did can have taken effect: a read-only statement, or the
        // batch that opens a transaction (never committed without our COMMIT). A pooled
        // connection that turns out dead (it died idle, unnoticed yet) is replaced, once.
        const replaceable = options.readOnly === true || (!oneShot && !begun);
        begun ||= !oneShot;
        let results: BatchResult[];
        try {
          results = await send(batch);
        } catch (err) {
          if (!(replaceable && held.reused && err instanceof DatabaseUnavailableError)) throw err;
          held.release();
          held = await this.checkout();
          results = await send(batch);
        }
        const r = results.at(-1);
        return { rows: (r?.rows ?? []) as R[], rowCount: r?.rowCount ?? 0 };
      },
    };
    try {
      const result = await fn(tx);
      if (begun) {
        // A COMMIT whose connection fails has an unknown outcome: the caller gets the error,
        // never a success, and the connection is destroyed.
        const commit = await held.client.query('COMMIT').catch((err: unknown) => Promise.reject(held.failed(err, 'COMMIT (whether it committed is unknown)')));
        // COMMIT of a transaction the server already aborted answers ROLLBACK, not an error.
        if (commit.command !== 'COMMIT') throw new Error('the transaction was rolled back by the server');
      }
      return result;
    } catch (err) {
      if (begun && !held.broken) {
        await held.client.query('ROLLBACK').catch((e: unknown) => {
          held.broken = asError(e);
        });
      }
      throw err;
    } finally {
      held.release();
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

/** The failure in a few words for the log: its code and message, never a statement or its values. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} ${err.message}` : err.message;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
