-- Defence in depth for the global tables (no tenant_id): accounts, sessions, email links, pending
-- sign-ins, second factors, provider identities, the outbox, the platform audit chains and the
-- staff realm. Until now the app role read them without any scope, so one SQL injection anywhere
-- would have read them all. From here (decision 0024):
--
--   * account-scoped: a row is the app's only in a transaction of its account (or staff member):
--     `account_id = current_account_id()`;
--   * the operator's realm: rows that belong to nobody (the outbox, the platform audit chains, the
--     staff directory) are the app's only in a transaction of the reserved tenant
--     `operator_realm_id()`, which no workspace can have; the relay, the audit sequencer and
--     staff-admins work there;
--   * lookups that must run before any account is known (a session by its token's digest, an
--     email link, a sign-in by email, a passkey by credential id, an OpenID Connect flow by its
--     binding…) go through narrow SECURITY DEFINER functions owned by the NOLOGIN role
--     rampart_auth: each takes the exact key (a digest, an email), returns at most one row (none
--     is set-returning) and writes only what it must (consuming a link, for example);
--   * a few global tables hold nothing personal and stay readable without scope; they are listed,
--     with the reason for each, in src/platform/db/catalog-audit.ts and docs/security-model.md.
--
-- The catalog audit checks all of it: every table the app role can read is either listed or has
-- RLS enabled and forced with every policy for the app naming current_tenant_id() or
-- current_account_id(); every SECURITY DEFINER function is owned by rampart_auth, has a pinned
-- search_path, is executable by rampart_app only and returns no set.

-- ---------------------------------------------------------------------------------------------
-- The definer role. Roles are cluster-wide: tolerate a concurrent migrator creating it first.
-- NOLOGIN, and no role is a member of it but a non-superuser migrator (so the app login can never
-- SET ROLE to it); NOBYPASSRLS: it reads the tables through its own policies below.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_auth') THEN
    BEGIN
      CREATE ROLE rampart_auth NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_auth' AND (rolsuper OR rolbypassrls OR rolcanlogin)) THEN
    RAISE EXCEPTION 'role rampart_auth exists with SUPERUSER, BYPASSRLS or LOGIN; it must be a NOLOGIN role bound by row-level security';
  END IF;
  IF pg_has_role('rampart_app', 'rampart_auth', 'MEMBER') THEN
    RAISE EXCEPTION 'rampart_app is a member of rampart_auth; the app role must not reach the definer role';
  END IF;
  -- A non-superuser migrator hands the functions below to rampart_auth, which needs membership.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AND NOT pg_has_role(current_user, 'rampart_auth', 'MEMBER') THEN
    EXECUTE format('GRANT rampart_auth TO %I', current_user);
  END IF;
END
$$;

GRANT USAGE ON SCHEMA rampart TO rampart_auth;

-- The operator's realm: a tenant id no workspace can have.
CREATE FUNCTION operator_realm_id() RETURNS uuid
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;
GRANT EXECUTE ON FUNCTION operator_realm_id() TO rampart_app;
ALTER TABLE workspaces ADD CONSTRAINT workspaces_not_operator_realm CHECK (tenant_id <> '00000000-0000-0000-0000-000000000000'::uuid);

-- ---------------------------------------------------------------------------------------------
-- Row-level security on every global table that holds anything about anyone, forced (it binds the
-- owner too), with the app role's policies below; then the definer role's.

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['accounts', 'sessions', 'setup_tokens', 'email_tokens', 'pending_sign_ins', 'totp_factors',
      'webauthn_credentials', 'recovery_codes', 'webauthn_registrations', 'account_identities', 'oidc_flows', 'oidc_link_offers',
      'outbox', 'platform_audit_queue', 'platform_audit_events', 'staff_members', 'staff_setup_tokens', 'staff_sessions',
      'staff_totp_factors', 'staff_access_index'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
  END LOOP;
  -- Sessions, email links, sign-ins waiting for a second factor, second factors, provider
  -- identities and link offers: each row is its account's.
  FOREACH t IN ARRAY ARRAY['sessions', 'email_tokens', 'pending_sign_ins', 'totp_factors', 'webauthn_credentials', 'recovery_codes',
      'webauthn_registrations', 'account_identities', 'oidc_link_offers'] LOOP
    EXECUTE format('CREATE POLICY account_own ON %I FOR ALL TO rampart_app
      USING (account_id = current_account_id()) WITH CHECK (account_id = current_account_id())', t);
  END LOOP;
  -- The staff realm: a staff member's own rows in a transaction of their id (current_account_id:
  -- account and staff ids are one namespace of UUIDv7 principals).
  FOREACH t IN ARRAY ARRAY['staff_sessions', 'staff_totp_factors', 'staff_access_index'] LOOP
    EXECUTE format('CREATE POLICY staff_own ON %I FOR ALL TO rampart_app
      USING (staff_id = current_account_id()) WITH CHECK (staff_id = current_account_id())', t);
  END LOOP;
  -- The operator's realm: the rows of nobody in particular (the outbox, the platform audit
  -- chains) and the staff directory, for the mail relay, the audit sequencer (with verification,
  -- export and the SIEM sinks), staff-admins and the CLI.
  FOREACH t IN ARRAY ARRAY['outbox', 'platform_audit_queue', 'platform_audit_events', 'staff_members', 'staff_setup_tokens',
      'staff_sessions', 'staff_totp_factors'] LOOP
    EXECUTE format('CREATE POLICY operator_realm ON %I FOR ALL TO rampart_app
      USING (current_tenant_id() = operator_realm_id()) WITH CHECK (current_tenant_id() = operator_realm_id())', t);
  END LOOP;
  -- The definer role is bound by row-level security like any role that is neither owner nor
  -- BYPASSRLS: its own policy on each table its functions read, limited by its grants below.
  FOREACH t IN ARRAY ARRAY['accounts', 'sessions', 'setup_tokens', 'email_tokens', 'pending_sign_ins', 'webauthn_credentials',
      'account_identities', 'oidc_flows', 'oidc_link_offers', 'staff_members', 'staff_setup_tokens', 'staff_sessions',
      'staff_totp_factors'] LOOP
    EXECUTE format('CREATE POLICY definer ON %I FOR ALL TO rampart_auth USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;

-- Accounts. An account reads and writes its own row; a workspace reads the accounts it knows (its
-- members, its SCIM users, its SAML identities), to list members, inviters and key creators. The
-- password hash is not readable by the app at all: sign-in reads it through
-- auth_account_credentials, re-authentication through auth_own_password_hash.
CREATE POLICY account_own ON accounts FOR ALL TO rampart_app
  USING (id = current_account_id()) WITH CHECK (id = current_account_id());
CREATE POLICY workspace_accounts_read ON accounts FOR SELECT TO rampart_app
  USING (EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = current_tenant_id() AND m.account_id = accounts.id)
      OR EXISTS (SELECT 1 FROM scim_users u WHERE u.tenant_id = current_tenant_id() AND u.account_id = accounts.id)
      OR EXISTS (SELECT 1 FROM sso_identities i WHERE i.tenant_id = current_tenant_id() AND i.account_id = accounts.id));
REVOKE SELECT ON accounts FROM rampart_app;
GRANT SELECT (id, email, name, created_at, updated_at, email_verified_at, password_changed_at) ON accounts TO rampart_app;

-- The setup link: only through setup_token_replace and setup_token_consume.
REVOKE ALL ON setup_tokens FROM rampart_app;

-- OpenID Connect flows in flight: the app only starts them (a link flow only for its own account);
-- the callback claims one by its binding through oidc_claim_flow.
CREATE POLICY flow_start ON oidc_flows FOR INSERT TO rampart_app
  WITH CHECK (account_id IS NULL OR account_id = current_account_id());
REVOKE SELECT, UPDATE, DELETE ON oidc_flows FROM rampart_app;

-- Any transaction queues mail, and appends to a platform chain, without reading either back; an
-- account reads its own `accounts` events.
CREATE POLICY outbox_enqueue ON outbox FOR INSERT TO rampart_app
  WITH CHECK (status IN ('pending', 'held') AND attempts = 0 AND locked_until IS NULL AND sent_at IS NULL);
CREATE POLICY platform_audit_append ON platform_audit_queue FOR INSERT TO rampart_app
  WITH CHECK (true);
CREATE POLICY account_own_read ON platform_audit_events FOR SELECT TO rampart_app
  USING (chain = 'accounts' AND account_id = current_account_id());

-- A staff member's own row; the password hash is read only through staff_credentials, whether
-- one is set from a generated column.
ALTER TABLE staff_members ADD COLUMN password_set boolean NOT NULL GENERATED ALWAYS AS (password_hash IS NOT NULL) STORED;
CREATE POLICY staff_own ON staff_members FOR ALL TO rampart_app
  USING (id = current_account_id()) WITH CHECK (id = current_account_id());
REVOKE SELECT ON staff_members FROM rampart_app;
GRANT SELECT (id, email, name, role, created_by, created_at, updated_at, disabled_at, password_set) ON staff_members TO rampart_app;
-- Where a staff member's requests are: theirs to list, the workspace's to index and to drop.
CREATE POLICY workspace_rows ON staff_access_index FOR ALL TO rampart_app
  USING (workspace_id = current_tenant_id()) WITH CHECK (workspace_id = current_tenant_id());

-- What the definer role's functions may touch (each function narrows it to one key).
GRANT SELECT, UPDATE ON accounts, sessions, email_tokens, pending_sign_ins, account_identities, oidc_flows, oidc_link_offers, staff_sessions TO rampart_auth;
GRANT SELECT, INSERT, UPDATE, DELETE ON setup_tokens TO rampart_auth;
GRANT SELECT, DELETE ON oidc_flows, oidc_link_offers, staff_setup_tokens TO rampart_auth;
GRANT SELECT ON webauthn_credentials, staff_members, staff_totp_factors, verified_domains TO rampart_auth;

-- ---------------------------------------------------------------------------------------------
-- The functions. Each takes an exact key and answers one row at most: none returns a set (a
-- function with OUT parameters answers exactly one row, all NULL when nothing matched).

-- Whether any account exists (setup is done): a yes or no, nothing about anyone.
CREATE FUNCTION auth_accounts_exist() RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$ SELECT EXISTS (SELECT 1 FROM accounts) $$;

-- The account with this exact email (the directory's "is it taken", a provider's email, a link
-- request), without its password hash.
CREATE FUNCTION auth_account_by_email(p_email text,
    OUT id uuid, OUT email text, OUT name text, OUT created_at timestamptz, OUT email_verified_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$ SELECT a.id, a.email, a.name, a.created_at, a.email_verified_at FROM accounts a WHERE a.email = p_email $$;

-- Password sign-in: the account with this exact email and its password hash.
CREATE FUNCTION auth_account_credentials(p_email text,
    OUT id uuid, OUT email text, OUT name text, OUT created_at timestamptz, OUT email_verified_at timestamptz, OUT password_hash text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$ SELECT a.id, a.email, a.name, a.created_at, a.email_verified_at, a.password_hash FROM accounts a WHERE a.email = p_email $$;

-- Re-authentication: the password hash of the transaction's own account.
CREATE FUNCTION auth_own_password_hash() RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$ SELECT a.password_hash FROM accounts a WHERE a.id = current_account_id() $$;

-- The live session behind a token digest (not revoked, within both timeouts). Called inside the
-- one statement that authenticates a request. PL/pgSQL, like staff_session, because it runs on
-- every request: its plan is cached per connection, where a SQL function that cannot be inlined
-- (a definer) is planned again on every call.
CREATE FUNCTION auth_session(p_token_hash bytea, p_idle_seconds integer,
    OUT session_id uuid, OUT account_id uuid, OUT kind text, OUT mfa_at timestamptz, OUT stale boolean)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
  BEGIN
    SELECT s.id, s.account_id, s.kind, s.mfa_at, s.last_seen_at < now() - interval '60 seconds'
      INTO session_id, account_id, kind, mfa_at, stale
      FROM sessions s
     WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > now()
       AND s.last_seen_at > now() - make_interval(secs => p_idle_seconds);
  END
  $$;

-- Ends whatever session a token names (the cookie a browser had before signing in again).
CREATE FUNCTION auth_revoke_session_by_token(p_token_hash bytea) RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$ UPDATE sessions SET revoked_at = now() WHERE token_hash = p_token_hash AND revoked_at IS NULL $$;

-- Consumes an email link of a purpose: `refused` says why not (invalid_link for an unknown, used,
-- expired or superseded token or another purpose; link_other_browser when a browser asked for it
-- and this is not that browser, verification excepted). Consumed: its account, and whether this is
-- the browser that asked.
CREATE FUNCTION auth_consume_email_token(p_token_hash bytea, p_purpose text, p_binding bytea,
    OUT account_id uuid, OUT same_browser boolean, OUT refused text)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
  DECLARE
    t record;
  BEGIN
    SELECT et.id, et.purpose, et.account_id, et.binding_hash,
           (et.used_at IS NULL AND et.expires_at > now() AND a.email = et.email) AS live
      INTO t
      FROM email_tokens et JOIN accounts a ON a.id = et.account_id
     WHERE et.token_hash = p_token_hash
       FOR UPDATE OF et;
    IF NOT FOUND OR t.purpose <> p_purpose OR NOT t.live THEN
      refused := 'invalid_link';
      RETURN;
    END IF;
    same_browser := t.binding_hash IS NULL OR (p_binding IS NOT NULL AND t.binding_hash = p_binding);
    IF NOT same_browser AND p_purpose <> 'verify_email' THEN
      refused := 'link_other_browser';
      RETURN;
    END IF;
    UPDATE email_tokens SET used_at = now() WHERE id = t.id;
    account_id := t.account_id;
  END
  $$;

-- The live sign-in waiting for a second factor behind a token digest.
CREATE FUNCTION auth_pending_sign_in(p_token_hash bytea, p_max_failures integer,
    OUT id uuid, OUT account_id uuid, OUT kind text, OUT method text, OUT sso_workspace_id uuid, OUT expires_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    SELECT p.id, p.account_id, p.kind, p.method, p.sso_workspace_id, p.expires_at FROM pending_sign_ins p
     WHERE p.token_hash = p_token_hash AND p.used_at IS NULL AND p.expires_at > now() AND p.failures < p_max_failures
  $$;

-- The passkey with this credential id (the authenticator names it before any account is known).
CREATE FUNCTION auth_passkey(p_credential_id bytea,
    OUT id uuid, OUT account_id uuid, OUT credential_id bytea, OUT public_key bytea, OUT counter bigint, OUT transports text[],
    OUT name text, OUT aaguid uuid, OUT backed_up boolean, OUT device_type text, OUT created_at timestamptz, OUT last_used_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    SELECT c.id, c.account_id, c.credential_id, c.public_key, c.counter, c.transports, c.name, c.aaguid, c.backed_up, c.device_type,
           c.created_at, c.last_used_at
      FROM webauthn_credentials c WHERE c.credential_id = p_credential_id
  $$;

-- SSO enforced for a domain the transaction's workspace verified: ends the live sessions and
-- pending sign-ins of the domain's accounts that SAML through this workspace did not begin.
-- Returns how many sessions ended (0 when the workspace has not verified the domain).
CREATE FUNCTION sso_end_other_sessions(p_domain text, p_workspace uuid) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
  DECLARE
    ended integer;
  BEGIN
    IF p_workspace IS DISTINCT FROM current_tenant_id()
       OR NOT EXISTS (SELECT 1 FROM verified_domains d WHERE d.domain = p_domain AND d.workspace_id = p_workspace) THEN
      RETURN 0;
    END IF;
    UPDATE sessions s SET revoked_at = now()
      FROM accounts a
     WHERE a.id = s.account_id AND s.revoked_at IS NULL AND s.expires_at > now()
       AND lower(split_part(a.email, '@', 2)) = p_domain
       AND NOT (s.auth_method = 'saml' AND s.sso_workspace_id IS NOT DISTINCT FROM p_workspace);
    GET DIAGNOSTICS ended = ROW_COUNT;
    UPDATE pending_sign_ins p SET used_at = now()
      FROM accounts a
     WHERE a.id = p.account_id AND p.used_at IS NULL AND p.expires_at > now()
       AND lower(split_part(a.email, '@', 2)) = p_domain
       AND NOT (p.method = 'saml' AND p.sso_workspace_id IS NOT DISTINCT FROM p_workspace);
    RETURN ended;
  END
  $$;

-- The setup link: a new token while no account exists (false once one does), and its single use.
CREATE FUNCTION setup_token_replace(p_token_hash bytea, p_ttl_seconds integer) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM accounts) THEN
      RETURN false;
    END IF;
    INSERT INTO setup_tokens (id, token_hash, expires_at) VALUES (1, p_token_hash, now() + make_interval(secs => p_ttl_seconds))
      ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at;
    RETURN true;
  END
  $$;

CREATE FUNCTION setup_token_consume(p_token_hash bytea) RETURNS boolean
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    WITH used AS (DELETE FROM setup_tokens WHERE id = 1 AND token_hash = p_token_hash AND expires_at > now() RETURNING id)
    SELECT EXISTS (SELECT 1 FROM used)
  $$;

-- OpenID Connect: claims the live flow of a browser's binding (single use); marks the identity
-- (issuer, subject) used and returns it; purges flows and offers a day past their expiry.
CREATE FUNCTION oidc_claim_flow(p_binding_hash bytea,
    OUT id uuid, OUT state text, OUT nonce text, OUT code_verifier text, OUT purpose text, OUT account_id uuid)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    UPDATE oidc_flows f SET used_at = now()
     WHERE f.binding_hash = p_binding_hash AND f.used_at IS NULL AND f.expires_at > now()
     RETURNING f.id, f.state, f.nonce, f.code_verifier, f.purpose, f.account_id
  $$;

CREATE FUNCTION oidc_touch_identity(p_issuer text, p_subject text, p_email text,
    OUT id uuid, OUT account_id uuid, OUT issuer text, OUT subject text, OUT email text, OUT created_at timestamptz, OUT last_used_at timestamptz)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    UPDATE account_identities i SET last_used_at = now(), email = COALESCE(p_email, i.email)
     WHERE i.issuer = p_issuer AND i.subject = p_subject
     RETURNING i.id, i.account_id, i.issuer, i.subject, i.email, i.created_at, i.last_used_at
  $$;

-- The live link offer behind a token digest, claimed (single use) whoever presents it: the caller
-- then checks that it is the offer's account and browser.
CREATE FUNCTION oidc_claim_offer(p_token_hash bytea,
    OUT id uuid, OUT account_id uuid, OUT binding_hash bytea, OUT issuer text, OUT subject text, OUT email text)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    UPDATE oidc_link_offers o SET used_at = now()
     WHERE o.token_hash = p_token_hash AND o.used_at IS NULL AND o.expires_at > now()
     RETURNING o.id, o.account_id, o.binding_hash, o.issuer, o.subject, o.email
  $$;

CREATE FUNCTION oidc_purge_expired() RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    DELETE FROM oidc_flows WHERE expires_at < now() - interval '1 day';
    DELETE FROM oidc_link_offers WHERE expires_at < now() - interval '1 day';
  $$;

-- Staff: password sign-in by exact email, the live session behind a token digest (with its enabled
-- member), ending a session by its token, and a setup link's single use (the member it was for).
CREATE FUNCTION staff_credentials(p_email text,
    OUT id uuid, OUT email text, OUT name text, OUT role text, OUT password_set boolean, OUT password_hash text, OUT created_by uuid,
    OUT created_at timestamptz, OUT updated_at timestamptz, OUT disabled_at timestamptz, OUT totp boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    SELECT m.id, m.email, m.name, m.role, m.password_set, m.password_hash, m.created_by, m.created_at, m.updated_at, m.disabled_at,
           EXISTS (SELECT 1 FROM staff_totp_factors f WHERE f.staff_id = m.id AND f.confirmed_at IS NOT NULL)
      FROM staff_members m WHERE m.email = p_email
  $$;

CREATE FUNCTION staff_session(p_token_hash bytea, p_idle_seconds integer,
    OUT session_id uuid, OUT staff_id uuid, OUT name text, OUT role text, OUT kind text, OUT mfa_at timestamptz, OUT stale boolean)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
  BEGIN
    SELECT s.id, s.staff_id, m.name, m.role, s.kind, s.mfa_at, s.last_seen_at < now() - interval '60 seconds'
      INTO session_id, staff_id, name, role, kind, mfa_at, stale
      FROM staff_sessions s JOIN staff_members m ON m.id = s.staff_id
     WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > now()
       AND s.last_seen_at > now() - make_interval(secs => p_idle_seconds) AND m.disabled_at IS NULL;
  END
  $$;

CREATE FUNCTION staff_revoke_session_by_token(p_token_hash bytea) RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$ UPDATE staff_sessions SET revoked_at = now() WHERE token_hash = p_token_hash AND revoked_at IS NULL $$;

CREATE FUNCTION staff_take_setup_token(p_token_hash bytea) RETURNS uuid
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$ DELETE FROM staff_setup_tokens WHERE token_hash = p_token_hash AND expires_at > now() RETURNING staff_id $$;

-- Every SECURITY DEFINER function of the schema belongs to rampart_auth and is executable by the
-- app role alone. A non-superuser migrator may hand a function to a role only if that role may
-- create in the schema: granted for the hand-over, taken back at once.
GRANT CREATE ON SCHEMA rampart TO rampart_auth;
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'rampart'::regnamespace AND p.prosecdef LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO rampart_app', f);
    EXECUTE format('ALTER FUNCTION %s OWNER TO rampart_auth', f);
  END LOOP;
END
$$;
REVOKE CREATE ON SCHEMA rampart FROM rampart_auth;
