/**
 * Per-tenant keys: the key hierarchy's middle and bottom layers, and the caches that keep KMS
 * calls rare.
 *
 *   root key (KMS provider, or the workspace's own key)
 *     └─ tenant key, one per version, stored wrapped in tenant_keys
 *          ├─ data keys, stored wrapped inside each ciphertext's header
 *          └─ the blind-index key for record filters, stored wrapped in tenant_keyrings
 *
 * Unwrapped tenant keys and data keys live in memory for `cacheSeconds` at most; one data key
 * encrypts at most `dataKeyMaxUses` values. A revoked or disabled key therefore stops working
 * within `cacheSeconds` on every instance.
 *
 * Everything fails closed: a destroyed, disabled or unreachable key, a retired version, or a
 * ciphertext that does not authenticate is an error, never a fallback to plaintext.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync } from 'node:fs';
import { serviceUnavailable } from '../db/failures.js';
import type { Database, TenantContext, Tx } from '../db/types.js';
import { tenantContext } from '../db/types.js';
import { RampartError } from '../errors.js';
import { DecryptionError, newDataKey, unwrapDataKey, wrapDataKey, type DataKey, type ValueHeader } from './envelope.js';
import { KeyProviderError, type KeyProvider, type ProviderKind } from './providers/types.js';

export interface KeyringOptions {
  readonly cacheSeconds: number;
  readonly dataKeyMaxUses: number;
  /** 0: no automatic rotation. */
  readonly rotationDays: number;
  readonly destructionGraceDays: number;
}

/** The index key is wrapped like a data key, under this fixed id. */
const INDEX_KEY_ID = Buffer.alloc(16, 0xff);
const DAY_MS = 86_400_000;
const DECRYPT_CACHE_MAX = 10_000;

/**
 * Tenants whose keys were destroyed, kept outside the database (a file under the data
 * directory) so restoring a database backup cannot bring a destroyed key back: the keyring
 * refuses to unwrap any key of a tenant listed here.
 */
export class DestructionRegister {
  private tenants = new Set<string>();
  private seenMtime = -1;

  constructor(private readonly file: string | null) {
    this.reload();
  }

  private reload(): void {
    if (!this.file || !existsSync(this.file)) return;
    const mtime = statSync(this.file).mtimeMs;
    if (mtime === this.seenMtime) return;
    this.seenMtime = mtime;
    const tenants = new Set<string>();
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as { tenant?: unknown };
        if (typeof entry.tenant === 'string') tenants.add(entry.tenant);
      } catch {
        // A torn last line (a crash mid-append) is skipped; every complete line counts.
      }
    }
    for (const t of this.tenants) tenants.add(t);
    this.tenants = tenants;
  }

  has(tenantId: string): boolean {
    if (this.tenants.has(tenantId)) return true;
    this.reload();
    return this.tenants.has(tenantId);
  }

  record(tenantId: string, at: Date): void {
    this.tenants.add(tenantId);
    if (!this.file) return;
    appendFileSync(this.file, `${JSON.stringify({ tenant: tenantId, destroyedAt: at.toISOString() })}\n`, { mode: 0o600 });
    const fd = openSync(this.file, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

export interface TenantKeyVersion {
  readonly version: number;
  readonly provider: ProviderKind;
  readonly keyRef: string;
  readonly state: 'active' | 'retired' | 'destroyed';
  readonly createdAt: Date;
}

export interface KeyringStatus {
  readonly exists: boolean;
  readonly provider: ProviderKind;
  readonly ownKey: { provider: ProviderKind; keyRef: string } | null;
  readonly currentVersion: number;
  readonly minDecryptVersion: number;
  readonly versions: readonly TenantKeyVersion[];
  readonly rotatedAt: Date | null;
  readonly nextRotationAt: Date | null;
  readonly destroyAfter: Date | null;
  readonly destroyedAt: Date | null;
}

interface TenantState {
  readonly currentVersion: number;
  readonly minVersion: number;
  readonly versions: ReadonlyMap<number, { provider: ProviderKind; keyRef: string; wrapped: Buffer | null }>;
  readonly indexKey: { wrapped: Buffer; version: number } | null;
  readonly destroyed: boolean;
  readonly plainAllowed: boolean;
  readonly expiresAt: number;
}

type KeyringRow = {
  current_version: number;
  min_decrypt_version: number;
  byok_provider: ProviderKind | null;
  byok_key_ref: string | null;
  index_key: Buffer | null;
  index_key_version: number;
  plain_allowed: boolean;
  rotated_at: Date;
  destroy_after: Date | null;
  destroyed_at: Date | null;
};
type KeyRow = { version: number; provider: ProviderKind; key_ref: string; wrapped: Buffer | null; created_at: Date };

function systemContext(tenantId: string): TenantContext {
  return tenantContext(tenantId, null);
}

/** Maps a provider failure to the error a client sees. */
export function keyError(err: unknown, tenantId: string): RampartError {
  if (err instanceof RampartError) return err;
  const unavailable = serviceUnavailable(err);
  if (unavailable) return unavailable;
  if (err instanceof KeyProviderError) {
    const internal = `tenant ${tenantId}: ${err.failure}: ${err.message}`;
    switch (err.failure) {
      case 'key_disabled':
        return new RampartError('encryption_key_disabled', { internal, cause: err });
      case 'kms_unavailable':
        return new RampartError('kms_unavailable', { internal, cause: err, retryAfterSeconds: 5 });
      case 'unwrap_failed':
        return new RampartError('decryption_failed', { internal, cause: err });
      default:
        return new RampartError('internal_error', { internal, cause: err });
    }
  }
  if (err instanceof DecryptionError) return new RampartError('decryption_failed', { internal: `tenant ${tenantId}: ${err.internal}` });
  return new RampartError('internal_error', { internal: `tenant ${tenantId}: key operation failed`, cause: err });
}

export class Keyring {
  private readonly states = new Map<string, TenantState>();
  private readonly tenantKeys = new Map<string, { key: Buffer; expiresAt: number }>();
  private readonly writeKeys = new Map<string, { dataKey: DataKey; uses: number; expiresAt: number }>();
  private readonly readKeys = new Map<string, { key: Buffer; expiresAt: number }>();
  private readonly indexKeys = new Map<string, { key: Buffer; expiresAt: number }>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private declared: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    readonly root: KeyProvider,
    private readonly providers: ReadonlyMap<ProviderKind, KeyProvider>,
    readonly register: DestructionRegister,
    private readonly options: KeyringOptions,
    private readonly now: () => number = Date.now,
  ) {}

  private get ttl(): number {
    return this.options.cacheSeconds * 1000;
  }

  provider(kind: ProviderKind): KeyProvider {
    const p = this.providers.get(kind);
    if (!p) throw new RampartError('kms_provider_not_configured', { message: `The ${kind} key provider is not configured on this instance.` });
    return p;
  }

  /** Drops every cached key of a tenant (after rotation, retirement, destruction, or on demand). */
  forget(tenantId: string): void {
    this.states.delete(tenantId);
    this.indexKeys.delete(tenantId);
    this.writeKeys.delete(tenantId);
    const prefix = `${tenantId}:`;
    for (const map of [this.tenantKeys, this.readKeys]) {
      for (const k of map.keys()) if (k.startsWith(prefix)) map.delete(k);
    }
  }

  /** One concurrent load per key: many requests missing the cache together make one KMS call. */
  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = load().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  // State ----------------------------------------------------------------------------------------

  private async state(tenantId: string, create: boolean): Promise<TenantState> {
    const cached = this.fresh(tenantId);
    if (cached) return cached;
    return this.once(`state:${tenantId}:${create}`, async () => {
      let state = await this.loadState(tenantId);
      if (!state && create) state = await this.createKeyring(tenantId);
      if (!state) throw new RampartError('internal_error', { internal: `tenant ${tenantId} has no keyring` });
      this.states.set(tenantId, state);
      return state;
    });
  }

  private async loadState(tenantId: string): Promise<TenantState | null> {
    // Before this process caches any tenant's versions, other processes learn how long it may
    // write under them (a retirement waits that long after a rotation).
    if (this.ttl > 0) await this.declareCache();
    // The state is as old as the moment it was read, not the moment the answer came.
    const readAt = this.now();
    return this.db.withTenant(
      systemContext(tenantId),
      async (tx) => {
        const ring = (await tx.query<KeyringRow>('SELECT * FROM tenant_keyrings WHERE tenant_id = current_tenant_id()')).rows[0];
        return ring ? this.loadStateIn(tx, tenantId, ring, readAt) : null;
      },
      { readOnly: true },
    );
  }

  /** The state of a tenant whose keyring row is already read (and perhaps locked) in `tx`. */
  private async loadStateIn(tx: Tx, tenantId: string, ring: KeyringRow, readAt = this.now()): Promise<TenantState> {
    const keys = await tx.query<KeyRow>('SELECT * FROM tenant_keys WHERE tenant_id = current_tenant_id()');
    return {
      currentVersion: ring.current_version,
      minVersion: ring.min_decrypt_version,
      versions: new Map(keys.rows.map((k) => [k.version, { provider: k.provider, keyRef: k.key_ref, wrapped: k.wrapped }])),
      indexKey: ring.index_key ? { wrapped: ring.index_key, version: ring.index_key_version } : null,
      destroyed: ring.destroyed_at !== null || this.register.has(tenantId),
      plainAllowed: ring.plain_allowed,
      expiresAt: readAt + this.ttl,
    };
  }

  /** Raises the database's record of the longest key cache to this process's, once per process. */
  private declareCache(): Promise<void> {
    this.declared ??= this.db
      .withGlobal((tx) => tx.query('UPDATE key_caches SET max_cache_seconds = $1 WHERE max_cache_seconds < $1', [this.options.cacheSeconds]), { autocommit: true })
      .then(
        () => undefined,
        (err: unknown) => {
          this.declared = null; // tried again by the next load
          throw err;
        },
      );
    return this.declared;
  }

  /**
   * A ciphertext names a version this state does not know: another process (the CLI, another
   * server) rotated since the state was read. The tenant's keys are read again — once, however
   * many requests miss together — before the version is called unknown. A newer current version
   * learnt this way is where this process seals from now on.
   */
  private async knowing(tenantId: string, state: TenantState, version: number): Promise<TenantState> {
    const latest = this.states.get(tenantId);
    if (latest && latest !== state && latest.versions.has(version)) return latest;
    return this.once(`reload:${tenantId}`, async () => {
      const loaded = await this.loadState(tenantId);
      if (!loaded) throw new RampartError('decryption_failed', { internal: `tenant ${tenantId} has no keyring` });
      this.states.set(tenantId, loaded);
      if (loaded.currentVersion !== state.currentVersion) this.writeKeys.delete(tenantId);
      return loaded;
    });
  }

  /** The cached state of a tenant, if still fresh. */
  private fresh(tenantId: string): TenantState | undefined {
    const cached = this.states.get(tenantId);
    return cached && cached.expiresAt > this.now() ? cached : undefined;
  }

  /** The first key of a tenant: made at its first encryption. Concurrent creators agree on one. */
  private async createKeyring(tenantId: string): Promise<TenantState | null> {
    if (this.register.has(tenantId)) throw new RampartError('encryption_key_destroyed', { internal: `tenant ${tenantId} is in the destruction register` });
    const keyRef = await this.root.currentKeyRef().catch((err: unknown) => Promise.reject(keyError(err, tenantId)));
    const generated = await this.root.generateKey(keyRef, { tenantId, version: 1 }).catch((err: unknown) => Promise.reject(keyError(err, tenantId)));
    const indexKey = randomBytes(32);
    try {
      await this.db.withTenant(systemContext(tenantId), async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO tenant_keys (tenant_id, version, provider, key_ref, wrapped) VALUES (current_tenant_id(), 1, $1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING version`,
          [this.root.kind, keyRef, generated.wrapped],
        );
        if (inserted.rows.length === 0) return;
        await tx.query(
          `INSERT INTO tenant_keyrings (tenant_id, current_version, index_key, index_key_version, plain_allowed)
           VALUES (current_tenant_id(), 1, $1, 1, ${ENCRYPTED_TABLES.map((t) => `EXISTS (SELECT 1 FROM ${t} WHERE tenant_id = current_tenant_id() AND key_version = 0)`).join(' OR ')})`,
          [wrapDataKey(generated.plaintext, tenantId, 1, INDEX_KEY_ID, indexKey)],
        );
        await this.scheduleRotation(tx, tenantId);
      });
    } finally {
      generated.plaintext.fill(0);
      indexKey.fill(0);
    }
    return this.loadState(tenantId);
  }

  private async scheduleRotation(tx: Tx, tenantId: string): Promise<void> {
    const after = this.options.rotationDays > 0 ? new Date(this.now() + this.options.rotationDays * DAY_MS) : null;
    await tx.query(
      `INSERT INTO key_schedule (tenant, rotate_after) VALUES ($1, $2)
       ON CONFLICT (tenant) DO UPDATE SET rotate_after = EXCLUDED.rotate_after`,
      [tenantId, after],
    );
  }

  // Keys ------------------------------------------------------------------------------------------

  private async tenantKey(tenantId: string, state: TenantState, version: number): Promise<Buffer> {
    const cacheKey = `${tenantId}:${version}`;
    const cached = this.tenantKeys.get(cacheKey);
    if (cached && cached.expiresAt > this.now()) return cached.key;
    if (state.destroyed || this.register.has(tenantId)) {
      throw new RampartError('encryption_key_destroyed', { internal: `tenant ${tenantId}: keys destroyed` });
    }
    const entry = state.versions.get(version);
    if (!entry) throw new RampartError('decryption_failed', { internal: `tenant ${tenantId}: unknown key version ${version}` });
    if (!entry.wrapped) throw new RampartError('encryption_key_destroyed', { internal: `tenant ${tenantId}: key version ${version} destroyed` });
    const wrapped = entry.wrapped;
    return this.once(`tk:${cacheKey}`, async () => {
      let key: Buffer;
      try {
        key = await this.provider(entry.provider).unwrap(entry.keyRef, wrapped, { tenantId, version });
      } catch (err) {
        throw keyError(err, tenantId);
      }
      if (this.ttl > 0) this.tenantKeys.set(cacheKey, { key, expiresAt: this.now() + this.ttl });
      return key;
    });
  }

  /** The data key new values of this tenant are sealed with. */
  async writeKey(tenantId: string): Promise<DataKey> {
    let entry = this.writeKeys.get(tenantId);
    if (!entry || entry.expiresAt <= this.now() || entry.uses >= this.options.dataKeyMaxUses) {
      entry = await this.once(`wk:${tenantId}`, async () => {
        const state = await this.state(tenantId, true);
        const dataKey = newDataKey(tenantId, state.currentVersion, await this.tenantKey(tenantId, state, state.currentVersion));
        // Never past the state it was made from: which version seals is only as fresh as the state.
        const made = { dataKey, uses: 0, expiresAt: Math.min(this.now() + this.ttl, state.expiresAt) };
        if (this.ttl > 0) this.writeKeys.set(tenantId, made);
        return made;
      });
    }
    // Counted per value sealed, by every caller, including those that waited on the same load.
    entry.uses += 1;
    return entry.dataKey;
  }

  /** A fresh data key used for one stream only (a document): its wrapped form goes in the row. */
  async streamKey(tenantId: string): Promise<DataKey> {
    const state = await this.state(tenantId, true);
    return newDataKey(tenantId, state.currentVersion, await this.tenantKey(tenantId, state, state.currentVersion));
  }

  /**
   * Whether content stored plain may be read for this tenant: only rows from before encryption,
   * of a tenant that had them when its keys were made, until its first retirement.
   */
  async plainReadable(tenantId: string): Promise<boolean> {
    const cached = this.fresh(tenantId);
    if (cached) return cached.plainAllowed;
    const state = await this.loadState(tenantId);
    if (!state) return true; // No keys yet: everything the tenant has is from before encryption.
    if (this.ttl > 0) this.states.set(tenantId, state);
    return state.plainAllowed;
  }

  /** The data key a value's header names, unwrapped (cached). */
  async readKey(tenantId: string, header: ValueHeader): Promise<Buffer> {
    const now = this.now();
    // latin1: the cheapest lossless string of 16 bytes, for the map key.
    const cacheKey = `${tenantId}:${header.dataKeyId.toString('latin1')}`;
    const cached = this.readKeys.get(cacheKey);
    let state = this.fresh(tenantId) ?? (await this.state(tenantId, false));
    if (!state.versions.has(header.version)) state = await this.knowing(tenantId, state, header.version);
    if (header.version < state.minVersion) {
      throw new RampartError('decryption_failed', { internal: `tenant ${tenantId}: key version ${header.version} is retired (minimum ${state.minVersion})` });
    }
    if (cached && cached.expiresAt > now) return cached.key;
    const key = await this.openDataKey(tenantId, state, header.version, header.dataKeyId, header.wrappedKey);
    if (this.ttl > 0) {
      if (this.readKeys.size >= DECRYPT_CACHE_MAX) this.readKeys.delete(this.readKeys.keys().next().value as string);
      this.readKeys.set(cacheKey, { key, expiresAt: this.now() + this.ttl });
    }
    return key;
  }

  /** Re-wraps a data key (a document's) under the tenant's current version. */
  async rewrapDataKey(tenantId: string, header: ValueHeader): Promise<{ wrapped: Buffer; version: number }> {
    const key = await this.readKey(tenantId, header);
    const state = await this.state(tenantId, false);
    const current = await this.tenantKey(tenantId, state, state.currentVersion);
    return { wrapped: wrapDataKey(current, tenantId, state.currentVersion, header.dataKeyId, key), version: state.currentVersion };
  }

  /** The blind-index token of one field value: equal values give equal tokens within a tenant. */
  async filterTokens(tenantId: string, pairs: ReadonlyArray<readonly [string, string]>): Promise<string[]> {
    if (pairs.length === 0) return [];
    const key = await this.indexKey(tenantId);
    return pairs.map(([field, value]) =>
      createHmac('sha256', key).update(`${field}\u0000${value}`).digest().subarray(0, 16).toString('base64url'),
    );
  }

  private async indexKey(tenantId: string): Promise<Buffer> {
    const cached = this.indexKeys.get(tenantId);
    if (cached && cached.expiresAt > this.now()) return cached.key;
    const key = await this.unwrapIndexKey(tenantId, await this.state(tenantId, true));
    if (this.ttl > 0) this.indexKeys.set(tenantId, { key, expiresAt: this.now() + this.ttl });
    return key;
  }

  // Lifecycle -------------------------------------------------------------------------------------

  async status(tenantId: string): Promise<KeyringStatus> {
    const data = await this.db.withTenant(
      systemContext(tenantId),
      async (tx) => {
        const ring = await tx.query<KeyringRow>('SELECT * FROM tenant_keyrings WHERE tenant_id = current_tenant_id()');
        const keys = await tx.query<KeyRow>('SELECT * FROM tenant_keys WHERE tenant_id = current_tenant_id() ORDER BY version');
        const schedule = await tx.query<{ rotate_after: Date | null }>('SELECT rotate_after FROM key_schedule WHERE tenant = $1', [tenantId]);
        return { ring: ring.rows[0], keys: keys.rows, rotateAfter: schedule.rows[0]?.rotate_after ?? null };
      },
      { readOnly: true },
    );
    const ring = data.ring;
    return {
      exists: ring !== undefined,
      provider: ring?.byok_provider ?? this.root.kind,
      ownKey: ring?.byok_provider && ring.byok_key_ref ? { provider: ring.byok_provider, keyRef: ring.byok_key_ref } : null,
      currentVersion: ring?.current_version ?? 0,
      minDecryptVersion: ring?.min_decrypt_version ?? 0,
      versions: data.keys.map((k) => ({
        version: k.version,
        provider: k.provider,
        keyRef: k.key_ref,
        // Derived, never stored: destroyed keys have no wrapped form; retired ones sit below the minimum.
        state: k.wrapped === null ? 'destroyed' : k.version < (ring?.min_decrypt_version ?? 0) ? 'retired' : 'active',
        createdAt: k.created_at,
      })),
      rotatedAt: ring?.rotated_at ?? null,
      nextRotationAt: data.rotateAfter,
      destroyAfter: ring?.destroy_after ?? null,
      destroyedAt: ring?.destroyed_at ?? null,
    };
  }

  /**
   * Adds a tenant key version and makes it current: wrapped by the workspace's own key if it has
   * one, else by the provider's current root key. Content moves to it by rewrap; older versions
   * keep decrypting until retired. A tenant without keys gets its first.
   */
  async rotate(tenantId: string): Promise<number> {
    return this.rotateWith(tenantId, undefined);
  }

  /**
   * Rotation, optionally changing the workspace's own key in the same transaction: the new
   * version and the setting that names its wrapping key commit together or not at all.
   */
  private async rotateWith(tenantId: string, own: { provider: ProviderKind; keyRef: string } | null | undefined): Promise<number> {
    const existing = await this.loadState(tenantId);
    if (!existing && own === undefined) return (await this.state(tenantId, true)).currentVersion;
    if (!existing) await this.state(tenantId, true);
    else if (existing.destroyed) throw new RampartError('encryption_key_destroyed', { internal: `tenant ${tenantId}: keys destroyed` });
    try {
      return await this.db.withTenant(systemContext(tenantId), async (tx) => {
        const locked = (await tx.query<KeyringRow>('SELECT * FROM tenant_keyrings WHERE tenant_id = current_tenant_id() FOR UPDATE')).rows[0];
        if (!locked) throw new RampartError('internal_error', { internal: `tenant ${tenantId} has no keyring` });
        const ring: KeyringRow =
          own === undefined ? locked : { ...locked, byok_provider: own?.provider ?? null, byok_key_ref: own?.keyRef ?? null };
        if (own !== undefined) {
          await tx.query('UPDATE tenant_keyrings SET byok_provider = $1, byok_key_ref = $2 WHERE tenant_id = current_tenant_id()', [
            ring.byok_provider,
            ring.byok_key_ref,
          ]);
        }
        const version = ring.current_version + 1;
        const provider = ring.byok_provider ? this.provider(ring.byok_provider) : this.root;
        const keyRef = ring.byok_key_ref ?? (await provider.currentKeyRef());
        await this.addVersion(tx, tenantId, ring, provider, keyRef, version);
        return version;
      });
    } catch (err) {
      throw keyError(err, tenantId);
    } finally {
      this.forget(tenantId);
    }
  }

  private async addVersion(tx: Tx, tenantId: string, ring: KeyringRow, provider: KeyProvider, keyRef: string, version: number): Promise<void> {
    const state = await this.loadStateIn(tx, tenantId, ring);
    const generated = await provider.generateKey(keyRef, { tenantId, version });
    try {
      // The index key moves to the new version with the same value, so filter tokens stay valid.
      const index = await this.unwrapIndexKey(tenantId, state);
      const indexWrapped = wrapDataKey(generated.plaintext, tenantId, version, INDEX_KEY_ID, index);
      index.fill(0);
      await tx.query(`INSERT INTO tenant_keys (tenant_id, version, provider, key_ref, wrapped) VALUES (current_tenant_id(), $1, $2, $3, $4)`, [
        version,
        provider.kind,
        keyRef,
        generated.wrapped,
      ]);
      await tx.query(
        `UPDATE tenant_keyrings SET current_version = $1, index_key = $2, index_key_version = $1, rotated_at = now()
          WHERE tenant_id = current_tenant_id()`,
        [version, indexWrapped],
      );
      await this.scheduleRotation(tx, tenantId);
      await tx.query('UPDATE key_schedule SET rewrap_pending = true WHERE tenant = $1', [tenantId]);
    } finally {
      generated.plaintext.fill(0);
    }
  }

  private unwrapIndexKey(tenantId: string, state: TenantState): Promise<Buffer> {
    if (!state.indexKey || state.destroyed) throw new RampartError('encryption_key_destroyed', { internal: `tenant ${tenantId}: keys destroyed` });
    return this.openDataKey(tenantId, state, state.indexKey.version, INDEX_KEY_ID, state.indexKey.wrapped);
  }

  /** A data key (or the index key) unwrapped by its tenant key version; failures fail closed. */
  private async openDataKey(tenantId: string, state: TenantState, version: number, id: Buffer, wrapped: Buffer): Promise<Buffer> {
    const tenantKey = await this.tenantKey(tenantId, state, version);
    try {
      return unwrapDataKey(tenantKey, tenantId, version, id, wrapped);
    } catch (err) {
      throw keyError(err, tenantId);
    }
  }

  /**
   * Moves the tenant's keys that are wrapped under an older root key to the provider's current
   * one (after a root rotation). The tenant keys themselves do not change, so no content moves;
   * keys under the workspace's own key are left where the workspace put them.
   */
  async rewrapTenantKeys(tenantId: string): Promise<number> {
    const toRef = await this.root.currentKeyRef().catch((err: unknown) => Promise.reject(keyError(err, tenantId)));
    const stale = await this.db.withTenant(
      systemContext(tenantId),
      async (tx) =>
        (
          await tx.query<KeyRow>(
            `SELECT k.* FROM tenant_keys k JOIN tenant_keyrings r ON r.tenant_id = k.tenant_id
              WHERE k.tenant_id = current_tenant_id() AND k.wrapped IS NOT NULL AND k.provider = $1 AND k.key_ref <> $2
                AND (r.byok_key_ref IS NULL OR k.key_ref <> r.byok_key_ref)`,
            [this.root.kind, toRef],
          )
        ).rows,
      { readOnly: true },
    );
    let moved = 0;
    for (const key of stale) {
      if (!key.wrapped) continue;
      let wrapped: Buffer;
      try {
        wrapped = await this.root.rewrap(key.key_ref, key.wrapped, toRef, { tenantId, version: key.version });
      } catch (err) {
        throw keyError(err, tenantId);
      }
      const { rowCount } = await this.db.withTenant(systemContext(tenantId), (tx) =>
        tx.query(`UPDATE tenant_keys SET wrapped = $3, key_ref = $4 WHERE tenant_id = current_tenant_id() AND version = $1 AND key_ref = $2`, [
          key.version,
          key.key_ref,
          wrapped,
          toRef,
        ]),
      );
      moved += rowCount;
    }
    if (moved > 0) this.forget(tenantId);
    return moved;
  }

  /**
   * Points the tenant at the workspace's own key (or back at the root key with null): the key is
   * tried first, then a new tenant version is made under it. The caller rewraps and retires.
   */
  async setOwnKey(tenantId: string, own: { provider: ProviderKind; keyRef: string } | null): Promise<number> {
    if (own) {
      const provider = this.provider(own.provider);
      try {
        await provider.verify(own.keyRef);
      } catch (err) {
        if (err instanceof KeyProviderError && err.failure === 'kms_unavailable') throw keyError(err, tenantId);
        throw new RampartError('key_not_usable', { internal: err instanceof Error ? err.message : 'verify failed', cause: err });
      }
    }
    return this.rotateWith(tenantId, own);
  }

  /** How many rows of each encrypted table sit under each key version (0: stored plain). */
  async rowsByVersion(tenantId: string): Promise<Map<number, Record<EncryptedTable, number>>> {
    const rows = await this.db.withTenant(
      systemContext(tenantId),
      async (tx) =>
        (
          await tx.query<{ t: EncryptedTable; v: number; n: string }>(
            ENCRYPTED_TABLES.map(
              (t) => `SELECT '${t}' AS t, key_version AS v, count(*)::text AS n FROM ${t} WHERE tenant_id = current_tenant_id() GROUP BY key_version`,
            ).join(' UNION ALL '),
          )
        ).rows,
      { readOnly: true },
    );
    const out = new Map<number, Record<EncryptedTable, number>>();
    for (const r of rows) {
      const entry = out.get(r.v) ?? { records: 0, documents: 0, secrets: 0 };
      entry[r.t] = Number(r.n);
      out.set(r.v, entry);
    }
    return out;
  }

  /** Rows still under versions below `version`, all tables together. */
  async remainingBelow(tenantId: string, version: number): Promise<number> {
    return rowsBelow(await this.rowsByVersion(tenantId), version);
  }

  /**
   * Stops versions below `minVersion` from decrypting. Refused while any row is still under
   * them: retirement follows a rewrap that reports zero rows left, never precedes it.
   */
  async retire(tenantId: string, minVersion: number): Promise<void> {
    try {
      await this.db.withTenant(systemContext(tenantId), async (tx) => {
        // Exclusive on the tenant's key-version lock, which every write of content shares (the
        // trigger of migration 0012): writes already made have committed before the count below,
        // and writes after it see the new minimum (and are refused below it).
        await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('rampart.key_versions:' || current_tenant_id()::text, 0))`);
        const ring = (await tx.query<KeyringRow>('SELECT * FROM tenant_keyrings WHERE tenant_id = current_tenant_id() FOR UPDATE')).rows[0];
        if (!ring) throw new RampartError('conflict', { message: 'This workspace has no keys yet.' });
        if (minVersion > ring.current_version || minVersion < 1) {
          throw new RampartError('validation_failed', {
            details: { issues: [{ path: 'minVersion', message: `must be between 1 and the current version ${ring.current_version}` }] },
          });
        }
        // A process that read the tenant's keys before version minVersion was made may still seal
        // under an older version until its cache expires; only after that is a count of zero
        // final. Every process's cache counts, not only this one's: the longest is in key_caches.
        const { rows } = await tx.query<{ created_at: Date; cache_seconds: number }>(
          `SELECT k.created_at, c.max_cache_seconds AS cache_seconds FROM tenant_keys k, key_caches c
            WHERE k.tenant_id = current_tenant_id() AND k.version = $1`,
          [minVersion],
        );
        const made = rows[0];
        const settledAt = (made?.created_at.getTime() ?? 0) + Math.max(this.ttl, (made?.cache_seconds ?? 0) * 1000);
        if (minVersion > ring.min_decrypt_version && settledAt > this.now()) {
          throw new RampartError('key_version_in_use', {
            message: `Key version ${minVersion} is too recent to retire the versions below it: caches may still write under them.`,
            details: { retryAfterSeconds: Math.ceil((settledAt - this.now()) / 1000) },
          });
        }
        const remaining: Record<string, number> = {};
        let total = 0;
        for (const table of ENCRYPTED_TABLES) {
          const { rows } = await tx.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM ${table} WHERE tenant_id = current_tenant_id() AND key_version < $1`,
            [minVersion],
          );
          remaining[table] = Number(rows[0]?.n ?? 0);
          total += remaining[table];
        }
        if (total > 0) throw new RampartError('key_version_in_use', { details: { remaining } });
        // No row is below minVersion (≥ 1), so none is plain: from now on a plain row is a forgery.
        await tx.query(
          'UPDATE tenant_keyrings SET min_decrypt_version = GREATEST(min_decrypt_version, $1), plain_allowed = false WHERE tenant_id = current_tenant_id()',
          [minVersion],
        );
      });
    } finally {
      this.forget(tenantId);
    }
  }

  /** Called when the workspace is deleted: its keys are destroyed after the grace period. */
  async scheduleDestruction(tenantId: string): Promise<Date> {
    const at = new Date(this.now() + this.options.destructionGraceDays * DAY_MS);
    await this.db.withTenant(systemContext(tenantId), async (tx) => {
      await tx.query('UPDATE tenant_keyrings SET destroy_after = $1 WHERE tenant_id = current_tenant_id() AND destroyed_at IS NULL', [at]);
      await tx.query(
        `INSERT INTO key_schedule (tenant, destroy_after, rotate_after) VALUES ($1, $2, NULL)
         ON CONFLICT (tenant) DO UPDATE SET destroy_after = EXCLUDED.destroy_after, rotate_after = NULL, rewrap_pending = false`,
        [tenantId, at],
      );
    });
    return at;
  }

  /**
   * Crypto-shredding: records the destruction outside the database first (so no restore brings
   * the key back, even if what follows fails), then erases every wrapped key of the tenant.
   */
  async destroy(tenantId: string): Promise<void> {
    const at = new Date(this.now());
    this.register.record(tenantId, at);
    this.forget(tenantId);
    await this.db.withTenant(systemContext(tenantId), async (tx) => {
      await tx.query(
        `UPDATE tenant_keys SET wrapped = NULL, destroyed_at = $1 WHERE tenant_id = current_tenant_id() AND wrapped IS NOT NULL`,
        [at],
      );
      await tx.query('UPDATE tenant_keyrings SET index_key = NULL, destroyed_at = $1 WHERE tenant_id = current_tenant_id() AND destroyed_at IS NULL', [at]);
      await tx.query('DELETE FROM key_schedule WHERE tenant = $1', [tenantId]);
    });
  }

  /** Tenants with work due: rotation (their keys are older than the period) and destruction. */
  async due(limit = 100): Promise<{ rotate: string[]; rewrap: string[]; destroy: string[] }> {
    return this.db.withGlobal(
      async (tx) => {
        const now = new Date(this.now());
        const rotate = await tx.query<{ tenant: string }>(
          'SELECT tenant FROM key_schedule WHERE rotate_after <= $1 ORDER BY rotate_after LIMIT $2',
          [now, limit],
        );
        const rewrap = await tx.query<{ tenant: string }>('SELECT tenant FROM key_schedule WHERE rewrap_pending LIMIT $1', [limit]);
        const destroy = await tx.query<{ tenant: string }>(
          'SELECT tenant FROM key_schedule WHERE destroy_after <= $1 ORDER BY destroy_after LIMIT $2',
          [now, limit],
        );
        return { rotate: rotate.rows.map((r) => r.tenant), rewrap: rewrap.rows.map((r) => r.tenant), destroy: destroy.rows.map((r) => r.tenant) };
      },
      { readOnly: true },
    );
  }

  /**
   * Claims a due rotation so that one instance does it. The claim is a lease: a rotation that
   * fails is due again in an hour; one that succeeds sets the next date itself.
   */
  async claimRotation(tenantId: string): Promise<boolean> {
    const now = this.now();
    const { rowCount } = await this.db.withGlobal((tx) =>
      tx.query('UPDATE key_schedule SET rotate_after = $3 WHERE tenant = $1 AND rotate_after <= $2', [tenantId, new Date(now), new Date(now + 3_600_000)]),
    );
    return rowCount === 1;
  }

  async markRewrapped(tenantId: string): Promise<void> {
    await this.db.withGlobal((tx) => tx.query('UPDATE key_schedule SET rewrap_pending = false WHERE tenant = $1', [tenantId]));
  }

  /** Every tenant with keys or waiting for its first (for `--all-tenants`). */
  async tenants(): Promise<string[]> {
    const { rows } = await this.db.withGlobal((tx) => tx.query<{ tenant: string }>('SELECT tenant FROM key_schedule ORDER BY tenant'), {
      readOnly: true,
    });
    return rows.map((r) => r.tenant);
  }

  async close(): Promise<void> {
    for (const map of [this.tenantKeys, this.readKeys, this.indexKeys]) {
      for (const v of map.values()) v.key.fill(0);
      map.clear();
    }
    this.writeKeys.clear();
    this.states.clear();
    const closed = new Set<KeyProvider>([this.root, ...this.providers.values()]);
    for (const p of closed) await p.close();
  }
}

/** The rows of a `rowsByVersion` count that sit under versions below `version`. */
export function rowsBelow(byVersion: ReadonlyMap<number, Record<EncryptedTable, number>>, version: number): number {
  let total = 0;
  for (const [v, counts] of byVersion) if (v < version) total += counts.records + counts.documents + counts.secrets;
  return total;
}

/** Tables whose rows carry `key_version`: what rewrap and retirement look at. */
export const ENCRYPTED_TABLES = ['records', 'documents', 'secrets'] as const;
export type EncryptedTable = (typeof ENCRYPTED_TABLES)[number];
