-- Identity: verified email addresses, email links (verification, sign-in, reset), idle and
-- absolute session timeouts, sign-ins waiting for a second factor, the workspace's MFA
-- requirement, and the authentication event log.
-- Global tables (no tenant_id): they belong to accounts, which span workspaces.

ALTER TABLE accounts
  ADD COLUMN email_verified_at timestamptz,
  ADD COLUMN password_changed_at timestamptz;

-- last_seen_at drives the idle timeout (refreshed at most once a minute per session);
-- mfa_at says when, if ever, this session proved a second factor; auth_method is how it began.
ALTER TABLE sessions
  ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN auth_method text NOT NULL DEFAULT 'password'
    CHECK (auth_method IN ('setup', 'password', 'email_link', 'oidc', 'passkey')),
  ADD COLUMN mfa_at timestamptz,
  ADD COLUMN rotated_at timestamptz;

-- Single-use email links. Only the SHA-256 of the token is stored; binding_hash is the SHA-256
-- of a random value held in the asking browser's cookie, when a browser asked.
CREATE TABLE email_tokens (
  id uuid PRIMARY KEY,
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'magic_link', 'password_reset')),
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  email text NOT NULL,
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  binding_hash bytea CHECK (length(binding_hash) = 32),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX email_tokens_token_hash_key ON email_tokens (token_hash);
CREATE INDEX email_tokens_account_idx ON email_tokens (account_id, purpose);

-- A sign-in whose first factor passed and which waits for the second. The token (hashed here)
-- goes back to the client; the session is issued only when a second factor verifies.
CREATE TABLE pending_sign_ins (
  id uuid PRIMARY KEY,
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('cookie', 'bearer')),
  method text NOT NULL CHECK (method IN ('password', 'email_link', 'oidc')),
  webauthn_challenge text CHECK (length(webauthn_challenge) <= 256),
  failures smallint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pending_sign_ins_token_hash_key ON pending_sign_ins (token_hash);
CREATE INDEX pending_sign_ins_account_idx ON pending_sign_ins (account_id);

ALTER TABLE workspaces ADD COLUMN require_mfa boolean NOT NULL DEFAULT false;

-- Authentication events: append-only for the app (SELECT and INSERT only). No foreign key: the
-- record of what happened outlives the account.
CREATE TABLE auth_events (
  id uuid PRIMARY KEY,
  account_id uuid,
  email text CHECK (length(email) <= 254),
  action text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]{0,63}$'),
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  ip text,
  user_agent text CHECK (length(user_agent) <= 512),
  request_id text,
  details jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX auth_events_account_idx ON auth_events (account_id, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON email_tokens, pending_sign_ins TO rampart_app;
GRANT SELECT, INSERT ON auth_events TO rampart_app;
