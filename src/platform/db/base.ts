import { isUuid } from '../ids.js';
import { latestVersion, loadMigrations, runMigrations, type Migration, type OwnerTx } from './migrate.js';
import {
  APP_ROLE,
  SCHEMA,
  type Database,
  type MigrationReport,
  type TenantContext,
  type DriverTx,
  type Tx,
  type TxOptions,
} from './types.js';

/** What a runtime transaction is scoped to; empty strings mean "none". */
export interface Scope {
  readonly tenantId: string;
  readonly accountId: string;
}

/**
 * The first statement of every runtime transaction: what scopes it. `set_config(…, true)` is
 * transaction-local — PostgreSQL restores the previous values at commit or rollback, so nothing
 * survives on the connection. The role switch makes row-level security apply even when the login
 * is the owner; read-only transactions also become read-only on the server. (Settings that are the
 * same for every transaction — search_path, statement_timeout — are connection settings.)
 */
const PREAMBLE_SQL = `SELECT set_config('role', $1, true), set_config('rampart.tenant_id', $2, true), set_config('rampart.account_id', $3, true)`;
/** `Tx.bindAccount`: the account a proof named, for the rest of the transaction. */
const BIND_ACCOUNT_SQL = `SELECT set_config('rampart.account_id', $1, true)`;
const READ_ONLY_PREAMBLE_SQL = `${PREAMBLE_SQL}, set_config('transaction_read_only', 'on', true)`;

export interface Preamble {
  readonly text: string;
  readonly values: readonly string[];
}

export function preamble(scope: Scope, readOnly = false): Preamble {
  return { text: readOnly ? READ_ONLY_PREAMBLE_SQL : PREAMBLE_SQL, values: [APP_ROLE, scope.tenantId, scope.accountId] };
}

/** Thrown when a callback returns normally from a transaction in which a statement failed. */
export class RolledBackError extends Error {
  override name = 'RolledBackError';
  constructor(cause: unknown) {
    super('a statement failed in this transaction, so it was rolled back', { cause });
  }
}

export abstract class BaseDatabase implements Database {
  abstract readonly kind: 'postgres' | 'pglite';

  /**
   * Runs fn in an app-role transaction whose first statement is the preamble for scope. The
   * driver owns the connection; `run` below owns the rules every driver shares.
   */
  protected abstract appTransaction<T>(scope: Scope, fn: (tx: DriverTx) => Promise<T>, options: TxOptions): Promise<T>;
  /** Runs fn in one transaction as the login that owns the schema (migrations only). */
  protected abstract ownerTransaction<T>(fn: (tx: OwnerTx) => Promise<T>): Promise<T>;
  /** One query outside any tenant, as the runtime login, for readiness. */
  protected abstract probe(sql: string): Promise<Array<Record<string, unknown>>>;
  abstract close(): Promise<void>;

  /**
   * The handle given to fn refuses use once the transaction has ended (a leaked handle cannot
   * run queries), and a transaction in which any statement failed never commits — even if fn
   * caught the error and returned normally.
   */
  private async run<T>(scope: Scope, fn: (tx: Tx) => Promise<T>, options: TxOptions): Promise<T> {
    const committed: Array<() => void> = [];
    const result = await this.appTransaction(
      scope,
      async (driverTx) => {
        let open = true;
        let failure: unknown = null;
        let boundAccount = scope.accountId;
        const tx: Tx = {
          async query(sql, params) {
            if (!open) throw new Error('transaction handle used after its transaction ended');
            try {
              return await driverTx.query(sql, params);
            } catch (err) {
              failure ??= err;
              throw err;
            }
          },
          afterCommit(cb) {
            if (!open) throw new Error('transaction handle used after its transaction ended');
            committed.push(cb);
          },
          async bindAccount(accountId) {
            if (!isUuid(accountId)) throw new TypeError('account id must be a lowercase UUID');
            if (accountId === boundAccount) return;
            if (scope.accountId !== '') throw new Error('a transaction opened for an account cannot act for another');
            if (options.readOnly === true || options.autocommit === true) throw new Error('binding an account needs one transaction (not readOnly or autocommit)');
            await tx.query(BIND_ACCOUNT_SQL, [accountId]);
            boundAccount = accountId;
          },
        };
        try {
          const result = await fn(tx);
          if (failure !== null) throw new RolledBackError(failure);
          return result;
        } finally {
          open = false;
        }
      },
      options,
    );
    for (const cb of committed) cb();
    return result;
  }

  withTenant<T>(ctx: TenantContext, fn: (tx: Tx) => Promise<T>, options: TxOptions = {}): Promise<T> {
    return this.run({ tenantId: ctx.tenantId, accountId: ctx.accountId ?? '' }, fn, options);
  }

  withAccount<T>(accountId: string, fn: (tx: Tx) => Promise<T>, options: TxOptions = {}): Promise<T> {
    if (!isUuid(accountId)) return Promise.reject(new TypeError('account id must be a lowercase UUID'));
    return this.run({ tenantId: '', accountId }, fn, options);
  }

  withGlobal<T>(fn: (tx: Tx) => Promise<T>, options: TxOptions = {}): Promise<T> {
    return this.run({ tenantId: '', accountId: '' }, fn, options);
  }

  migrate(migrations: readonly Migration[] = loadMigrations()): Promise<MigrationReport> {
    return this.ownerTransaction((tx) => runMigrations(tx, migrations));
  }

  async ready(): Promise<void> {
    const rows = await this.probe(`SELECT max(version) AS version FROM ${SCHEMA}.schema_migrations`);
    const version = rows[0]?.['version'];
    if (version !== latestVersion()) throw new Error(`database schema is at ${String(version)}, expected ${latestVersion()}`);
  }
}
