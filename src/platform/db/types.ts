/**
 * The one database interface Rampart's modules see, implemented over `pg` (PostgreSQL server) and
 * PGlite (embedded). Every transaction runs as the application role, which is neither superuser
 * nor BYPASSRLS and owns nothing; the tenant and account are set with `set_config(…, true)`, so
 * they live exactly as long as the transaction and never stay on a pooled connection.
 */

import { isUuid } from '../ids.js';
import type { Migration } from './migrate.js';

/** The app role every runtime transaction runs as. Created by the first migration. */
export const APP_ROLE = 'rampart_app';
/**
 * The NOLOGIN role that owns the SECURITY DEFINER functions: the narrow lookups that must run
 * before any account is known (a session by its token's digest, an email link, a sign-in by
 * email). Created by migration 0012; nobody can log in as it or SET ROLE to it.
 */
export const DEFINER_ROLE = 'rampart_auth';
/** The schema that holds Rampart's tables. */
export const SCHEMA = 'rampart';

export type Row = Record<string, unknown>;

export interface QueryResult<R> {
  readonly rows: R[];
  /** Rows returned or affected. */
  readonly rowCount: number;
}

/** A transaction handle; valid only inside the callback that received it. */
export interface Tx {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs `fn` once the transaction has committed (never if it rolls back). */
  afterCommit(fn: () => void): void;
  /**
   * From here on, the transaction acts for this account: its rows in the account-scoped tables
   * become readable and writable. For a transaction opened without an account (withGlobal, or a
   * tenant transaction of no account) once a proof has named the account — a link or a session
   * token consumed by a definer function, a checked password, a provider's or IdP's assertion.
   * A transaction opened for an account stays that account's: binding another throws. Needs one
   * transaction (not readOnly or autocommit, whose statements each run alone on the server).
   */
  bindAccount(accountId: string): Promise<void>;
}

/** What a driver hands the shared transaction wrapper: statements only. */
export type DriverTx = Pick<Tx, 'query'>;

declare const tenantBrand: unique symbol;

/**
 * Who a tenant transaction runs for. Made only by `tenantContext`, after the caller has proved
 * membership (the HTTP layer) or created the tenant; the brand keeps a bare string out.
 */
export interface TenantContext {
  readonly tenantId: string;
  readonly accountId: string | null;
  readonly [tenantBrand]: true;
}

export function tenantContext(tenantId: string, accountId: string | null): TenantContext {
  if (!isUuid(tenantId)) throw new TypeError('tenant id must be a lowercase UUID');
  if (accountId !== null && !isUuid(accountId)) throw new TypeError('account id must be a lowercase UUID');
  return { tenantId, accountId } as TenantContext;
}

/**
 * The operator's realm: a tenant id no workspace can have (a CHECK on workspaces refuses it). The
 * rows that belong to no account and no workspace — the outbox, the platform audit chains, the
 * staff directory — are readable only in its transactions, which system work opens (the mail
 * relay, the audit sequencer, staff administration); no request's tenant can be it.
 */
export const OPERATOR_REALM = '00000000-0000-0000-0000-000000000000';

export function operatorContext(): TenantContext {
  return tenantContext(OPERATOR_REALM, null);
}

/**
 * The row a definer function answers (migration 0012: one row for an exact key, all NULL when
 * nothing matched), or null when its `key` column is NULL.
 */
export function matched<R extends Row>(rows: readonly R[], key: keyof R): R | null {
  const row = rows[0];
  return row !== undefined && row[key] !== null ? row : null;
}

/**
 * Whether `err`, or what it wraps (a rolled-back transaction's cause), is PostgreSQL's unique
 * violation (SQLSTATE 23505) on `constraint`: the one constraint failure a store may expect,
 * when two transactions race for a unique value that each checked was free.
 */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const fields = e as { code?: unknown; constraint?: unknown };
    if (fields.code === '23505' && fields.constraint === constraint) return true;
    e = e.cause;
  }
  return false;
}

export interface TxOptions {
  /**
   * Read-only transactions are refused any write by PostgreSQL itself. On the server each of
   * their statements runs as its own transaction carrying the tenant (one round trip each);
   * under READ COMMITTED that sees exactly what one transaction would.
   */
  readonly readOnly?: boolean;
  /**
   * For a transaction of exactly one write: on the server the statement goes out with the
   * preamble in one round trip and commits on its own (no BEGIN, no COMMIT round trip). A second
   * statement would be a second transaction, so use it only for one.
   */
  readonly autocommit?: boolean;
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` in one transaction as the app role with the tenant set. Row-level security limits
   * every tenant table to this tenant's rows, for reads and writes.
   */
  withTenant<T>(ctx: TenantContext, fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /**
   * Runs `fn` as the app role for one signed-in account and no tenant: global tables (accounts,
   * sessions) plus only the tenant rows a policy grants to that account (its own memberships).
   */
  withAccount<T>(accountId: string, fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /** Runs `fn` as the app role with no tenant and no account: global tables only. */
  withGlobal<T>(fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /** Applies pending migrations (by default those in migrations/) as the schema owner. */
  migrate(migrations?: readonly Migration[]): Promise<MigrationReport>;
  /** Throws unless the database answers and every migration is applied. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly current: string | null;
}

/**
 * The database could not be reached or lost the connection: refused, reset or ended by the
 * server (57P01 admin shutdown and the like), no free connection within the acquire timeout, no
 * answer within the query timeout. Transient, unlike a failing statement: the request may be
 * tried again (the HTTP layer answers 503 `service_unavailable` with Retry-After). When the
 * connection failed during COMMIT, whether the transaction committed is unknown.
 */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/** Raised when a migration already applied has changed on disk, or the database is ahead. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}
