/**
 * SQL for collections and records. Every statement runs inside withTenant and also names
 * `tenant_id = current_tenant_id()`. Statement text is fixed; values are always parameters.
 */
import type { Tx } from '../../platform/db/types.js';

export type CollectionRow = { id: string; name: string; created_at: Date };
export type RecordRow = {
  id: string;
  body: Buffer;
  body_format: number;
  version: number;
  created_at: Date;
  updated_at: Date;
};

const RECORD_COLUMNS = 'r.id, r.body, r.body_format, r.version, r.created_at, r.updated_at';

export async function listCollections(tx: Tx): Promise<CollectionRow[]> {
  const { rows } = await tx.query<CollectionRow>(
    'SELECT id, name, created_at FROM collections WHERE tenant_id = current_tenant_id() ORDER BY name',
  );
  return rows;
}

export async function insertCollection(tx: Tx, c: { id: string; name: string; createdBy: string }): Promise<CollectionRow | null> {
  const { rows } = await tx.query<CollectionRow>(
    `INSERT INTO collections (tenant_id, id, name, created_by) VALUES (current_tenant_id(), $1, $2, $3)
     ON CONFLICT (tenant_id, name) DO NOTHING
     RETURNING id, name, created_at`,
    [c.id, c.name, c.createdBy],
  );
  return rows[0] ?? null;
}

export async function collectionByName(tx: Tx, name: string): Promise<CollectionRow | null> {
  const { rows } = await tx.query<CollectionRow>(
    'SELECT id, name, created_at FROM collections WHERE tenant_id = current_tenant_id() AND name = $1',
    [name],
  );
  return rows[0] ?? null;
}

/** Deletes a collection (its records go with it); null if there is none by that name. */
export async function deleteCollection(tx: Tx, name: string): Promise<{ id: string; records: number } | null> {
  // The count reads the statement's snapshot: the records as they were before the cascade.
  const { rows } = await tx.query<{ id: string; records: number }>(
    `WITH gone AS (DELETE FROM collections WHERE tenant_id = current_tenant_id() AND name = $1 RETURNING id)
     SELECT gone.id, (SELECT count(*)::int FROM records r WHERE r.tenant_id = current_tenant_id() AND r.collection_id = gone.id) AS records FROM gone`,
    [name],
  );
  return rows[0] ?? null;
}

/** One page of a collection in id order, after `afterId`, whose tokens include all of `tokens`. */
export async function listRecords(
  tx: Tx,
  q: { collectionId: string; afterId: string | null; tokens: string[]; limit: number },
): Promise<RecordRow[]> {
  const params: unknown[] = [q.collectionId];
  let where = 'r.tenant_id = current_tenant_id() AND r.collection_id = $1';
  if (q.afterId !== null) {
    params.push(q.afterId);
    where += ` AND r.id > $${params.length}`;
  }
  if (q.tokens.length > 0) {
    params.push(q.tokens);
    where += ` AND r.filter_tokens @> $${params.length}::text[]`;
  }
  params.push(q.limit);
  const { rows } = await tx.query<RecordRow>(
    `SELECT ${RECORD_COLUMNS} FROM records r WHERE ${where} ORDER BY r.id LIMIT $${params.length}`,
    params,
  );
  return rows;
}

export async function getRecord(tx: Tx, collection: string, id: string): Promise<RecordRow | null> {
  const { rows } = await tx.query<RecordRow>(
    `SELECT ${RECORD_COLUMNS}
       FROM records r JOIN collections c ON c.tenant_id = r.tenant_id AND c.id = r.collection_id
      WHERE r.tenant_id = current_tenant_id() AND c.name = $1 AND r.id = $2`,
    [collection, id],
  );
  return rows[0] ?? null;
}

export interface StoredBody {
  readonly body: Buffer;
  readonly format: number;
  readonly keyVersion: number;
  readonly tokens: string[];
}

export async function insertRecord(
  tx: Tx,
  r: { collection: string; id: string; stored: StoredBody; actor: string },
): Promise<RecordRow | null> {
  const { rows } = await tx.query<RecordRow>(
    `INSERT INTO records AS r (tenant_id, id, collection_id, body, body_format, key_version, filter_tokens, created_by, updated_by)
     SELECT c.tenant_id, $2, c.id, $3, $4, $7, $5, $6, $6
       FROM collections c WHERE c.tenant_id = current_tenant_id() AND c.name = $1
     RETURNING ${RECORD_COLUMNS}`,
    [r.collection, r.id, r.stored.body, r.stored.format, r.stored.tokens, r.actor, r.stored.keyVersion],
  );
  return rows[0] ?? null;
}

export async function replaceRecord(
  tx: Tx,
  r: { collection: string; id: string; stored: StoredBody; actor: string; expectedVersion: number | null },
): Promise<RecordRow | null> {
  const params: unknown[] = [r.collection, r.id, r.stored.body, r.stored.format, r.stored.tokens, r.actor, r.stored.keyVersion];
  let versionCheck = '';
  if (r.expectedVersion !== null) {
    params.push(r.expectedVersion);
    versionCheck = ` AND r.version = $${params.length}`;
  }
  const { rows } = await tx.query<RecordRow>(
    `UPDATE records r
        SET body = $3, body_format = $4, key_version = $7, filter_tokens = $5, version = r.version + 1, updated_at = now(), updated_by = $6
       FROM collections c
      WHERE r.tenant_id = current_tenant_id() AND c.tenant_id = r.tenant_id AND c.id = r.collection_id
        AND c.name = $1 AND r.id = $2${versionCheck}
      RETURNING ${RECORD_COLUMNS}`,
    params,
  );
  return rows[0] ?? null;
}

export async function deleteRecord(tx: Tx, collection: string, id: string, expectedVersion: number | null): Promise<boolean> {
  const params: unknown[] = [collection, id];
  let versionCheck = '';
  if (expectedVersion !== null) {
    params.push(expectedVersion);
    versionCheck = ` AND r.version = $${params.length}`;
  }
  const { rows } = await tx.query(
    `DELETE FROM records r USING collections c
      WHERE r.tenant_id = current_tenant_id() AND c.tenant_id = r.tenant_id AND c.id = r.collection_id
        AND c.name = $1 AND r.id = $2${versionCheck}
      RETURNING r.id`,
    params,
  );
  return rows.length === 1;
}
