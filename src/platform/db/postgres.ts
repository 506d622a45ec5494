/**
 * PostgreSQL server driver (`pg`). The runtime pool connects with DATABASE_URL; migrations use
 * DATABASE_OWNER_URL when set. Every runtime transaction switches to the app role and sets the
 * tenant transaction-locally, so a pooled connection carries nothing into its next use.
 */
import pg from 'pg';
import { BaseDatabase, PREAMBLE_SQL, preambleParams, scopedTx, type Scope } from './base.js';
import type { OwnerTx } from './migrate.js';
import type { QueryResult, Row, Tx, TxOptions } from './types.js';

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
    super(options.statementTimeoutMs);
    this.ownerUrl = options.ownerUrl ?? options.url;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      types: pgTypes,
      application_name: options.applicationName ?? 'rampart',
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
    });
    // A connection that dies while idle in the pool is reported here; the pool drops it.
    this.pool.on('error', () => {});
  }

  protected async appTransaction<T>(scope: Scope, fn: (tx: Tx) => Promise<T>, options: TxOptions): Promise<T> {
    const client = await this.pool.connect();
    // A connection whose state we cannot vouch for is destroyed instead of returned to the pool.
    let broken: Error | undefined;
    try {
      try {
        await client.query(options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
        await client.query(PREAMBLE_SQL, preambleParams(scope, this.statementTimeoutMs));
      } catch (err) {
        broken = asError(err);
        throw err;
      }
      const { tx, end } = scopedTx(clientTx(client));
      try {
        const result = await fn(tx);
        end();
        await client.query('COMMIT');
        return result;
      } catch (err) {
        end();
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = asError(e);
        });
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  protected async ownerTransaction<T>(fn: (tx: OwnerTx) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.ownerUrl, types: pgTypes, application_name: 'rampart-migrate' });
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

function clientTx(client: pg.PoolClient): Tx {
  return {
    async query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const r = await client.query<R>(sql, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.rowCount ?? r.rows.length };
    },
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
