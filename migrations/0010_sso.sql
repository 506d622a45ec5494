-- Enterprise identity: verified domains, SAML single sign-on per workspace, directory groups
-- mapped to roles, and setup links for a customer's IT admin. Tenant tables follow the rules of
-- 0001_foundation.sql (RLS enabled and forced, tenant_id leading every key); verified_domains is
-- global, kept by a trigger from the tenant table, because sign-in must find a domain's policy
-- before it knows any workspace.

-- A domain a workspace claims. It is verified by a DNS TXT record
-- `rampart-domain-verification=<verification_token>` at the domain (or at _rampart.<domain>).
-- Until then it gives the workspace nothing. sso_enforced needs verification.
CREATE TABLE workspace_domains (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  domain text NOT NULL CHECK (
    length(domain) BETWEEN 3 AND 253
    AND domain ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$'),
  verification_token text NOT NULL CHECK (verification_token ~ '^[A-Za-z0-9_-]{32,64}$'),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  verified_at timestamptz,
  last_checked_at timestamptz,
  sso_enforced boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, domain),
  CHECK (NOT sso_enforced OR verified_at IS NOT NULL)
);

-- The verified domains of all workspaces: one workspace per domain (the primary key is how a
-- second workspace's proof is refused), with its enforcement flag. Written only by the trigger
-- below, in the transaction that changes workspace_domains, so the two cannot disagree.
CREATE TABLE verified_domains (
  domain text PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  sso_enforced boolean NOT NULL DEFAULT false,
  verified_at timestamptz NOT NULL
);
CREATE INDEX verified_domains_workspace_idx ON verified_domains (workspace_id);

CREATE FUNCTION workspace_domains_changed() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  AS $$
  BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.verified_at IS NOT NULL THEN
      DELETE FROM verified_domains WHERE domain = OLD.domain AND workspace_id = OLD.tenant_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.verified_at IS NOT NULL THEN
      INSERT INTO verified_domains (domain, workspace_id, sso_enforced, verified_at)
      VALUES (NEW.domain, NEW.tenant_id, NEW.sso_enforced, NEW.verified_at);
    END IF;
    RETURN NULL;
  END
  $$;
CREATE TRIGGER workspace_domains_index AFTER INSERT OR UPDATE OR DELETE ON workspace_domains
  FOR EACH ROW EXECUTE FUNCTION workspace_domains_changed();
GRANT EXECUTE ON FUNCTION workspace_domains_changed() TO rampart_app;

-- A workspace's SAML identity provider (one per workspace). certificates are the IdP's signing
-- certificates, base64 DER, at most four (so a rollover can overlap). Sign-in needs enabled.
CREATE TABLE saml_connections (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  idp_entity_id text NOT NULL CHECK (length(idp_entity_id) BETWEEN 1 AND 1024),
  sso_url text NOT NULL CHECK (sso_url ~ '^https?://' AND length(sso_url) <= 2048),
  certificates text[] NOT NULL CHECK (cardinality(certificates) BETWEEN 1 AND 4),
  metadata_url text CHECK (metadata_url ~ '^https?://' AND length(metadata_url) <= 2048),
  allow_idp_initiated boolean NOT NULL DEFAULT false,
  clock_skew_seconds integer NOT NULL DEFAULT 120 CHECK (clock_skew_seconds BETWEEN 0 AND 600),
  jit_provisioning boolean NOT NULL DEFAULT true,
  default_role_id uuid NOT NULL,
  email_attribute text CHECK (length(email_attribute) BETWEEN 1 AND 256),
  name_attribute text CHECK (length(name_attribute) BETWEEN 1 AND 256),
  groups_attribute text CHECK (length(groups_attribute) BETWEEN 1 AND 256),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id),
  FOREIGN KEY (tenant_id, default_role_id) REFERENCES roles (tenant_id, id)
);

-- An AuthnRequest Rampart issued: its id is what a response's InResponseTo must name. Single use,
-- five minutes; binding_hash is the SHA-256 of a value held in the starting browser's cookie.
CREATE TABLE saml_requests (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id text NOT NULL CHECK (id ~ '^_[0-9a-f]{40}$'),
  binding_hash bytea NOT NULL CHECK (length(binding_hash) = 32),
  return_to text CHECK (length(return_to) <= 512),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX saml_requests_expires_idx ON saml_requests (tenant_id, expires_at);

-- Assertion ids accepted, kept until the assertion could no longer be accepted anyway
-- (NotOnOrAfter plus the clock skew): the replay cache.
CREATE TABLE saml_assertions (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  assertion_id text NOT NULL CHECK (length(assertion_id) BETWEEN 1 AND 256),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, assertion_id)
);
CREATE INDEX saml_assertions_expires_idx ON saml_assertions (tenant_id, expires_at);

-- Who a NameID of this workspace's connection is. Keyed on (connection, NameID), never on an
-- email: another IdP's assertion about the same address is another identity.
CREATE TABLE sso_identities (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  name_id text NOT NULL CHECK (length(name_id) BETWEEN 1 AND 1024),
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  email text CHECK (length(email) <= 254),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  PRIMARY KEY (tenant_id, connection_id, name_id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES saml_connections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sso_identities_account_idx ON sso_identities (tenant_id, account_id);

-- Directory groups (a SAML groups attribute value, a SCIM group's displayName or externalId) that
-- give a role. group_key is compared case-insensitively (stored lower-cased). The owner role is
-- never mapped (the service refuses it).
CREATE TABLE directory_group_roles (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  group_key text NOT NULL CHECK (group_key = lower(group_key) AND length(group_key) BETWEEN 1 AND 256),
  role_id uuid NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, group_key, role_id),
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

-- A role held because a directory group maps to it: the directory takes it away again when no
-- group maps to it any more. A role granted by hand (via_directory false) the directory leaves.
ALTER TABLE member_roles ADD COLUMN via_directory boolean NOT NULL DEFAULT false;

-- A time-limited page where the customer's IT admin configures SAML and SCIM without an account.
-- Only the SHA-256 of the token is stored.
CREATE TABLE sso_setup_links (
  tenant_id uuid NOT NULL REFERENCES workspaces (tenant_id) ON DELETE CASCADE,
  id uuid NOT NULL,
  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX sso_setup_links_token_key ON sso_setup_links (tenant_id, token_hash);

-- Sessions and pending sign-ins begun by SAML name the workspace whose IdP vouched for them:
-- enforcing SSO for a domain ends every other session of that domain's accounts.
ALTER TABLE sessions DROP CONSTRAINT sessions_auth_method_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_auth_method_check
  CHECK (auth_method IN ('setup', 'password', 'email_link', 'oidc', 'passkey', 'saml'));
ALTER TABLE sessions ADD COLUMN sso_workspace_id uuid REFERENCES workspaces (tenant_id) ON DELETE SET NULL;
ALTER TABLE sessions ADD CONSTRAINT sessions_sso_workspace_check CHECK (sso_workspace_id IS NULL OR auth_method = 'saml');
ALTER TABLE pending_sign_ins DROP CONSTRAINT pending_sign_ins_method_check;
ALTER TABLE pending_sign_ins ADD CONSTRAINT pending_sign_ins_method_check
  CHECK (method IN ('password', 'email_link', 'oidc', 'saml'));
ALTER TABLE pending_sign_ins ADD COLUMN sso_workspace_id uuid REFERENCES workspaces (tenant_id) ON DELETE CASCADE;

ALTER TABLE workspace_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_domains FORCE ROW LEVEL SECURITY;
ALTER TABLE saml_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE saml_connections FORCE ROW LEVEL SECURITY;
ALTER TABLE saml_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE saml_requests FORCE ROW LEVEL SECURITY;
ALTER TABLE saml_assertions ENABLE ROW LEVEL SECURITY;
ALTER TABLE saml_assertions FORCE ROW LEVEL SECURITY;
ALTER TABLE sso_identities ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_identities FORCE ROW LEVEL SECURITY;
ALTER TABLE directory_group_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE directory_group_roles FORCE ROW LEVEL SECURITY;
ALTER TABLE sso_setup_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_setup_links FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON workspace_domains FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON saml_connections FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON saml_requests FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON saml_assertions FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON sso_identities FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON directory_group_roles FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON sso_setup_links FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON workspace_domains, saml_connections, saml_requests, saml_assertions,
  sso_identities, directory_group_roles, sso_setup_links, verified_domains TO rampart_app;
