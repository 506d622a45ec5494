/**
 * Rewrap: moves a tenant's encrypted content to its newest key version, in batches.
 *
 * Record bodies and vault values are decrypted and sealed again under a data key of the current
 * version (plain rows from before encryption are encrypted, and their filter tokens replaced by
 * keyed ones). Documents keep their bytes: only their data key, in the row, is wrapped again —
 * except plain documents, whose objects are encrypted once.
 *
 * The state lives in the rows themselves (`key_version`), so an interrupted rewrap resumes where
 * it stopped, and any number can run at once. Each update names the row version (or key version)
 * it read: a row a writer changed meanwhile is left alone, because the writer sealed it anew.
 */
import type { ContentCodec } from '../../platform/content/codec.js';
import { parseContentKey } from '../../platform/content/codec.js';
import { ENCRYPTED_TABLES, type EncryptedTable, type Keyring } from '../../platform/crypto/keyring.js';
import { tenantContext, type Database, type TenantContext, type Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { ObjectStore } from '../../platform/storage/object-store.js';
import { filterTokens, type RecordData } from '../records/service.js';

export interface RewrapProgress {
  readonly tenantId: string;
  readonly table: EncryptedTable;
  /** Rows moved so far in this run (all tables). */
  readonly done: number;
  /** Rows that were below the current version when the run started (all tables). */
  readonly total: number;
  readonly failed: number;
}

export interface RewrapResult {
  readonly tenantId: string;
  readonly version: number;
  readonly rewrapped: number;
  /** Rows that could not be opened (damaged, or under a destroyed key): reported, never skipped silently. */
  readonly failed: ReadonlyArray<{ table: EncryptedTable; id: string; code: string }>;
  /** Rows still below the current version after the run (0 unless some failed or writers raced). */
  readonly remaining: number;
}

export interface RewrapDeps {
  readonly db: Database;
  readonly keyring: Keyring;
  readonly codec: ContentCodec;
  readonly objects: ObjectStore;
}

type ValueRow = { id: string; value: Buffer; format: number; version: number; key_version: number };
type DocumentRow = { id: string; content_format: number; key_version: number; content_key: Buffer | null; region: string };

const TABLES = {
  records: { value: 'body', format: 'body_format', field: 'body' },
  secrets: { value: 'value', format: 'value_format', field: 'value' },
} as const;

export async function rewrapTenant(
  deps: RewrapDeps,
  tenantId: string,
  options: { batchSize?: number; onProgress?: (p: RewrapProgress) => void; signal?: AbortSignal } = {},
): Promise<RewrapResult> {
  const batchSize = options.batchSize ?? 500;
  deps.keyring.forget(tenantId);
  const status = await deps.keyring.status(tenantId);
  const version = status.exists ? status.currentVersion : await deps.keyring.rotate(tenantId);
  if (status.exists) await deps.keyring.rewrapTenantKeys(tenantId);
  const total = await deps.keyring.remainingBelow(tenantId, version);
  const failed: Array<{ table: EncryptedTable; id: string; code: string }> = [];
  let done = 0;

  for (const table of ENCRYPTED_TABLES) {
    for (;;) {
      if (options.signal?.aborted) break;
      const skip = failed.filter((f) => f.table === table).map((f) => f.id);
      const pass: Pass = { deps, tenantId, version, batchSize, skip, failed };
      const moved = table === 'documents' ? await rewrapDocuments(pass) : await rewrapValues(pass, table);
      if (moved === null) break;
      done += moved;
      options.onProgress?.({ tenantId, table, done, total, failed: failed.length });
    }
  }
  return { tenantId, version, rewrapped: done, failed, remaining: await deps.keyring.remainingBelow(tenantId, version) };
}

/** The next rows still under older versions, oldest version first, straight off the key-version index. */
async function nextBatch<R extends Record<string, unknown>>(
  deps: RewrapDeps,
  ctx: TenantContext,
  table: EncryptedTable,
  columns: string,
  version: number,
  skip: string[],
  batchSize: number,
): Promise<R[]> {
  return deps.db.withTenant(
    ctx,
    async (tx) =>
      (
        await tx.query<R>(
          `SELECT ${columns} FROM ${table}
            WHERE tenant_id = current_tenant_id() AND key_version < $1 AND NOT (id = ANY($2::uuid[]))
            ORDER BY key_version, id LIMIT $3`,
          [version, skip, batchSize],
        )
      ).rows,
    { readOnly: true },
  );
}

/** One pass's settings and its running list of rows that could not be moved. */
interface Pass {
  readonly deps: RewrapDeps;
  readonly tenantId: string;
  readonly version: number;
  readonly batchSize: number;
  readonly skip: string[];
  readonly failed: Array<{ table: EncryptedTable; id: string; code: string }>;
}

/** One batch of records or secrets; null when none are left. */
async function rewrapValues({ deps, tenantId, version, batchSize, skip, failed }: Pass, table: 'records' | 'secrets'): Promise<number | null> {
  const t = TABLES[table];
  const ctx = tenantContext(tenantId, null);
  const rows = await nextBatch<ValueRow>(deps, ctx, table, `id, ${t.value} AS value, ${t.format} AS format, version, key_version`, version, skip, batchSize);
  if (rows.length === 0) return null;
  const ids: string[] = [];
  const values: Buffer[] = [];
  const seenVersions: number[] = [];
  const keyVersions: number[] = [];
  const tokens: Array<string | null> = [];
  let format = 0;
  for (const row of rows) {
    const binding = { tenantId, table, rowId: row.id, field: t.field };
    try {
      const plain = await deps.codec.open(binding, row.format, row.value);
      const sealed = await deps.codec.seal(binding, plain);
      format = sealed.format;
      ids.push(row.id);
      values.push(sealed.stored);
      seenVersions.push(row.version);
      keyVersions.push(sealed.keyVersion);
      // Plain rows had unkeyed filter tokens; replace them with the tenant's keyed ones.
      tokens.push(
        table === 'records' && row.format === 0 ? JSON.stringify(await filterTokens(deps.codec, tenantId, JSON.parse(plain.toString('utf8')) as RecordData)) : null,
      );
    } catch (err) {
      failed.push({ table, id: row.id, code: err instanceof RampartError ? err.code : 'internal_error' });
    }
  }
  if (ids.length === 0) return 0;
  const updated = await deps.db.withTenant(ctx, (tx) =>
    table === 'records'
      ? tx.query(
          `UPDATE records r SET body = u.value, body_format = $6, key_version = u.key_version,
                  filter_tokens = CASE WHEN u.tokens IS NULL THEN r.filter_tokens
                                  ELSE ARRAY(SELECT jsonb_array_elements_text(u.tokens::jsonb)) END
             FROM unnest($1::uuid[], $2::bytea[], $3::int[], $4::int[], $5::text[]) AS u (id, value, version, key_version, tokens)
            WHERE r.tenant_id = current_tenant_id() AND r.id = u.id AND r.version = u.version AND r.key_version < u.key_version`,
          [ids, values, seenVersions, keyVersions, tokens, format],
        )
      : tx.query(
          `UPDATE secrets s SET value = u.value, value_format = $5, key_version = u.key_version
             FROM unnest($1::uuid[], $2::bytea[], $3::int[], $4::int[]) AS u (id, value, version, key_version)
            WHERE s.tenant_id = current_tenant_id() AND s.id = u.id AND s.version = u.version AND s.key_version < u.key_version`,
          [ids, values, seenVersions, keyVersions, format],
        ),
  );
  return updated.rowCount;
}

/** One batch of documents; null when none are left. */
async function rewrapDocuments({ deps, tenantId, version, batchSize, skip, failed }: Pass): Promise<number | null> {
  const rows = await nextBatch<DocumentRow>(
    deps,
    tenantContext(tenantId, null),
    'documents',
    'id, content_format, key_version, content_key, region',
    version,
    skip,
    batchSize,
  );
  if (rows.length === 0) return null;
  let moved = 0;
  for (const row of rows) {
    try {
      moved += row.content_format === 0 ? await encryptPlainDocument(deps, tenantId, row) : await rewrapDocumentKey(deps, tenantId, row);
    } catch (err) {
      failed.push({ table: 'documents', id: row.id, code: err instanceof RampartError ? err.code : 'internal_error' });
    }
  }
  return moved;
}

async function rewrapDocumentKey(deps: RewrapDeps, tenantId: string, row: DocumentRow): Promise<number> {
  if (!row.content_key) throw new RampartError('decryption_failed', { internal: `document ${row.id} has no content key` });
  const header = parseContentKey(row.key_version, row.content_key);
  const { wrapped, version } = await deps.keyring.rewrapDataKey(tenantId, header);
  const { rowCount } = await deps.db.withTenant(tenantContext(tenantId, null), (tx) =>
    tx.query(`UPDATE documents SET content_key = $2, key_version = $3 WHERE tenant_id = current_tenant_id() AND id = $1 AND key_version = $4`, [
      row.id,
      Buffer.concat([header.dataKeyId, wrapped]),
      version,
      row.key_version,
    ]),
  );
  return rowCount;
}

/** A document stored plain: its object is encrypted into a staged copy, swapped in with the row. */
async function encryptPlainDocument(deps: RewrapDeps, tenantId: string, row: DocumentRow): Promise<number> {
  const key = { region: row.region, tenantId, objectId: row.id };
  const sealed = await deps.codec.sealStream({ tenantId, table: 'documents', rowId: row.id, field: 'content' });
  const source = await deps.objects.open(key);
  const pending = await deps.objects.stage(key, source, [sealed.transform]);
  try {
    return await deps.db.withTenant(tenantContext(tenantId, null), async (tx: Tx) => {
      const { rowCount } = await tx.query(
        `UPDATE documents SET content_format = $2, key_version = $3, content_key = $4
          WHERE tenant_id = current_tenant_id() AND id = $1 AND content_format = 0`,
        [row.id, sealed.format, sealed.keyVersion, sealed.contentKey],
      );
      if (rowCount === 1) await pending.commit();
      else await pending.discard();
      return rowCount;
    });
  } catch (err) {
    await pending.discard().catch(() => {});
    throw err;
  }
}
