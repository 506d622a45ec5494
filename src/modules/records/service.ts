/**
 * The customer data store's records: JSON objects in named collections. Bodies are encrypted
 * under the tenant's keys by the content codec; filters match keyed digests (a blind index) of
 * top-level scalar fields, never the bodies.
 *
 * Every write is one workspace event in the transaction that makes it, naming the record or
 * collection by id (and the collection by name) — never a body or a field value.
 */
import type { ContentBinding, ContentCodec } from '../../platform/content/codec.js';
import type { Database, TenantContext, Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { WorkspaceCaller } from '../../platform/http/context.js';
import { decodeCursor, paginate } from '../../platform/http/cursor.js';
import { newId } from '../../platform/ids.js';
import type { WorkspaceEvent, WorkspaceEvents } from '../events/index.js';
import { MAX_FILTERS, type CollectionViewT, type RecordViewT } from './schemas.js';
import * as store from './store.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type RecordData = Record<string, JsonValue>;

export interface ListOptions {
  readonly limit: number;
  readonly cursor?: string | undefined;
  /** Top-level field → value to match exactly. */
  readonly filters?: ReadonlyArray<readonly [string, JsonValue]>;
}

function isScalar(v: JsonValue): v is string | number | boolean | null {
  return v === null || typeof v !== 'object';
}

/** Turns `filter[field]=raw` query parameters into typed filters. Other unknown keys are refused. */
export function parseFilters(query: Record<string, unknown>, known: ReadonlySet<string>): Array<[string, JsonValue]> {
  const filters: Array<[string, JsonValue]> = [];
  for (const [key, raw] of Object.entries(query)) {
    if (known.has(key)) continue;
    const m = /^filter\[(.{1,256})\]$/s.exec(key);
    if (!m) {
      throw new RampartError('validation_failed', { details: { issues: [{ path: `querystring.${key}`, message: 'unknown parameter' }] } });
    }
    if (typeof raw !== 'string') throw new RampartError('invalid_filter', { message: `filter[${m[1]}] must be given once.` });
    filters.push([m[1] as string, filterValue(raw)]);
  }
  if (filters.length > MAX_FILTERS) throw new RampartError('invalid_filter', { message: `At most ${MAX_FILTERS} filters.` });
  return filters;
}

function filterValue(raw: string): JsonValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (parsed === null || typeof parsed === 'string' || typeof parsed === 'number' || typeof parsed === 'boolean') return parsed;
  throw new RampartError('invalid_filter', { message: 'A filter value must be a string, number, boolean or null.' });
}

/** The blind-index tokens of a record's top-level scalar fields. */
export function filterTokens(codec: ContentCodec, tenantId: string, data: RecordData): Promise<string[]> {
  const pairs: Array<readonly [string, string]> = [];
  for (const [field, value] of Object.entries(data)) if (isScalar(value)) pairs.push([field, JSON.stringify(value)]);
  return codec.filterTokens(tenantId, pairs);
}

/** Who writes, and from where: each write's event names them. */
export type RecordsWriter = Pick<WorkspaceCaller, 'tenant' | 'actor' | 'meta'>;

export class RecordsService {
  constructor(
    private readonly db: Database,
    private readonly codec: ContentCodec,
    private readonly events: WorkspaceEvents,
  ) {}

  private record(tx: Tx, writer: RecordsWriter, event: Omit<WorkspaceEvent, 'outcome'>): Promise<void> {
    return this.events.recordIn(tx, writer.actor, { ...event, outcome: 'success' }, writer.meta);
  }

  private binding(ctx: TenantContext, rowId: string): ContentBinding {
    return { tenantId: ctx.tenantId, table: 'records', rowId, field: 'body' };
  }

  private async seal(ctx: TenantContext, id: string, data: RecordData): Promise<store.StoredBody> {
    const sealed = await this.codec.seal(this.binding(ctx, id), Buffer.from(JSON.stringify(data), 'utf8'));
    return { body: sealed.stored, format: sealed.format, keyVersion: sealed.keyVersion, tokens: await filterTokens(this.codec, ctx.tenantId, data) };
  }

  private async view(ctx: TenantContext, collection: string, row: store.RecordRow): Promise<RecordViewT> {
    const plain = await this.codec.open(this.binding(ctx, row.id), row.body_format, row.body);
    return {
      id: row.id,
      collection,
      data: JSON.parse(plain.toString('utf8')) as RecordData,
      version: row.version,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }

  // Collections -------------------------------------------------------------------------------

  listCollections(ctx: TenantContext): Promise<CollectionViewT[]> {
    return this.db.withTenant(
      ctx,
      async (tx) => (await store.listCollections(tx)).map((c) => ({ id: c.id, name: c.name, createdAt: c.created_at.toISOString() })),
      { readOnly: true },
    );
  }

  async createCollection(writer: RecordsWriter, name: string): Promise<CollectionViewT> {
    const row = await this.db.withTenant(writer.tenant, async (tx) => {
      const inserted = await store.insertCollection(tx, { id: newId(), name, createdBy: writer.actor.id });
      if (!inserted) throw new RampartError('collection_exists');
      await this.record(tx, writer, { action: 'collection.created', target: { type: 'collection', id: inserted.id }, details: { name } });
      return inserted;
    });
    return { id: row.id, name: row.name, createdAt: row.created_at.toISOString() };
  }

  async deleteCollection(writer: RecordsWriter, name: string): Promise<void> {
    await this.db.withTenant(writer.tenant, async (tx) => {
      const deleted = await store.deleteCollection(tx, name);
      if (!deleted) throw new RampartError('collection_not_found');
      await this.record(tx, writer, { action: 'collection.deleted', target: { type: 'collection', id: deleted.id }, details: { name, records: deleted.records } });
    });
  }

  // Records -----------------------------------------------------------------------------------

  async list(ctx: TenantContext, collection: string, options: ListOptions): Promise<{ data: RecordViewT[]; nextCursor: string | null }> {
    const afterId = decodeCursor(options.cursor);
    const filters = options.filters ?? [];
    const tokens = await this.codec.filterTokens(
      ctx.tenantId,
      filters.map(([field, value]) => [field, JSON.stringify(value)] as const),
    );
    const rows = await this.db.withTenant(
      ctx,
      async (tx) => {
        const c = await store.collectionByName(tx, collection);
        if (!c) throw new RampartError('collection_not_found');
        return store.listRecords(tx, { collectionId: c.id, afterId, tokens, limit: options.limit + 1 });
      },
      { readOnly: true },
    );
    const paged = paginate(rows, options.limit);
    return { data: await Promise.all(paged.rows.map((r) => this.view(ctx, collection, r))), nextCursor: paged.nextCursor };
  }

  async get(ctx: TenantContext, collection: string, id: string): Promise<RecordViewT> {
    const row = await this.db.withTenant(ctx, (tx) => store.getRecord(tx, collection, id), { readOnly: true });
    if (!row) throw new RampartError('record_not_found');
    return this.view(ctx, collection, row);
  }

  async create(writer: RecordsWriter, collection: string, data: RecordData): Promise<RecordViewT> {
    const ctx = writer.tenant;
    const id = newId();
    const stored = await this.seal(ctx, id, data);
    const row = await this.db.withTenant(ctx, async (tx) => {
      const inserted = await store.insertRecord(tx, { collection, id, stored, actor: writer.actor.id });
      if (!inserted) throw new RampartError('collection_not_found');
      await this.record(tx, writer, { action: 'record.created', target: { type: 'record', id }, details: { collection } });
      return inserted;
    });
    return this.view(ctx, collection, row);
  }

  async replace(writer: RecordsWriter, collection: string, id: string, data: RecordData, expectedVersion: number | null): Promise<RecordViewT> {
    const ctx = writer.tenant;
    const stored = await this.seal(ctx, id, data);
    const row = await this.db.withTenant(ctx, async (tx) => {
      const updated =
        (await store.replaceRecord(tx, { collection, id, stored, actor: writer.actor.id, expectedVersion })) ??
        (await this.explainMiss(tx, collection, id, expectedVersion));
      await this.record(tx, writer, { action: 'record.updated', target: { type: 'record', id }, details: { collection, version: updated.version } });
      return updated;
    });
    return this.view(ctx, collection, row);
  }

  async delete(writer: RecordsWriter, collection: string, id: string, expectedVersion: number | null): Promise<void> {
    await this.db.withTenant(writer.tenant, async (tx) => {
      if (!(await store.deleteRecord(tx, collection, id, expectedVersion))) await this.explainMiss(tx, collection, id, expectedVersion);
      await this.record(tx, writer, { action: 'record.deleted', target: { type: 'record', id }, details: { collection } });
    });
  }

  /** A write matched nothing: the record is missing, or it exists at another version. */
  private async explainMiss(tx: Tx, collection: string, id: string, expectedVersion: number | null): Promise<never> {
    if (expectedVersion !== null && (await store.getRecord(tx, collection, id))) throw new RampartError('precondition_failed');
    throw new RampartError('record_not_found');
  }
}
