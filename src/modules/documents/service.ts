/**
 * Documents: files kept in object storage under the workspace's region and tenant prefix, with
 * their metadata in the database. An upload is staged, its row inserted, and the object made
 * visible inside the same transaction: a failure at any step leaves neither row nor object.
 * Contents are encrypted on the way in (chunked and streamed under a data key of their own, so
 * no document sits whole in memory) and decrypted on the way out.
 *
 * An upload and a deletion are each one workspace event, in the transaction that inserts or
 * deletes the row: the document's id, type and size, never its name or contents (a file name
 * can itself be personal data).
 */
import { pipeline, type Readable } from 'node:stream';
import type { ContentBinding, ContentCodec } from '../../platform/content/codec.js';
import type { Database, TenantContext } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { WorkspaceCaller } from '../../platform/http/context.js';
import { decodeCursor, paginate } from '../../platform/http/cursor.js';
import { newId } from '../../platform/ids.js';
import { meter, type ObjectStore } from '../../platform/storage/object-store.js';
import type { WorkspaceEvents } from '../events/index.js';
import type { DocumentViewT } from './schemas.js';
import * as store from './store.js';

export interface Upload {
  readonly name: string;
  readonly contentType: string;
  readonly content: Readable;
}

export interface Download {
  readonly document: DocumentViewT;
  readonly content: Readable;
}

function view(row: store.DocumentRow): DocumentViewT {
  return {
    id: row.id,
    name: row.name,
    contentType: row.content_type,
    size: row.size_bytes,
    sha256: row.sha256.toString('hex'),
    createdAt: row.created_at.toISOString(),
  };
}

/** Who writes, and from where: each write's event names them. */
export type DocumentsWriter = Pick<WorkspaceCaller, 'tenant' | 'actor' | 'meta'>;

export class DocumentsService {
  constructor(
    private readonly db: Database,
    private readonly objects: ObjectStore,
    private readonly codec: ContentCodec,
    private readonly events: WorkspaceEvents,
  ) {}

  private binding(ctx: TenantContext, id: string): ContentBinding {
    return { tenantId: ctx.tenantId, table: 'documents', rowId: id, field: 'content' };
  }

  async upload(writer: DocumentsWriter, region: string, upload: Upload): Promise<DocumentViewT> {
    const ctx = writer.tenant;
    const id = newId();
    const key = { region, tenantId: ctx.tenantId, objectId: id };
    const plain = meter();
    const sealed = await this.codec.sealStream(this.binding(ctx, id));
    const pending = await this.objects.stage(key, upload.content, [plain.transform, sealed.transform]);
    let visible = false;
    try {
      const { size, sha256 } = plain.result();
      const row = await this.db.withTenant(ctx, async (tx) => {
        const inserted = await store.insertDocument(tx, {
          id,
          name: upload.name,
          contentType: upload.contentType,
          size,
          sha256,
          format: sealed.format,
          keyVersion: sealed.keyVersion,
          contentKey: sealed.contentKey,
          region,
          actor: writer.actor.id,
        });
        await this.events.recordIn(
          tx,
          writer.actor,
          { action: 'document.uploaded', outcome: 'success', target: { type: 'document', id }, details: { contentType: inserted.content_type, size: inserted.size_bytes, region } },
          writer.meta,
        );
        await pending.commit();
        visible = true;
        return inserted;
      });
      return view(row);
    } catch (err) {
      await pending.discard();
      if (visible) await this.objects.delete(key);
      throw err;
    }
  }

  async list(ctx: TenantContext, options: { limit: number; cursor?: string | undefined }): Promise<{ data: DocumentViewT[]; nextCursor: string | null }> {
    const afterId = decodeCursor(options.cursor);
    const rows = await this.db.withTenant(ctx, (tx) => store.listDocuments(tx, afterId, options.limit + 1), { readOnly: true });
    const paged = paginate(rows, options.limit);
    return { data: paged.rows.map(view), nextCursor: paged.nextCursor };
  }

  async get(ctx: TenantContext, id: string): Promise<DocumentViewT> {
    return view(await this.row(ctx, id));
  }

  private async row(ctx: TenantContext, id: string): Promise<store.DocumentRow> {
    const row = await this.db.withTenant(ctx, (tx) => store.getDocument(tx, id), { readOnly: true });
    if (!row) throw new RampartError('document_not_found');
    return row;
  }

  async download(ctx: TenantContext, id: string): Promise<Download> {
    const row = await this.row(ctx, id);
    // Keys first: a revoked or destroyed key answers with its error before any byte is sent.
    const opener = await this.codec.openStream(this.binding(ctx, row.id), {
      format: row.content_format,
      keyVersion: row.key_version,
      contentKey: row.content_key,
    });
    let content: Readable;
    try {
      content = await this.objects.open({ region: row.region, tenantId: ctx.tenantId, objectId: row.id });
    } catch (err) {
      throw new RampartError('internal_error', { internal: `document ${row.id} has no stored content`, cause: err });
    }
    // pipeline (not pipe) so an error on either side destroys both and reaches the reply.
    return { document: view(row), content: opener ? pipeline(content, opener, () => {}) : content };
  }

  /** Deletes the row, then the object; a failed object removal is logged by the caller, never resurrects the row. */
  async delete(writer: DocumentsWriter, id: string): Promise<void> {
    const ctx = writer.tenant;
    const row = await this.db.withTenant(ctx, async (tx) => {
      const deleted = await store.deleteDocument(tx, id);
      if (!deleted) throw new RampartError('document_not_found');
      await this.events.recordIn(
        tx,
        writer.actor,
        { action: 'document.deleted', outcome: 'success', target: { type: 'document', id }, details: { contentType: deleted.content_type, size: deleted.size_bytes } },
        writer.meta,
      );
      return deleted;
    });
    await this.objects.delete({ region: row.region, tenantId: ctx.tenantId, objectId: row.id });
  }

  /** Removes a deleted workspace's objects. */
  async purgeWorkspace(workspace: { tenantId: string; region: string }): Promise<void> {
    await this.objects.deleteTenant(workspace.region, workspace.tenantId);
  }
}
