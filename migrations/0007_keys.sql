-- Keys and encryption: per-tenant key hierarchy, encrypted content, the secrets vault.
--
-- A tenant key (256 bits) exists in the database only wrapped by a root key of the KMS provider
-- (or by the workspace's own key). Tenant keys wrap data keys; data keys encrypt content. Each
-- encrypted row records the tenant key version its data key is wrapped under, so rewrap finds
-- what is left on old versions with an index scan.
--
-- Keys deliberately do not reference workspaces: after a workspace is deleted its keys wait out
-- the grace period (a restore from backup still opens) and are then destroyed.

CREATE TABLE tenant_keys (
  tenant_id uuid NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  provider text NOT NULL CHECK (provider IN ('local', 'pkcs11', 'aws-kms')),
  key_ref text NOT NULL CHECK (length(key_ref) BETWEEN 1 AND 2048),
  -- NULL once destroyed. A version is retired when it is below its keyring's min_decrypt_version.
  wrapped bytea CHECK (length(wrapped) BETWEEN 16 AND 4096),
  created_at timestamptz NOT NULL DEFAULT now(),
  destroyed_at timestamptz,
  PRIMARY KEY (tenant_id, version),
  CHECK ((destroyed_at IS NULL) = (wrapped IS NOT NULL))
);

-- One per tenant: which version encrypts, the oldest that may still decrypt, the workspace's own
-- key if it brought one, and the blind-index key for record filters (wrapped by the current
-- tenant key; it never changes, so filter tokens survive rotation).
CREATE TABLE tenant_keyrings (
  tenant_id uuid NOT NULL PRIMARY KEY,
  current_version integer NOT NULL,
  min_decrypt_version integer NOT NULL DEFAULT 1,
  byok_provider text CHECK (byok_provider IN ('local', 'pkcs11', 'aws-kms')),
  byok_key_ref text CHECK (length(byok_key_ref) BETWEEN 1 AND 2048),
  index_key bytea CHECK (length(index_key) BETWEEN 16 AND 4096),
  index_key_version integer NOT NULL,
  -- Whether rows stored plain (from before encryption) may still be read: true only for a tenant
  -- that had such rows when its keys were made, until its first retirement. Otherwise a plain
  -- row is a forgery by someone who can write to the database, and is refused.
  plain_allowed boolean NOT NULL DEFAULT false,
  rotated_at timestamptz NOT NULL DEFAULT now(),
  destroy_after timestamptz,
  destroyed_at timestamptz,
  CHECK (min_decrypt_version <= current_version),
  CHECK ((byok_provider IS NULL) = (byok_key_ref IS NULL)),
  CHECK ((destroyed_at IS NULL) = (index_key IS NOT NULL)),
  FOREIGN KEY (tenant_id, current_version) REFERENCES tenant_keys (tenant_id, version) DEFERRABLE INITIALLY DEFERRED
);

ALTER TABLE tenant_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE tenant_keyrings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_keyrings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_keys FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON tenant_keyrings FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
-- Key rows are never deleted by the app: destruction empties them and keeps the record.
GRANT SELECT, INSERT, UPDATE ON tenant_keys, tenant_keyrings TO rampart_app;

-- When each tenant's keys are next due for work (rotation, destruction). Global, so the
-- scheduler finds due tenants without reading any tenant's rows; it holds no key material and
-- no content, only tenant ids and times.
CREATE TABLE key_schedule (
  tenant uuid PRIMARY KEY,
  rotate_after timestamptz,
  destroy_after timestamptz,
  rewrap_pending boolean NOT NULL DEFAULT false
);
CREATE INDEX key_schedule_rotate_idx ON key_schedule (rotate_after) WHERE rotate_after IS NOT NULL;
CREATE INDEX key_schedule_destroy_idx ON key_schedule (destroy_after) WHERE destroy_after IS NOT NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON key_schedule TO rampart_app;

-- Existing workspaces get their first key at the scheduler's first pass, which then encrypts
-- their plain rows (format 0, key version 0). Row-level security is forced on workspaces even
-- for its owner, and no tenant is set here, so the owner lifts it for this one read, inside this
-- migration's transaction (a superuser would see the rows anyway).
ALTER TABLE workspaces NO FORCE ROW LEVEL SECURITY;
INSERT INTO key_schedule (tenant, rotate_after, rewrap_pending) SELECT tenant_id, now(), true FROM workspaces;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;

-- Encrypted content records the tenant key version under which its data key is wrapped
-- (0: stored plain, from before encryption).
ALTER TABLE records ADD COLUMN key_version integer NOT NULL DEFAULT 0;
-- (tenant_id, key_version, id): rewrap reads each batch in this order, straight off the index.
CREATE INDEX records_key_version_idx ON records (tenant_id, key_version, id);
ALTER TABLE documents ADD COLUMN key_version integer NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN content_key bytea CHECK (length(content_key) BETWEEN 16 AND 4096);
CREATE INDEX documents_key_version_idx ON documents (tenant_id, key_version, id);

-- The secrets vault: integration credentials under tenants/<tenant>/integrations/<integration>/<name>.
-- Values are encrypted like record bodies; the public API never returns them.
CREATE TABLE secrets (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  integration text NOT NULL CHECK (integration ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
  name text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}(/[a-z0-9][a-z0-9_.-]{0,62}){0,3}$'),
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  value bytea NOT NULL,
  value_format smallint NOT NULL,
  key_version integer NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_by uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, integration, name)
);
CREATE INDEX secrets_key_version_idx ON secrets (tenant_id, key_version, id);
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON secrets FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON secrets TO rampart_app;
