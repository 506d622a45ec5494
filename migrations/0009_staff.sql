-- Staff access: the operator's staff realm (staff members, their one-time setup links, their
-- sessions and authenticator apps), apart from customer accounts; and their access to a
-- workspace's data, which exists only as a request the workspace approved (or a break-glass
-- opening), time-boxed. See docs/staff-access.md.

-- ---------------------------------------------------------------------------------------------
-- Global tables (no tenant): the staff realm belongs to the operator, not to any workspace.

-- Staff members are never deleted: disabling one ends their sessions and keeps the record that
-- the audit chain and the workspaces' access logs refer to.
CREATE TABLE staff_members (
  id uuid PRIMARY KEY,
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role text NOT NULL CHECK (role IN ('support', 'engineer', 'security', 'staff-admin')),
  -- argon2id; null until the setup link is used (and again after a reset).
  password_hash text,
  -- The staff-admin who added the member; null when added with the CLI.
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);
CREATE UNIQUE INDEX staff_members_email_key ON staff_members (email);

-- One live setup link per member (adding or resetting a member replaces it). Only the SHA-256
-- of the token is stored; using it deletes the row.
CREATE TABLE staff_setup_tokens (
  staff_id uuid PRIMARY KEY REFERENCES staff_members (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX staff_setup_tokens_token_hash_key ON staff_setup_tokens (token_hash);

-- Staff sessions: like customer sessions (opaque token stored as SHA-256, absolute expiry, idle
-- timeout), and mfa_at stays null until the session proves a TOTP code — until then it can only
-- enrol or prove one.
CREATE TABLE staff_sessions (
  id uuid PRIMARY KEY,
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  staff_id uuid NOT NULL REFERENCES staff_members (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('cookie', 'bearer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  mfa_at timestamptz,
  revoked_at timestamptz,
  ip text,
  user_agent text CHECK (length(user_agent) <= 512)
);
CREATE UNIQUE INDEX staff_sessions_token_hash_key ON staff_sessions (token_hash);
CREATE INDEX staff_sessions_staff_idx ON staff_sessions (staff_id);

-- A staff member's authenticator app: AES-256-GCM ciphertext bound to the staff id (key derived
-- from the root secret), confirmed by a first code; each 30-second step works once.
CREATE TABLE staff_totp_factors (
  staff_id uuid PRIMARY KEY REFERENCES staff_members (id) ON DELETE CASCADE,
  secret_ciphertext bytea NOT NULL CHECK (length(secret_ciphertext) BETWEEN 29 AND 256),
  confirmed_at timestamptz,
  last_used_step bigint NOT NULL DEFAULT 0 CHECK (last_used_step >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- Access requests and grants: tenant rows, so the workspace reads and decides them under its own
-- row-level security. A request names the scope, why (a code, free text, a ticket) and for how
-- long; approval turns it into a grant (grant_id, expiring duration_minutes after approval).
-- Expiry is a time, not a state change: a request is "expired" when it is approved and past
-- expires_at, or pending and past pending_until.

CREATE TABLE staff_access_requests (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  staff_id uuid NOT NULL REFERENCES staff_members (id),
  -- Who asked, as the workspace sees them (kept as they were when asking).
  staff_name text NOT NULL CHECK (length(staff_name) BETWEEN 1 AND 200),
  staff_role text NOT NULL CHECK (staff_role IN ('support', 'engineer', 'security', 'staff-admin')),
  scope text NOT NULL CHECK (scope IN ('records:read', 'documents:read')),
  justification text NOT NULL
    CHECK (justification IN ('customer-initiated-support', 'incident-response', 'legal-request', 'security-investigation')),
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  ticket text CHECK (length(ticket) BETWEEN 1 AND 200),
  duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 480),
  break_glass boolean NOT NULL DEFAULT false,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'revoked', 'cancelled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  pending_until timestamptz NOT NULL,
  decided_at timestamptz,
  -- The account that approved or denied; null for break-glass and for cancellation.
  decided_by uuid,
  decision_note text CHECK (length(decision_note) <= 2000),
  grant_id uuid,
  granted_at timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz,
  revoked_by uuid,
  PRIMARY KEY (tenant_id, id),
  CHECK (NOT break_glass OR duration_minutes <= 60),
  CHECK (break_glass OR ticket IS NOT NULL),
  CHECK ((grant_id IS NULL) = (granted_at IS NULL) AND (grant_id IS NULL) = (expires_at IS NULL)),
  CHECK ((status IN ('approved', 'revoked')) = (grant_id IS NOT NULL)),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE UNIQUE INDEX staff_access_requests_grant_key ON staff_access_requests (tenant_id, grant_id);
CREATE INDEX staff_access_requests_created_idx ON staff_access_requests (tenant_id, created_at DESC, id DESC);

ALTER TABLE staff_access_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff_access_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON staff_access_requests FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());

-- Where a staff member's requests and grants are, without any of their content: the staff side
-- lists its own requests across workspaces (then reads each in that workspace's tenant
-- transaction), and finds a grant's workspace from the grant id. Global, so it names the
-- workspace as workspace_id, never tenant_id. Rows of a deleted workspace are removed with it.
CREATE TABLE staff_access_index (
  request_id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL,
  staff_id uuid NOT NULL REFERENCES staff_members (id),
  grant_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX staff_access_index_grant_key ON staff_access_index (grant_id);
CREATE INDEX staff_access_index_staff_idx ON staff_access_index (staff_id, created_at DESC, request_id DESC);
CREATE INDEX staff_access_index_workspace_idx ON staff_access_index (workspace_id);

-- Members are disabled, never deleted; requests are decided, never deleted (a deleted workspace
-- takes its own with it, by the foreign key's cascade).
GRANT SELECT, INSERT, UPDATE ON staff_members, staff_sessions, staff_access_requests TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON staff_setup_tokens, staff_totp_factors, staff_access_index TO rampart_app;
