-- The account's own profile, a key's own workspace, and the workspace overview (decision 0026).
--
--   * Email change: a link of its own purpose (`change_email`), sent to the new address and kept
--     like the other links (SHA-256 of the token, single use, 15 minutes). The account consumes it
--     signed in, in a transaction of its own (its rows only): no definer function needed.
--   * A key's own workspace: `GET /api/v1/workspace` names no workspace, so the key is first
--     looked up by its digest through a definer function that answers only the tenant id of a live
--     key; the request then reads the key in that tenant's context, as every workspace route does.
--   * Whether a member has a second factor: second factors are their account's rows; a workspace
--     reads one yes or no per account, and only for its own members, through a definer function.
--   * The overview asks whether the chain recorded a failed verification (or a pruning) after its
--     newest checkpoint: a partial index keeps that one indexed read.

ALTER TABLE email_tokens DROP CONSTRAINT email_tokens_purpose_check;
ALTER TABLE email_tokens ADD CONSTRAINT email_tokens_purpose_check
  CHECK (purpose IN ('verify_email', 'magic_link', 'password_reset', 'change_email'));

-- Finding a key by its digest without its tenant (the definer function below).
CREATE INDEX api_keys_secret_hash_idx ON api_keys (secret_hash);

CREATE INDEX audit_events_integrity_idx ON audit_events (tenant_id, seq)
  WHERE action IN ('audit.verification_failed', 'audit.pruned');

-- What the definer role reads, each table through a policy of its own (row-level security binds
-- it like any role that is neither owner nor BYPASSRLS); each function narrows it to one key.
-- Memberships it reads through their tenant policy: only the transaction's workspace.
CREATE POLICY definer ON api_keys FOR SELECT TO rampart_auth USING (true);
CREATE POLICY definer ON totp_factors FOR SELECT TO rampart_auth USING (true);
GRANT SELECT ON api_keys, memberships, totp_factors TO rampart_auth;

-- The workspace of the live API key behind a secret digest (NULL for none): nothing else.
CREATE FUNCTION api_key_workspace(p_secret_hash bytea) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
    SELECT k.tenant_id FROM api_keys k
     WHERE k.secret_hash = p_secret_hash AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
     LIMIT 1
  $$;

-- Whether an account has a second factor (a confirmed authenticator app or a passkey): false
-- unless the account is a member of the transaction's workspace. PL/pgSQL, like auth_session:
-- it runs once per listed member, and its plans are cached per connection.
CREATE FUNCTION member_has_mfa(p_account_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = rampart, pg_temp
  AS $$
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = current_tenant_id() AND m.account_id = p_account_id) THEN
      RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM totp_factors f WHERE f.account_id = p_account_id AND f.confirmed_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM webauthn_credentials c WHERE c.account_id = p_account_id);
  END
  $$;

-- As migration 0013: the definer role owns them, the app role alone may run them.
GRANT CREATE ON SCHEMA rampart TO rampart_auth;
REVOKE ALL ON FUNCTION api_key_workspace(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION member_has_mfa(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_workspace(bytea) TO rampart_app;
GRANT EXECUTE ON FUNCTION member_has_mfa(uuid) TO rampart_app;
ALTER FUNCTION api_key_workspace(bytea) OWNER TO rampart_auth;
ALTER FUNCTION member_has_mfa(uuid) OWNER TO rampart_auth;
REVOKE CREATE ON SCHEMA rampart FROM rampart_auth;
