/**
 * Upgrading a database from before encryption: each existing workspace is scheduled at once, and
 * the scheduler's first pass makes its keys and encrypts its plain rows, replacing their unkeyed
 * filter tokens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { WorkspaceEvents } from '../src/modules/events/workspace.js';
import { AuditLog } from '../src/platform/audit/log.js';
import { KeysService } from '../src/modules/keys/index.js';
import { BackgroundWork } from '../src/platform/background.js';
import { ContentCodec } from '../src/platform/content/codec.js';
import { openKeyring } from '../src/platform/crypto/index.js';
import { loadMigrations } from '../src/platform/db/migrate.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { tenantContext } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';
import { LocalObjectStore } from '../src/platform/storage/object-store.js';

describe('migration 0007 (keys) on existing data', () => {
  it('schedules every workspace, and the first scheduler pass encrypts its plain rows', async () => {
    const all = loadMigrations();
    const before = all.findIndex((m) => m.version.startsWith('0007'));
    expect(before).toBeGreaterThan(0);
    const db = await PgliteDatabase.open({});
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-keys-migration-'));
    try {
      await db.migrate(all.slice(0, before));
      const tenant = newId();
      const [collection, record] = [newId(), newId()];
      await db.withTenant(tenantContext(tenant, null), async (tx) => {
        await tx.query(`INSERT INTO workspaces (tenant_id, name, region) VALUES ($1, 'Old', 'eu')`, [tenant]);
        await tx.query(`INSERT INTO collections (tenant_id, id, name) VALUES ($1, $2, 'notes')`, [tenant, collection]);
        await tx.query(`INSERT INTO records (tenant_id, id, collection_id, body, body_format, filter_tokens) VALUES ($1, $2, $3, $4, 0, '{legacy}')`, [
          tenant,
          record,
          collection,
          Buffer.from('{"kind":"old"}'),
        ]);
      });
      await db.migrate();
      expect(await db.withGlobal(async (tx) => (await tx.query('SELECT tenant, rewrap_pending FROM key_schedule')).rows)).toEqual([
        { tenant, rewrap_pending: true },
      ]);

      const config = { ...loadConfig({ env: {} }), dataDir: dir, keyCacheSeconds: 0, localRootKeys: `1:${randomBytes(32).toString('base64url')}` };
      const keyring = await openKeyring(config, db);
      const log = pino({ level: 'silent' });
      const keys = new KeysService({
        db,
        keyring,
        codec: new ContentCodec(keyring),
        objects: new LocalObjectStore(dir),
        events: new WorkspaceEvents(db, new AuditLog(db)),
        background: new BackgroundWork(() => {}),
        log,
        rotationDays: config.keyRotationDays,
      });
      expect(await keys.runDue()).toEqual({ destroyed: 0, rotated: 1, settled: 1 });
      const [row] = await db.withTenant(tenantContext(tenant, null), async (tx) =>
        (await tx.query<{ body: Buffer; body_format: number; key_version: number; filter_tokens: string[] }>('SELECT body, body_format, key_version, filter_tokens FROM records')).rows,
      );
      expect(row).toMatchObject({ body_format: 1, key_version: 1 });
      expect(row?.body.includes(Buffer.from('old'))).toBe(false);
      expect(row?.filter_tokens).toEqual([(await keyring.filterTokens(tenant, [['kind', '"old"']]))[0]]);
      await keyring.close();
    } finally {
      await db.close();
    }
  });
});
