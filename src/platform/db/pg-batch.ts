/**
 * Several statements sent to PostgreSQL together and answered together: one round trip.
 *
 * node-postgres sends a Sync after every statement, so "set the tenant, then query" costs two
 * round trips (four with BEGIN and COMMIT). A Batch writes Parse/Bind/Describe/Execute for each
 * statement and a single Sync at the end. Everything before a Sync is one transaction on the
 * server (an implicit one, unless a statement opened an explicit one with BEGIN); if a statement
 * fails, the server skips the rest and rolls back at the Sync. This is the extended-query
 * pipelining the protocol describes, done through node-postgres's documented extension point
 * (an object with `submit(connection)` passed to `client.query`), as pg-cursor does.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { serialize } from 'pg-protocol';

const DESCRIBE_PORTAL = serialize.describe({ type: 'P', name: '' });
const EXECUTE_ALL = serialize.execute({ portal: '', rows: 0 });
const SYNC = serialize.sync();

/** The failure of a batch whose connection's socket was already gone. */
export const CONNECTION_CLOSED = 'the database connection is closed';

export interface Statement {
  readonly text: string;
  readonly values?: readonly unknown[] | undefined;
  /** Only its effect matters: rows it returns are not described or parsed. */
  readonly discardRows?: boolean;
}

/**
 * Statements are prepared once per connection under a name derived from their text, so
 * PostgreSQL plans them once (row-level security adds planning work to every statement). The
 * number of distinct statements is small (store SQL is fixed text); past this many on one
 * connection, further statements go unnamed instead of growing the server's cache.
 */
export const MAX_PREPARED_PER_CONNECTION = 256;

const names = new Map<string, string>();
export function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `rampart_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    if (names.size < 10_000) names.set(text, name);
  }
  return name;
}

/** The part of pg's Connection a submittable drives (pg does not type it). */
interface WireConnection {
  sendCopyFail(message: string): void;
  stream: { writable: boolean; write(chunk: Buffer): boolean };
  /** pg's own record of the named statements this connection has prepared (name → text). */
  parsedStatements: Record<string, string>;
  on(event: 'parseComplete', listener: () => void): void;
  off(event: 'parseComplete', listener: () => void): void;
}

interface FieldDescription {
  name: string;
  dataTypeID: number;
  format: string;
}

interface PgResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
  command: string | null;
  addFields(fields: FieldDescription[]): void;
  parseRow(values: unknown[]): Record<string, unknown>;
  addRow(row: Record<string, unknown>): void;
  addCommandComplete(message: unknown): void;
}

type ResultCtor = new (rowMode: undefined, types: pg.CustomTypesConfig) => PgResult;
const Result = (pg as unknown as { Result: ResultCtor }).Result;
const prepareValue = (pg as unknown as { utils: { prepareValue: (v: unknown) => unknown } }).utils.prepareValue;

export interface BatchResult {
  readonly rows: Record<string, unknown>[];
  readonly rowCount: number;
  readonly command: string | null;
}

class Batch {
  private readonly results: BatchResult[] = [];
  private current: PgResult | null = null;
  private parseError: Error | null = null;
  private connection: WireConnection | null = null;
  /** Names (or null for unnamed) of the Parse messages sent, in order, awaiting ParseComplete. */
  private readonly parsing: Array<{ name: string; text: string } | null> = [];
  private readonly onParseComplete = (): void => {
    const parsed = this.parsing.shift();
    if (parsed && this.connection) this.connection.parsedStatements[parsed.name] = parsed.text;
  };

  constructor(
    private readonly statements: readonly Statement[],
    private readonly types: pg.CustomTypesConfig,
    public callback: (err: Error | null, results?: BatchResult[]) => void,
  ) {}

  submit(connection: WireConnection): Error | null {
    // Map every value before writing anything: a value that cannot be sent must not leave half a
    // batch on the wire.
    let values: unknown[][];
    try {
      values = this.statements.map((s) => (s.values ?? []).map((v) => prepareValue(v)));
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    this.connection = connection;
    connection.on('parseComplete', this.onParseComplete);
    const prepared = Object.keys(connection.parsedStatements).length;
    // Every message of the batch in one buffer and one write: one system call, however many
    // statements (each separate write costs a syscall, and they dominate at high request rates).
    const parts: Buffer[] = [];
    for (const [i, s] of this.statements.entries()) {
      const name = statementName(s.text);
      const known = connection.parsedStatements[name] === s.text;
      const statement = known || prepared < MAX_PREPARED_PER_CONNECTION ? name : '';
      if (!known) {
        parts.push(serialize.parse({ text: s.text, name: statement, types: [] }));
        this.parsing.push(statement ? { name: statement, text: s.text } : null);
      }
      parts.push(serialize.bind({ portal: '', statement, values: values[i] ?? [], binary: false }));
      if (!s.discardRows) parts.push(DESCRIBE_PORTAL);
      parts.push(EXECUTE_ALL);
    }
    parts.push(SYNC);
    if (!connection.stream.writable) return new Error(CONNECTION_CLOSED);
    connection.stream.write(Buffer.concat(parts));
    return null;
  }

  handleRowDescription(message: { fields: FieldDescription[] }): void {
    this.current = new Result(undefined, this.types);
    this.current.addFields(message.fields);
  }

  handleDataRow(message: { fields: unknown[] }): void {
    if (!this.current || this.parseError) return;
    try {
      this.current.addRow(this.current.parseRow(message.fields));
    } catch (err) {
      this.parseError = err instanceof Error ? err : new Error(String(err));
    }
  }

  handleCommandComplete(message: unknown): void {
    const r = this.current ?? new Result(undefined, this.types);
    r.addCommandComplete(message);
    this.results.push({ rows: r.rows, rowCount: r.rowCount ?? r.rows.length, command: r.command });
    this.current = null;
  }

  handleEmptyQuery(): void {
    this.results.push({ rows: [], rowCount: 0, command: null });
  }

  handlePortalSuspended(): void {}

  private detach(): void {
    this.connection?.off('parseComplete', this.onParseComplete);
  }

  /** The server skips everything up to our Sync and answers it; pg moves on at that ReadyForQuery. */
  handleError(err: Error): void {
    this.detach();
    const callback = this.callback;
    this.callback = () => {};
    callback(err);
  }

  handleReadyForQuery(): void {
    this.detach();
    const callback = this.callback;
    this.callback = () => {};
    if (this.parseError) callback(this.parseError);
    else callback(null, this.results);
  }

  handleCopyInResponse(connection: WireConnection): void {
    connection.sendCopyFail('COPY is not supported in a batch');
  }

  handleCopyData(): void {}
}

/** Runs the statements in one round trip; resolves with one result per statement. */
export function runBatch(client: pg.ClientBase, statements: readonly Statement[], types: pg.CustomTypesConfig): Promise<BatchResult[]> {
  return new Promise((resolve, reject) => {
    const batch = new Batch(statements, types, (err, results) => (err ? reject(err) : resolve(results ?? [])));
    (client as unknown as { query(submittable: Batch): void }).query(batch);
  });
}
