/**
 * What the P3 parts share: Rampart's key hierarchy opened the way the server opens it
 * (`openKeyring` from configuration, the local provider with a root key given inline), over a
 * database the caller brings, with every file it might write in a temporary directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { ContentCodec } from '../src/platform/content/codec.js';
import { openKeyring, type Keyring } from '../src/platform/crypto/index.js';
import { tenantContext, type Database } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';

export const P3_TMP_PREFIX = 'rampart-bench-p3-';

/** A fresh temporary directory; the caller removes it with `removeTempDir`. */
export function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), P3_TMP_PREFIX));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Keys {
  readonly keyring: Keyring;
  readonly codec: ContentCodec;
}

/**
 * The keyring and codec from the default configuration (key cache 300 s, 100,000 values per data
 * key), with one local root key version and `dataDir` pointing into the temporary directory.
 */
export async function openKeys(db: Database, dataDir: string): Promise<Keys> {
  const config = { ...loadConfig({ env: {} }), dataDir, localRootKeys: `1:${randomBytes(32).toString('base64url')}` };
  const keyring = await openKeyring(config, db);
  return { keyring, codec: new ContentCodec(keyring) };
}

/** A workspace and one collection for `tenantId`, written as the app role (row-level security applies). */
export async function createTenant(db: Database, tenantId: string, name: string): Promise<{ collectionId: string }> {
  const collectionId = newId();
  await db.withTenant(tenantContext(tenantId, null), async (tx) => {
    await tx.query(`INSERT INTO workspaces (tenant_id, name, region) VALUES (current_tenant_id(), $1, 'local')`, [name]);
    await tx.query(`INSERT INTO collections (tenant_id, id, name) VALUES (current_tenant_id(), $1, 'tickets')`, [collectionId]);
  });
  return { collectionId };
}
