-- SCIM 2.0 provisioning (RFC 7643/7644): per-workspace bearer tokens, the users and groups a
-- customer's directory keeps here, and group members. Tenant tables follow the rules of
-- 0001_foundation.sql (RLS enabled and forced, tenant_id leading every key). The SCIM token acts
-- in audit events as an actor of its own kind, `scim_token`.

-- A workspace's SCIM bearer tokens (rscim_<tenant><random>): shown once, only the SHA-256 kept,
-- with a display prefix. Rotation: create a new one, then revoke the old (a few live at once).
CREATE TABLE scim_tokens (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  display_prefix text NOT NULL CHECK (display_prefix ~ '^rscim_[A-Za-z0-9_-]{26}$'),
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX scim_tokens_hash_key ON scim_tokens (tenant_id, token_hash);

-- A user the directory provisioned: the SCIM resource, and the Rampart account it stands for.
-- userName is unique per workspace case-insensitively (RFC 7643: caseExact false). The index is on
-- a stored lower-cased copy, not on lower(user_name): under row-level security the planner only
-- uses an index condition whose functions of the row are leakproof, and lower() is not, so
-- `filter=userName eq "…"` compares user_name_ci = lower($1), an index scan. version is the ETag
-- (W/"<version>").
CREATE TABLE scim_users (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  external_id text CHECK (length(external_id) BETWEEN 1 AND 512),
  user_name text NOT NULL CHECK (length(user_name) BETWEEN 1 AND 254),
  user_name_ci text NOT NULL GENERATED ALWAYS AS (lower(user_name)) STORED,
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  active boolean NOT NULL DEFAULT true,
  display_name text CHECK (length(display_name) <= 256),
  given_name text CHECK (length(given_name) <= 256),
  family_name text CHECK (length(family_name) <= 256),
  formatted_name text CHECK (length(formatted_name) <= 512),
  -- [{ "value", "type", "primary" }], at most 20, validated by the service.
  emails jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(emails) = 'array' AND jsonb_array_length(emails) <= 20),
  -- The enterprise extension's attributes as given (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User).
  enterprise jsonb CHECK (enterprise IS NULL OR jsonb_typeof(enterprise) = 'object'),
  version integer NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX scim_users_user_name_key ON scim_users (tenant_id, user_name_ci);
CREATE UNIQUE INDEX scim_users_account_key ON scim_users (tenant_id, account_id);
CREATE INDEX scim_users_external_id_idx ON scim_users (tenant_id, external_id);

-- A directory group. Its lower-cased displayName and externalId are the keys that
-- directory_group_roles maps to roles. displayName is unique case-insensitively (stored copy, as above).
CREATE TABLE scim_groups (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  external_id text CHECK (length(external_id) BETWEEN 1 AND 256),
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
  display_name_ci text NOT NULL GENERATED ALWAYS AS (lower(display_name)) STORED,
  version integer NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX scim_groups_display_name_key ON scim_groups (tenant_id, display_name_ci);
CREATE INDEX scim_groups_external_id_idx ON scim_groups (tenant_id, external_id);

CREATE TABLE scim_group_members (
  tenant_id uuid NOT NULL,
  group_id uuid NOT NULL,
  user_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, group_id, user_id),
  FOREIGN KEY (tenant_id, group_id) REFERENCES scim_groups (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, user_id) REFERENCES scim_users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX scim_group_members_user_idx ON scim_group_members (tenant_id, user_id);

ALTER TABLE scim_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE scim_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE scim_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE scim_users FORCE ROW LEVEL SECURITY;
ALTER TABLE scim_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE scim_groups FORCE ROW LEVEL SECURITY;
ALTER TABLE scim_group_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE scim_group_members FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON scim_tokens FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON scim_users FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON scim_groups FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON scim_group_members FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON scim_tokens, scim_users, scim_groups, scim_group_members TO rampart_app;

-- A SCIM token is an actor of the audit log: its events name it (actor.type = 'scim_token').
ALTER TABLE audit_queue DROP CONSTRAINT audit_queue_actor_type_check;
ALTER TABLE audit_queue ADD CONSTRAINT audit_queue_actor_type_check
  CHECK (actor_type IN ('account', 'api_key', 'staff', 'system', 'anonymous', 'scim_token'));
ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_type_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_type_check
  CHECK (actor_type IN ('account', 'api_key', 'staff', 'system', 'anonymous', 'scim_token'));
