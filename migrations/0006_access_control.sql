-- Workspace access control: roles made of permission scopes, members holding several roles,
-- invitations, API keys, and the workspace's events. All tenant tables (the rules in
-- 0001_foundation.sql apply: RLS enabled and forced, tenant_id leading every key).

-- Roles. A built-in role (owner, admin, member) has one row per workspace so members can
-- reference it; its scopes are defined in code (src/platform/http/scopes.ts) and its stored
-- scopes stay empty. A custom role's scopes are stored here.
CREATE TABLE roles (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  builtin text CHECK (builtin IN ('owner', 'admin', 'member')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  scopes text[] NOT NULL DEFAULT '{}' CHECK (cardinality(scopes) <= 64),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, builtin),
  CHECK (builtin IS NULL OR cardinality(scopes) = 0)
);
CREATE UNIQUE INDEX roles_name_key ON roles (tenant_id, lower(name));

-- The roles each member holds (at least one, kept so by the service).
CREATE TABLE member_roles (
  tenant_id uuid NOT NULL,
  account_id uuid NOT NULL,
  role_id uuid NOT NULL,
  granted_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, account_id, role_id),
  FOREIGN KEY (tenant_id, account_id) REFERENCES memberships (tenant_id, account_id) ON DELETE CASCADE,
  -- NO ACTION: a role still held cannot be deleted (the service says role_in_use first); when a
  -- whole workspace is deleted the memberships' cascade has removed these rows by statement end.
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id)
);
CREATE INDEX member_roles_role_idx ON member_roles (tenant_id, role_id);

-- Each membership carries its grants, as the authenticating statement reads them: `role:<builtin>`
-- for each built-in role held, and the scopes of each custom role. Kept by triggers in the
-- transaction that changes a member's roles or a role's scopes, so no write path can leave them
-- stale, and so authenticating a request reads one row instead of joining roles (decision 0012).
ALTER TABLE memberships ADD COLUMN grants text[] NOT NULL DEFAULT '{}';

CREATE FUNCTION refresh_member_grants(p_tenant uuid, p_account uuid) RETURNS void
  LANGUAGE sql SECURITY INVOKER
  AS $$
    UPDATE memberships m
       SET grants = coalesce((
             SELECT array_agg(DISTINCT g ORDER BY g)
               FROM member_roles mr
               JOIN roles r ON r.tenant_id = mr.tenant_id AND r.id = mr.role_id
              CROSS JOIN LATERAL unnest(CASE WHEN r.builtin IS NULL THEN r.scopes ELSE ARRAY['role:' || r.builtin] END) AS g
              WHERE mr.tenant_id = p_tenant AND mr.account_id = p_account), '{}')
     WHERE m.tenant_id = p_tenant AND m.account_id = p_account
  $$;

CREATE FUNCTION member_roles_changed() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  AS $$
  BEGIN
    IF TG_OP = 'DELETE' THEN
      PERFORM refresh_member_grants(OLD.tenant_id, OLD.account_id);
    ELSE
      PERFORM refresh_member_grants(NEW.tenant_id, NEW.account_id);
    END IF;
    RETURN NULL;
  END
  $$;

CREATE FUNCTION role_scopes_changed() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  AS $$
  BEGIN
    PERFORM refresh_member_grants(mr.tenant_id, mr.account_id)
       FROM member_roles mr WHERE mr.tenant_id = NEW.tenant_id AND mr.role_id = NEW.id;
    RETURN NULL;
  END
  $$;

CREATE TRIGGER member_roles_grants AFTER INSERT OR DELETE ON member_roles
  FOR EACH ROW EXECUTE FUNCTION member_roles_changed();
CREATE TRIGGER roles_grants AFTER UPDATE OF scopes, builtin ON roles
  FOR EACH ROW EXECUTE FUNCTION role_scopes_changed();

GRANT EXECUTE ON FUNCTION refresh_member_grants(uuid, uuid), member_roles_changed(), role_scopes_changed() TO rampart_app;

-- Existing workspaces get their built-in roles, and each membership its role.
INSERT INTO roles (tenant_id, id, builtin, name)
SELECT w.tenant_id, gen_random_uuid(), b.builtin, initcap(b.builtin)
  FROM workspaces w CROSS JOIN (VALUES ('owner'), ('admin'), ('member')) AS b (builtin);
INSERT INTO member_roles (tenant_id, account_id, role_id)
SELECT m.tenant_id, m.account_id, r.id
  FROM memberships m JOIN roles r ON r.tenant_id = m.tenant_id AND r.builtin = m.role;
ALTER TABLE memberships DROP COLUMN role;

-- Invitations by email with one role. The token is 256 random bits behind the workspace id;
-- only its SHA-256 is stored. Pending = not accepted, not revoked (expiry is checked on use).
CREATE TABLE invitations (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  role_id uuid NOT NULL,
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  invited_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz NOT NULL DEFAULT now(),
  send_count integer NOT NULL DEFAULT 1 CHECK (send_count BETWEEN 1 AND 1000),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  -- A role with pending invitations is not deleted (the service says role_in_use); accepted and
  -- revoked ones go with it (the workspace's events keep their history).
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
  CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX invitations_token_key ON invitations (tenant_id, token_hash);
CREATE UNIQUE INDEX invitations_pending_email_key ON invitations (tenant_id, email)
  WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- API keys. The secret (rk_live_…) is shown once; only its SHA-256 is stored, with a short
-- display prefix. A key acts with its own scopes, never more than its creator holds now.
CREATE TABLE api_keys (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  display_prefix text NOT NULL CHECK (display_prefix ~ '^rk_live_[0-9A-Za-z]{4}$'),
  secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
  scopes text[] NOT NULL CHECK (cardinality(scopes) BETWEEN 1 AND 64),
  created_by uuid NOT NULL,
  created_by_key uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by uuid,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_keys_secret_key ON api_keys (tenant_id, secret_hash);
CREATE INDEX api_keys_creator_idx ON api_keys (tenant_id, created_by);

-- The workspace's events: every change to roles, members, invitations and keys, and every
-- refusal (403). Append-only for the app role (SELECT and INSERT only). The actor is an account,
-- an API key, or the system.
CREATE TABLE workspace_events (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('account', 'api_key', 'system')),
  actor_id uuid,
  action text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  target_type text CHECK (target_type ~ '^[a-z][a-z_]{0,31}$'),
  target_id text CHECK (length(target_id) <= 200),
  ip text,
  user_agent text CHECK (length(user_agent) <= 512),
  request_id text,
  details jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX workspace_events_time_idx ON workspace_events (tenant_id, created_at);

ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
ALTER TABLE member_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_roles FORCE ROW LEVEL SECURITY;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE workspace_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_events FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON roles FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON member_roles FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON invitations FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON api_keys FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON workspace_events FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());

-- "My workspaces" lists each with my roles: an account reads its own role grants and the roles
-- they point to, nothing else.
CREATE POLICY own_member_roles_read ON member_roles FOR SELECT
  USING (account_id = current_account_id());
CREATE POLICY own_roles_read ON roles FOR SELECT
  USING (EXISTS (SELECT 1 FROM member_roles mr
                 WHERE mr.tenant_id = roles.tenant_id AND mr.role_id = roles.id AND mr.account_id = current_account_id()));

GRANT SELECT, INSERT, UPDATE, DELETE ON roles, member_roles, invitations, api_keys TO rampart_app;
GRANT SELECT, INSERT ON workspace_events TO rampart_app;
