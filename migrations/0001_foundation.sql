-- Foundation: the application role, tenant-isolation helpers, accounts and sessions,
-- workspaces and memberships, and the customer data store (collections, records, documents).
--
-- Rules every migration keeps (checked by test/catalog-audit.test.ts):
--   * every table with tenant_id has row-level security ENABLEd and FORCEd, and the policy
--     tenant_isolation FOR ALL with USING and WITH CHECK on tenant_id = current_tenant_id();
--   * tenant_id leads every primary key and every foreign key between tenant tables;
--   * views are security_invoker; no SECURITY DEFINER functions;
--   * the app role is NOSUPERUSER NOBYPASSRLS and owns nothing.
-- The runner has already set search_path to the rampart schema.

-- The app role. Roles are cluster-wide: tolerate a concurrent migrator creating it first.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_app') THEN
    BEGIN
      CREATE ROLE rampart_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_app' AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role rampart_app exists with SUPERUSER or BYPASSRLS; row-level security would not bind it';
  END IF;
END
$$;

GRANT USAGE ON SCHEMA rampart TO rampart_app;
GRANT SELECT ON schema_migrations TO rampart_app;

-- The tenant and account of the current transaction, set by set_config(..., true).
-- Plain SQL, STABLE, SECURITY INVOKER: inlined by the planner, so policies use indexes.
CREATE FUNCTION current_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('rampart.tenant_id', true), '')::uuid $$;

CREATE FUNCTION current_account_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('rampart.account_id', true), '')::uuid $$;

GRANT EXECUTE ON FUNCTION current_tenant_id(), current_account_id() TO rampart_app;

-- ---------------------------------------------------------------------------------------------
-- Global tables (no tenant): accounts and their sessions, and the one-time setup link.

CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  name text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
  password_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email);

CREATE TABLE sessions (
  id uuid PRIMARY KEY,
  -- SHA-256 of the opaque token; the token itself is never stored.
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('cookie', 'bearer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  ip text,
  user_agent text CHECK (length(user_agent) <= 512)
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_account_idx ON sessions (account_id);

CREATE TABLE setup_tokens (
  id smallint PRIMARY KEY CHECK (id = 1),
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  expires_at timestamptz NOT NULL
);

GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, sessions, setup_tokens TO rampart_app;

-- ---------------------------------------------------------------------------------------------
-- Tenant tables. A workspace is a tenant: its primary key is the tenant id.

CREATE TABLE workspaces (
  tenant_id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  region text NOT NULL CHECK (region ~ '^[a-z][a-z0-9-]{0,31}$'),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, account_id)
);
CREATE INDEX memberships_account_idx ON memberships (account_id, tenant_id);

CREATE TABLE collections (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

-- Record bodies are stored through a content codec: body_format names the encoding
-- (0 = plain UTF-8 JSON). Filtering works on filter_tokens, one keyed digest per top-level
-- scalar field, so it keeps working when bodies are encrypted.
CREATE TABLE records (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  collection_id uuid NOT NULL,
  body bytea NOT NULL,
  body_format smallint NOT NULL,
  filter_tokens text[] NOT NULL DEFAULT '{}',
  version integer NOT NULL DEFAULT 1 CHECK (version > 0),
  created_by uuid,
  updated_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX records_collection_idx ON records (tenant_id, collection_id, id);
-- A collection belongs to one tenant: without this the planner multiplies the two selectivities,
-- expects a handful of rows per (tenant, collection) and sorts instead of walking the index.
CREATE STATISTICS records_tenant_collection_stats (dependencies) ON tenant_id, collection_id FROM records;
CREATE INDEX records_filter_idx ON records USING gin (filter_tokens);

-- Document contents live in object storage under <region>/<tenant_id>/<id>; this is the index.
CREATE TABLE documents (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  content_type text NOT NULL CHECK (length(content_type) <= 255),
  size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
  sha256 bytea NOT NULL CHECK (length(sha256) = 32),
  content_format smallint NOT NULL,
  region text NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- Row-level security: every tenant table, ENABLE and FORCE (FORCE binds the owner too).
ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
ALTER TABLE collections ENABLE ROW LEVEL SECURITY;
ALTER TABLE collections FORCE ROW LEVEL SECURITY;
ALTER TABLE records ENABLE ROW LEVEL SECURITY;
ALTER TABLE records FORCE ROW LEVEL SECURITY;
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON workspaces FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON memberships FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON collections FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON records FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON documents FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());

-- Read-only policies for the signed-in account, so "my workspaces" can be listed without a
-- tenant: an account sees its own memberships and the workspaces they point to, nothing else.
CREATE POLICY own_membership_read ON memberships FOR SELECT
  USING (account_id = current_account_id());
CREATE POLICY member_workspace_read ON workspaces FOR SELECT
  USING (EXISTS (SELECT 1 FROM memberships m
                 WHERE m.tenant_id = workspaces.tenant_id AND m.account_id = current_account_id()));

GRANT SELECT, INSERT, UPDATE, DELETE ON workspaces, memberships, collections, records, documents TO rampart_app;
