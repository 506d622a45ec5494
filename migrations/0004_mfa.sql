-- Multi-factor authentication: authenticator apps (TOTP), passkeys (WebAuthn credentials),
-- recovery codes, and WebAuthn challenges waiting for an authenticator's answer.
-- Global tables (no tenant_id): factors belong to accounts, which span workspaces.

-- One authenticator app per account. The secret is AES-256-GCM ciphertext (12-byte IV, then the
-- ciphertext, then the 16-byte tag) bound to the account id; the key is derived from the root
-- secret and never stored. confirmed_at is null until a first code proved the app has it;
-- last_used_step is the newest 30-second step a code was accepted for (each step works once).
CREATE TABLE totp_factors (
  account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  secret_ciphertext bytea NOT NULL CHECK (length(secret_ciphertext) BETWEEN 29 AND 256),
  confirmed_at timestamptz,
  last_used_step bigint NOT NULL DEFAULT 0 CHECK (last_used_step >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Passkeys. credential_id is the authenticator's raw credential id; public_key is COSE-encoded.
-- counter is the authenticator's signature counter (0 for authenticators that keep none).
CREATE TABLE webauthn_credentials (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  credential_id bytea NOT NULL CHECK (length(credential_id) BETWEEN 1 AND 1023),
  public_key bytea NOT NULL CHECK (length(public_key) BETWEEN 1 AND 8192),
  counter bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  transports text[] NOT NULL DEFAULT '{}' CHECK (cardinality(transports) <= 16),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  aaguid uuid NOT NULL,
  backed_up boolean NOT NULL DEFAULT false,
  device_type text NOT NULL CHECK (device_type IN ('singleDevice', 'multiDevice')),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);
CREATE UNIQUE INDEX webauthn_credentials_credential_id_key ON webauthn_credentials (credential_id);
CREATE INDEX webauthn_credentials_account_idx ON webauthn_credentials (account_id);

-- Ten single-use recovery codes per account, stored only as HMAC-SHA256 (keyed from the root
-- secret). Regenerating deletes the old set.
CREATE TABLE recovery_codes (
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, code_hash)
);

-- A passkey registration waiting for the authenticator: one per account, single use, 5 minutes.
CREATE TABLE webauthn_registrations (
  account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  challenge text NOT NULL CHECK (length(challenge) BETWEEN 16 AND 256),
  expires_at timestamptz NOT NULL
);

-- A passwordless passkey sign-in waiting for the authenticator (no account known yet): the
-- client gets the id, the challenge it signs stays here. Single use, 5 minutes.
CREATE TABLE webauthn_sign_in_challenges (
  id uuid PRIMARY KEY,
  challenge text NOT NULL CHECK (length(challenge) BETWEEN 16 AND 256),
  expires_at timestamptz NOT NULL
);
CREATE INDEX webauthn_sign_in_challenges_expires_idx ON webauthn_sign_in_challenges (expires_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON totp_factors, webauthn_credentials, recovery_codes, webauthn_registrations TO rampart_app;
GRANT SELECT, INSERT, DELETE ON webauthn_sign_in_challenges TO rampart_app;
