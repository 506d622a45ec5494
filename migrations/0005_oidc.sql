-- OpenID Connect sign-in ("Sign in with Google" or any provider): identities at a provider linked
-- to accounts, sign-in flows in flight, and offers to link a provider identity to an existing
-- account. Global tables (no tenant_id): they belong to accounts, which span workspaces.

-- An account's identity at a provider. The key is (issuer, subject), never the email: a
-- provider's email can change or be reassigned, its subject cannot. email is the address the
-- provider last reported, for display only.
CREATE TABLE account_identities (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  issuer text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 512),
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  email text CHECK (length(email) <= 254),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);
CREATE UNIQUE INDEX account_identities_issuer_subject_key ON account_identities (issuer, subject);
CREATE INDEX account_identities_account_idx ON account_identities (account_id);

-- An authorization request in flight: single use, ten minutes. binding_hash is the SHA-256 of a
-- random value held only in the starting browser's cookie, so a callback is accepted only in the
-- browser that started the flow. state, nonce and the PKCE verifier never leave the server except
-- as the provider's protocol requires (state and nonce in the request, the verifier to the token
-- endpoint). A 'link' flow names the signed-in account that started it.
CREATE TABLE oidc_flows (
  id uuid PRIMARY KEY,
  binding_hash bytea NOT NULL CHECK (length(binding_hash) = 32),
  state text NOT NULL CHECK (length(state) BETWEEN 16 AND 128),
  nonce text NOT NULL CHECK (length(nonce) BETWEEN 16 AND 128),
  code_verifier text NOT NULL CHECK (length(code_verifier) BETWEEN 43 AND 128),
  purpose text NOT NULL CHECK (purpose IN ('sign_in', 'link')),
  account_id uuid REFERENCES accounts (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CHECK ((purpose = 'link') = (account_id IS NOT NULL))
);
CREATE UNIQUE INDEX oidc_flows_binding_hash_key ON oidc_flows (binding_hash);
CREATE INDEX oidc_flows_expires_idx ON oidc_flows (expires_at);

-- A provider identity whose verified email belongs to an existing account, waiting for that
-- account to accept it (signed in by its own means, in the same browser). Only the SHA-256 of
-- the token is stored; binding_hash is that of the browser's cookie value. Fifteen minutes.
CREATE TABLE oidc_link_offers (
  id uuid PRIMARY KEY,
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  binding_hash bytea NOT NULL CHECK (length(binding_hash) = 32),
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  issuer text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 512),
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  email text NOT NULL CHECK (length(email) <= 254),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE UNIQUE INDEX oidc_link_offers_token_hash_key ON oidc_link_offers (token_hash);
CREATE INDEX oidc_link_offers_account_idx ON oidc_link_offers (account_id);
CREATE INDEX oidc_link_offers_expires_idx ON oidc_link_offers (expires_at);

-- Identities are linked, touched and unlinked; flows and offers are created, used once, and
-- purged after they expire.
GRANT SELECT, INSERT, UPDATE, DELETE ON account_identities, oidc_flows, oidc_link_offers TO rampart_app;
