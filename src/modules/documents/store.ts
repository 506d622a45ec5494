/** SQL for document metadata. Contents live in object storage; see the service. */
import type { Tx } from '../../platform/db/types.js';

export type DocumentRow = {
  id: string;
  name: string;
  content_type: string;
  size_bytes: number;
  sha256: Buffer;
  content_format: number;
  key_version: number;
  content_key: Buffer | null;
  region: string;
  created_at: Date;
};

const COLUMNS = 'id, name, content_type, size_bytes, sha256, content_format, key_version, content_key, region, created_at';

export async function insertDocument(
  tx: Tx,
  d: {
    id: string;
    name: string;
    contentType: string;
    size: number;
    sha256: Buffer;
    format: number;
    keyVersion: number;
    contentKey: Buffer;
    region: string;
    actor: string;
  },
): Promise<DocumentRow> {
  const { rows } = await tx.query<DocumentRow>(
    `INSERT INTO documents (tenant_id, id, name, content_type, size_bytes, sha256, content_format, key_version, content_key, region, created_by)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     RETURNING ${COLUMNS}`,
    [d.id, d.name, d.contentType, d.size, d.sha256, d.format, d.keyVersion, d.contentKey, d.region, d.actor],
  );
  return rows[0] as DocumentRow;
}

export async function listDocuments(tx: Tx, afterId: string | null, limit: number): Promise<DocumentRow[]> {
  const { rows } = afterId
    ? await tx.query<DocumentRow>(
        `SELECT ${COLUMNS} FROM documents WHERE tenant_id = current_tenant_id() AND id > $1 ORDER BY id LIMIT $2`,
        [afterId, limit],
      )
    : await tx.query<DocumentRow>(`SELECT ${COLUMNS} FROM documents WHERE tenant_id = current_tenant_id() ORDER BY id LIMIT $1`, [limit]);
  return rows;
}

export async function getDocument(tx: Tx, id: string): Promise<DocumentRow | null> {
  const { rows } = await tx.query<DocumentRow>(`SELECT ${COLUMNS} FROM documents WHERE tenant_id = current_tenant_id() AND id = $1`, [id]);
  return rows[0] ?? null;
}

export async function deleteDocument(tx: Tx, id: string): Promise<DocumentRow | null> {
  const { rows } = await tx.query<DocumentRow>(
    `DELETE FROM documents WHERE tenant_id = current_tenant_id() AND id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return rows[0] ?? null;
}
