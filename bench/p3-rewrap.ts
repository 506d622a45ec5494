/**
 * P3.2 — rewrap throughput: rows per second moving a tenant's records to a new tenant key version.
 *
 * One tenant holds RECORDS records sealed through ContentCodec.seal (a small JSON body, its filter
 * tokens from the tenant's index key, as the records service writes them), bulk-inserted. Each
 * round rotates the tenant key (`keyring.rotate`, untimed) and times `rewrapTenant` (default batch
 * of 500) until every row is under the new version.
 *
 * The bare side holds the same number of rows in another tenant, sealed with raw node:crypto
 * AES-256-GCM under a key per version (nonce | ciphertext | tag, the binding as additional data).
 * Its round takes a new key and runs the same loop with none of Rampart's layers: the same SELECT
 * and the same batched UPDATE as rewrap.ts (tenant explicit instead of current_tenant_id()), as
 * the superuser with no row-level security and no preamble, decrypting and encrypting with
 * node:crypto in between. Both sides report where their time went: reading batches, writing
 * batches, and the rest (crypto, keys and everything else in this process).
 *
 * On the embedded database (PGlite, in this process) and on the PostgreSQL server of the run
 * (a scratch database, dropped afterwards); the server part is skipped with a note when it cannot
 * be reached. Rounds alternate the sides, after VACUUM (ANALYZE) of the table each time; the
 * figure is the median round.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { rewrapTenant } from '../src/modules/keys/rewrap.js';
import { filterTokens, type RecordData } from '../src/modules/records/service.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { PostgresDatabase } from '../src/platform/db/postgres.js';
import { tenantContext, type Database, type TxOptions } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';
import { LocalObjectStore } from '../src/platform/storage/object-store.js';
import { createTenant, openKeys, removeTempDir, tempDir, type Keys } from './p3-keys.js';
import { measure, type Measure } from './report.js';
import { median, pgUrl, progress, recreateDatabase, rotate, TimedDatabase, withClient, type BenchSettings, type TxKind } from './util.js';

const DEFAULT_RECORDS = 100_000;
const INSERT_BATCH = 2_000;
/** rewrapTenant's default batch; the bare side uses the same. */
const BATCH = 500;
const ROUNDS = { pglite: 2, postgres: 2 } as const;
const SAMPLE = 200;
const GOAL_VS_BARE = 0.5;
export const P3_DATABASE = 'rampart_bench_p3';

type Engine = 'pglite' | 'postgres';

/** A record body of about 200 bytes, recoverable from its number. */
function recordData(i: number): RecordData {
  return {
    title: `Ticket ${i}: the export to the billing system fails at night`,
    n: i,
    status: i % 3 === 0 ? 'closed' : 'open',
    priority: ['low', 'normal', 'high'][i % 3]!,
    assignee: `agent-${i % 17}@example.com`,
    tags: ['bench', 'p3', 'rewrap'],
  };
}

const bodyOf = (i: number): Buffer => Buffer.from(JSON.stringify(recordData(i)), 'utf8');

// ---------------------------------------------------------------------------------------------
// Raw SQL as the superuser (the bare side, setup and checks)

interface RawSql {
  query<R>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  transaction<T>(fn: (q: RawSql['query']) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function pgliteRaw(db: PgliteDatabase): RawSql {
  const query = async <R>(sql: string, params?: readonly unknown[]) => {
    const r = await db.pg.query<R>(sql, params as unknown[] | undefined);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  };
  return {
    query,
    transaction: (fn) =>
      db.pg.transaction((t) =>
        fn(async <R>(sql: string, params?: readonly unknown[]) => {
          const r = await t.query<R>(sql, params as unknown[] | undefined);
          return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
        }),
      ),
    close: async () => {},
  };
}

async function postgresRaw(url: string): Promise<RawSql> {
  const client = new pg.Client({ connectionString: url, application_name: 'rampart-bench-p3' });
  await client.connect();
  const query = async <R>(sql: string, params?: readonly unknown[]) => {
    const r = await client.query(sql, params as unknown[] | undefined);
    return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
  };
  return {
    query,
    transaction: async (fn) => {
      await client.query('BEGIN');
      try {
        const out = await fn(query);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    },
    close: () => client.end(),
  };
}

// ---------------------------------------------------------------------------------------------
// Where Rampart's time goes: its transactions, timed from outside

/** The same database, with the time spent in read-only and in read-write tenant transactions added up. */
class TenantTransactionTime extends TimedDatabase {
  readMs = 0;
  writeMs = 0;
  protected override timed(ms: number, kind: TxKind, options: TxOptions | undefined): void {
    if (kind !== 'tenant') return;
    if (options?.readOnly) this.readMs += ms;
    else this.writeMs += ms;
  }
}

// ---------------------------------------------------------------------------------------------
// The bare side's crypto

class BareKeys {
  private readonly keys = new Map<number, Buffer>([[1, randomBytes(32)]]);
  current = 1;

  next(): number {
    this.current += 1;
    this.keys.set(this.current, randomBytes(32));
    return this.current;
  }

  private key(version: number): Buffer {
    const k = this.keys.get(version);
    if (!k) throw new Error(`bare: no key version ${version}`);
    return k;
  }

  seal(version: number, aad: Buffer, plaintext: Buffer): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(version), nonce);
    cipher.setAAD(aad);
    return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  open(version: number, aad: Buffer, sealed: Buffer): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.key(version), sealed.subarray(0, 12));
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
  }
}

const bareAad = (tenantId: string, id: string): Buffer => Buffer.from(`${tenantId}\u0000records\u0000${id}\u0000body`, 'utf8');

// rewrap.ts's statements, with the tenant explicit.
const BARE_SELECT = `SELECT id, body AS value, body_format AS format, version, key_version FROM rampart.records
  WHERE tenant_id = $4 AND key_version < $1 AND NOT (id = ANY($2::uuid[]))
  ORDER BY key_version, id LIMIT $3`;
const BARE_UPDATE = `UPDATE rampart.records r SET body = u.value, body_format = $6, key_version = u.key_version,
       filter_tokens = CASE WHEN u.tokens IS NULL THEN r.filter_tokens
                       ELSE ARRAY(SELECT jsonb_array_elements_text(u.tokens::jsonb)) END
  FROM unnest($1::uuid[], $2::bytea[], $3::int[], $4::int[], $5::text[]) AS u (id, value, version, key_version, tokens)
 WHERE r.tenant_id = $7 AND r.id = u.id AND r.version = u.version AND r.key_version < u.key_version`;

type ValueRow = { id: string; value: Buffer; format: number; version: number; key_version: number };

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** The node types of a plan, top down, and the most rows any scan node produced (all loops). */
function planSummary(node: PlanNode): { nodes: string[]; scanned: number } {
  const nodes = [node['Node Type']];
  let scanned = /Scan/.test(node['Node Type']) ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : 0;
  for (const child of node.Plans ?? []) {
    const c = planSummary(child);
    nodes.push(...c.nodes);
    scanned = Math.max(scanned, c.scanned);
  }
  return { nodes, scanned };
}

/**
 * How rewrap's batch SELECT runs on a full tenant (every row still to move), next to a keyset
 * read of the same batch (id > last, in primary key order): the first batch of a round.
 */
async function explainBatch(raw: RawSql, tenantId: string, below: number): Promise<string> {
  const explain = async (sql: string, params: unknown[]) => {
    const { rows } = await raw.query<Record<string, unknown>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
    const cell = Object.values(rows[0]!)[0];
    const json = (typeof cell === 'string' ? JSON.parse(cell) : cell) as Array<{ Plan: PlanNode; 'Execution Time': number }>;
    return { ...planSummary(json[0]!.Plan), ms: json[0]!['Execution Time'] };
  };
  const batch = await explain(BARE_SELECT, [below, [], BATCH, tenantId]);
  const keyset = await explain(
    `SELECT id, body AS value, body_format AS format, version, key_version FROM rampart.records
      WHERE tenant_id = $3 AND key_version < $1 AND id > '00000000-0000-0000-0000-000000000000' ORDER BY id LIMIT $2`,
    [below, BATCH, tenantId],
  );
  return (
    `rewrap's batch SELECT (ORDER BY key_version, id) on a full tenant: ${batch.nodes.join(' → ')}, reads ${batch.scanned.toLocaleString('en-US')} rows for ${BATCH}, ${batch.ms.toFixed(1)} ms;` +
    ` a keyset read (id > last ORDER BY id): ${keyset.nodes.join(' → ')}, reads ${keyset.scanned.toLocaleString('en-US')} rows, ${keyset.ms.toFixed(1)} ms`
  );
}

// ---------------------------------------------------------------------------------------------
// Data

interface Dataset {
  readonly rampart: { tenantId: string; ids: string[] };
  readonly bare: { tenantId: string; ids: string[] };
  readonly loadSeconds: number;
}

async function insertRows(db: Database, tenantId: string, collectionId: string, rows: Array<{ id: string; body: Buffer; keyVersion: number; tokens: string[] }>): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const batch = rows.slice(i, i + INSERT_BATCH);
    await db.withTenant(tenantContext(tenantId, null), (tx) =>
      tx.query(
        `INSERT INTO records (tenant_id, id, collection_id, body, body_format, key_version, filter_tokens)
         SELECT current_tenant_id(), u.id, $1, u.body, 1, u.key_version, ARRAY(SELECT jsonb_array_elements_text(u.tokens::jsonb))
           FROM unnest($2::uuid[], $3::bytea[], $4::int[], $5::text[]) AS u (id, body, key_version, tokens)`,
        [collectionId, batch.map((r) => r.id), batch.map((r) => r.body), batch.map((r) => r.keyVersion), batch.map((r) => JSON.stringify(r.tokens))],
      ),
    );
  }
}

async function load(db: Database, keys: Keys, bare: BareKeys, records: number): Promise<Dataset> {
  const start = performance.now();
  const rampartTenant = randomUUID();
  const bareTenant = randomUUID();
  const a = await createTenant(db, rampartTenant, 'p3 rewrap (Rampart)');
  const b = await createTenant(db, bareTenant, 'p3 rewrap (bare)');
  const indexKey = randomBytes(32);

  const rampartRows: Array<{ id: string; body: Buffer; keyVersion: number; tokens: string[] }> = [];
  const bareRows: typeof rampartRows = [];
  for (let i = 0; i < records; i++) {
    const id = newId();
    const data = recordData(i);
    const sealed = await keys.codec.seal({ tenantId: rampartTenant, table: 'records', rowId: id, field: 'body' }, bodyOf(i));
    rampartRows.push({ id, body: sealed.stored, keyVersion: sealed.keyVersion, tokens: await filterTokens(keys.codec, rampartTenant, data) });
    const bareId = newId();
    const tokens = Object.entries(data)
      .filter(([, v]) => typeof v !== 'object')
      .map(([f, v]) => createHmac('sha256', indexKey).update(`${f}\u0000${JSON.stringify(v)}`).digest().subarray(0, 16).toString('base64url'));
    bareRows.push({ id: bareId, body: bare.seal(1, bareAad(bareTenant, bareId), bodyOf(i)), keyVersion: 1, tokens });
  }
  const sealedAt = performance.now();
  await insertRows(db, rampartTenant, a.collectionId, rampartRows);
  await insertRows(db, bareTenant, b.collectionId, bareRows);
  progress(`P3 rewrap: sealed ${records * 2} bodies in ${((sealedAt - start) / 1000).toFixed(1)} s, inserted in ${((performance.now() - sealedAt) / 1000).toFixed(1)} s`);
  return {
    rampart: { tenantId: rampartTenant, ids: rampartRows.map((r) => r.id) },
    bare: { tenantId: bareTenant, ids: bareRows.map((r) => r.id) },
    loadSeconds: (performance.now() - start) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// The rounds

export interface RewrapRound {
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly version: number;
  /** Share of the round spent reading batches and writing batches (the rest is crypto, keys and glue). */
  readonly readShare: number;
  readonly writeShare: number;
}

export interface RewrapSide {
  readonly key: 'rampart' | 'bare';
  readonly label: string;
  readonly how: string;
  /** Median round. */
  readonly rowsPerSecond: number;
  readonly rounds: readonly RewrapRound[];
}

export interface RewrapEngineResult {
  readonly engine: Engine;
  readonly label: string;
  readonly records: number;
  readonly loadSeconds: number;
  readonly sides: readonly RewrapSide[];
  readonly checks: readonly string[];
  /** How the batch SELECT runs on a full tenant, next to a keyset read. */
  readonly plan: string;
  readonly invalid: readonly string[];
  /** Rows of the Rampart tenant whose filter tokens were empty after the rounds (they had tokens before). */
  readonly tokensLost: number;
}

export interface RewrapPartResult {
  readonly records: number;
  readonly batch: number;
  readonly engines: readonly RewrapEngineResult[];
  readonly skipped: readonly string[];
  readonly measures: readonly Measure[];
}

async function rampartRound(db: Database, keys: Keys, objects: LocalObjectStore, data: Dataset, invalid: string[]): Promise<RewrapRound> {
  const tenantId = data.rampart.tenantId;
  const version = await keys.keyring.rotate(tenantId);
  const timed = new TenantTransactionTime(db);
  const start = performance.now();
  const result = await rewrapTenant({ db: timed, keyring: keys.keyring, codec: keys.codec, objects }, tenantId);
  const ms = performance.now() - start;
  const n = data.rampart.ids.length;
  if (result.version !== version) invalid.push(`Rampart rewrap moved rows to version ${result.version}, expected ${version}`);
  if (result.rewrapped !== n) invalid.push(`Rampart rewrap to version ${version} moved ${result.rewrapped} rows, expected ${n}`);
  if (result.failed.length > 0) invalid.push(`Rampart rewrap to version ${version}: ${result.failed.length} rows failed (${result.failed[0]!.code})`);
  if (result.remaining !== 0) invalid.push(`Rampart rewrap to version ${version}: ${result.remaining} rows remaining`);
  return { seconds: ms / 1000, rowsPerSecond: (n * 1000) / ms, version, readShare: timed.readMs / ms, writeShare: timed.writeMs / ms };
}

async function bareRound(raw: RawSql, bare: BareKeys, data: Dataset, invalid: string[]): Promise<RewrapRound> {
  const tenantId = data.bare.tenantId;
  const version = bare.next();
  let readMs = 0;
  let writeMs = 0;
  let moved = 0;
  const start = performance.now();
  for (;;) {
    const t0 = performance.now();
    const { rows } = await raw.query<ValueRow>(BARE_SELECT, [version, [], BATCH, tenantId]);
    readMs += performance.now() - t0;
    if (rows.length === 0) break;
    const ids: string[] = [];
    const values: Buffer[] = [];
    const seen: number[] = [];
    const versions: number[] = [];
    const tokens: null[] = [];
    for (const row of rows) {
      const aad = bareAad(tenantId, row.id);
      values.push(bare.seal(version, aad, bare.open(row.key_version, aad, row.value)));
      ids.push(row.id);
      seen.push(row.version);
      versions.push(version);
      tokens.push(null);
    }
    const t1 = performance.now();
    const updated = await raw.transaction((q) => q(BARE_UPDATE, [ids, values, seen, versions, tokens, 1, tenantId]));
    writeMs += performance.now() - t1;
    moved += updated.rowCount;
  }
  const ms = performance.now() - start;
  const n = data.bare.ids.length;
  if (moved !== n) invalid.push(`bare rewrap to version ${version} moved ${moved} rows, expected ${n}`);
  return { seconds: ms / 1000, rowsPerSecond: (n * 1000) / ms, version, readShare: readMs / ms, writeShare: writeMs / ms };
}

/** Opens a sample of each tenant's rows as they are now and compares them with what was written. */
async function verify(db: Database, raw: RawSql, keys: Keys, bare: BareKeys, data: Dataset, versions: { rampart: number; bare: number }): Promise<{ checks: string[]; invalid: string[]; tokensLost: number }> {
  const checks: string[] = [];
  const invalid: string[] = [];
  const count = async (tenantId: string, below: number): Promise<number> =>
    Number((await raw.query<{ n: string }>('SELECT count(*)::text AS n FROM rampart.records WHERE tenant_id = $1 AND key_version < $2', [tenantId, below])).rows[0]!.n);
  const leftRampart = await count(data.rampart.tenantId, versions.rampart);
  const leftBare = await count(data.bare.tenantId, versions.bare);
  const remaining = await keys.keyring.remainingBelow(data.rampart.tenantId, versions.rampart);
  if (leftRampart !== 0 || remaining !== 0) invalid.push(`Rampart: ${leftRampart} rows below version ${versions.rampart} (keyring says ${remaining})`);
  if (leftBare !== 0) invalid.push(`bare: ${leftBare} rows below version ${versions.bare}`);
  checks.push(`after the last round no row of either tenant is below its newest version (keyring.remainingBelow = ${remaining})`);

  const step = Math.max(1, Math.floor(data.rampart.ids.length / SAMPLE));
  let opened = 0;
  for (let i = 0; i < data.rampart.ids.length; i += step) {
    const id = data.rampart.ids[i]!;
    const bareId = data.bare.ids[i]!;
    const row = await db.withTenant(
      tenantContext(data.rampart.tenantId, null),
      async (tx) => (await tx.query<{ body: Buffer; body_format: number; key_version: number }>('SELECT body, body_format, key_version FROM records WHERE id = $1', [id])).rows[0],
      { readOnly: true },
    );
    const plain = row ? await keys.codec.open({ tenantId: data.rampart.tenantId, table: 'records', rowId: id, field: 'body' }, row.body_format, row.body) : null;
    if (!row || row.key_version !== versions.rampart || !plain?.equals(bodyOf(i))) invalid.push(`Rampart row ${i} does not open to what was written`);
    const b = (await raw.query<{ body: Buffer; key_version: number }>('SELECT body, key_version FROM rampart.records WHERE tenant_id = $1 AND id = $2', [data.bare.tenantId, bareId])).rows[0];
    if (!b || b.key_version !== versions.bare || !bare.open(b.key_version, bareAad(data.bare.tenantId, bareId), b.body).equals(bodyOf(i))) {
      invalid.push(`bare row ${i} does not open to what was written`);
    }
    opened++;
  }
  checks.push(`${opened} rows of each tenant, spread over the table, open (Rampart: ContentCodec.open) to exactly the bodies written`);

  const tokensLost = Number(
    (await raw.query<{ n: string }>(`SELECT count(*)::text AS n FROM rampart.records WHERE tenant_id = $1 AND filter_tokens = '{}'`, [data.rampart.tenantId])).rows[0]!.n,
  );
  checks.push(
    tokensLost === 0
      ? 'filter tokens: every Rampart row still has its tokens'
      : `filter tokens: ${tokensLost} of ${data.rampart.ids.length} Rampart rows had tokens before the rewrap and have none after (see the note)`,
  );
  return { checks, invalid, tokensLost };
}

async function runEngine(engine: Engine, db: Database, raw: RawSql, records: number, dir: string): Promise<RewrapEngineResult> {
  const keys = await openKeys(db, `${dir}/data-${engine}`);
  try {
    const bare = new BareKeys();
    const objects = new LocalObjectStore(`${dir}/objects-${engine}`);
    progress(`P3 rewrap (${engine}): loading ${records.toLocaleString('en-US')} sealed records per side`);
    const data = await load(db, keys, bare, records);
    progress(`P3 rewrap (${engine}): loaded in ${data.loadSeconds.toFixed(1)} s`);
    await raw.query('VACUUM (ANALYZE) rampart.records');
    const plan = await explainBatch(raw, data.bare.tenantId, bare.current + 1);
    progress(`P3 rewrap (${engine}): ${plan}`);
    const invalid: string[] = [];
    const rounds = { rampart: [] as RewrapRound[], bare: [] as RewrapRound[] };
    const sides = [
      { key: 'rampart' as const, run: () => rampartRound(db, keys, objects, data, invalid) },
      { key: 'bare' as const, run: () => bareRound(raw, bare, data, invalid) },
    ];
    for (let r = 0; r < ROUNDS[engine]; r++) {
      for (const side of rotate(sides, r)) {
        await raw.query('VACUUM (ANALYZE) rampart.records');
        const round = await side.run();
        rounds[side.key].push(round);
        progress(
          `P3 rewrap (${engine}) round ${r + 1}/${ROUNDS[engine]} ${side.key}: ${round.rowsPerSecond.toFixed(0)} rows/s (${round.seconds.toFixed(1)} s; read ${(round.readShare * 100).toFixed(0)}%, write ${(round.writeShare * 100).toFixed(0)}%)`,
        );
      }
    }
    const checked = await verify(db, raw, keys, bare, data, { rampart: rounds.rampart.at(-1)!.version, bare: bare.current });
    const label = engine === 'pglite' ? 'embedded (PGlite, in process)' : 'PostgreSQL server';
    const where = engine === 'pglite' ? 'PGlite superuser session' : 'pg.Client as the superuser';
    return {
      engine,
      label,
      records,
      loadSeconds: data.loadSeconds,
      sides: [
        {
          key: 'rampart',
          label: 'Rampart rewrapTenant',
          how: `keyring.rotate (untimed), then rewrapTenant({db, keyring, codec, objects}, tenant) with its default batch of ${BATCH}: read-only withTenant SELECT, ContentCodec.open + .seal per row, withTenant UPDATE … FROM unnest`,
          rowsPerSecond: median(rounds.rampart.map((x) => x.rowsPerSecond)),
          rounds: rounds.rampart,
        },
        {
          key: 'bare',
          label: 'bare',
          how: `rewrap.ts's SELECT and UPDATE (tenant explicit) as the ${where}, no RLS, batches of ${BATCH}; node:crypto AES-256-GCM open + seal per row`,
          rowsPerSecond: median(rounds.bare.map((x) => x.rowsPerSecond)),
          rounds: rounds.bare,
        },
      ],
      checks: checked.checks,
      plan,
      invalid: [...invalid, ...checked.invalid],
      tokensLost: checked.tokensLost,
    };
  } finally {
    await keys.keyring.close();
  }
}

function recordsSetting(): number {
  const raw = process.env['BENCH_P3_RECORDS'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_RECORDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < SAMPLE) throw new Error(`BENCH_P3_RECORDS must be an integer ≥ ${SAMPLE}, got "${raw}"`);
  return n;
}

export async function runRewrap(settings: BenchSettings): Promise<RewrapPartResult> {
  const records = recordsSetting();
  const engines: RewrapEngineResult[] = [];
  const skipped: string[] = [];
  const dir = tempDir();
  try {
    const lite = await PgliteDatabase.open({});
    try {
      await lite.migrate();
      engines.push(await runEngine('pglite', lite, pgliteRaw(lite), records, dir));
    } finally {
      await lite.close();
    }

    let server: PostgresDatabase | null = null;
    let raw: RawSql | null = null;
    try {
      await recreateDatabase(settings.adminUrl, P3_DATABASE);
      const url = pgUrl(settings.adminUrl, { database: P3_DATABASE });
      server = new PostgresDatabase({ url, poolSize: 2, statementTimeoutMs: 300_000, applicationName: 'rampart-bench-p3' });
      await server.migrate();
      raw = await postgresRaw(url);
    } catch (err) {
      skipped.push(`PostgreSQL server: not measured (${err instanceof Error ? err.message : String(err)})`);
      progress(`P3 rewrap: ${skipped.at(-1)}`);
    }
    try {
      if (server && raw) engines.push(await runEngine('postgres', server, raw, records, dir));
    } finally {
      await raw?.close();
      await server?.close();
      if (server) await withClient(settings.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${P3_DATABASE} WITH (FORCE)`)).catch(() => {});
    }
  } finally {
    removeTempDir(dir);
  }

  const measures = engines.map((e) => {
    const rampart = e.sides.find((s) => s.key === 'rampart')!;
    const bare = e.sides.find((s) => s.key === 'bare')!;
    const small = records < DEFAULT_RECORDS ? [`${records} records (BENCH_P3_RECORDS), not ${DEFAULT_RECORDS}`] : [];
    return measure(
      {
        id: `p3.rewrap_${e.engine}`,
        title: `P3 rewrap rows/s, ${e.label}: Rampart vs bare`,
        figure: { label: 'rewrapTenant', value: rampart.rowsPerSecond, unit: 'rows/s' },
        reference: { label: 'bare', value: bare.rowsPerSecond, unit: 'rows/s' },
        goal: { op: '>=', value: GOAL_VS_BARE, unit: 'x', source: 'harness default: the layers (RLS, keyring, codec) may take at most half the bare speed; the brief sets no ratio for rewrap' },
      },
      [...e.invalid, ...small],
      e.tokensLost > 0 ? `rewrap emptied the filter tokens of ${e.tokensLost} of ${e.records} encrypted records: record filters no longer find them` : undefined,
    );
  });
  return { records, batch: BATCH, engines, skipped, measures };
}
