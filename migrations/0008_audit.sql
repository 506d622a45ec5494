-- The audit log: every event in a hash chain per workspace, plus two platform chains —
-- `accounts` (customer accounts' authentication, which belongs to no workspace) and `staff`
-- (the operator's staff and the system). See docs/audit-log.md.
--
-- Writers append to a queue in their own transaction (as cheap as any INSERT, so writers of one
-- workspace never wait on each other); a sequencer moves queued events into the chain in
-- batches, giving each the next gap-free sequence number and the hash
--   hash(n) = SHA-256(record(n)),  record(n) = '{"seq":n,"prev":"<hex hash(n-1)>",' || body[2:]
-- with hash(0) = 32 zero bytes. The chain's head (last sequence and hash) is one row per chain,
-- locked by the sequencer: two sequencers never fork a chain.
--
-- Tamper evidence in the database: the app role may INSERT events and read them; it may not
-- UPDATE or TRUNCATE anything here, and triggers refuse it to every role. An event leaves the
-- queue only into its chain, with its body unchanged (a trigger checks). Chained events are
-- deleted only by pruning: in a transaction that says so, below a signed checkpoint, and never
-- events younger than a day.

CREATE TABLE audit_heads (
  chain text PRIMARY KEY CHECK (chain ~ '^([0-9a-f-]{36}|accounts|staff)$'),
  seq bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
  hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000' CHECK (length(hash) = 32),
  -- Events through this sequence number were pruned; the checkpoint at it anchors the rest.
  pruned_through bigint NOT NULL DEFAULT 0 CHECK (pruned_through >= 0 AND pruned_through <= seq),
  -- The last sequence number signed in a checkpoint.
  checkpointed bigint NOT NULL DEFAULT 0
);

CREATE TABLE audit_checkpoints (
  chain text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 0),
  head bytea NOT NULL CHECK (length(head) = 32),
  signed_at timestamptz NOT NULL,
  key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
  signature bytea NOT NULL CHECK (length(signature) = 64),
  PRIMARY KEY (chain, seq)
);

-- Ed25519 checkpoint keys. The public key is published; the private key's 32-byte seed exists
-- here only wrapped by the KMS root key.
CREATE TABLE audit_signing_keys (
  key_id text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
  version integer NOT NULL UNIQUE CHECK (version >= 1),
  public_key bytea NOT NULL CHECK (length(public_key) = 32),
  provider text NOT NULL,
  key_ref text NOT NULL,
  wrapped bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);

-- How far each configured SIEM sink has acknowledged each chain.
CREATE TABLE audit_sink_cursors (
  sink text NOT NULL CHECK (sink ~ '^[a-z0-9_-]{1,64}$'),
  chain text NOT NULL,
  seq bigint NOT NULL DEFAULT 0,
  checkpoint_seq bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sink, chain)
);

-- Workspace chains ---------------------------------------------------------------------------

CREATE TABLE audit_queue (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  occurred_at timestamptz NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('account', 'api_key', 'staff', 'system', 'anonymous')),
  actor_id uuid,
  action text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  body text NOT NULL CHECK (left(body, 7) = '{"v":1,' AND length(body) <= 16384),
  PRIMARY KEY (tenant_id, id)
);
-- No index beyond the key: the sequencer keeps each chain's queue short, and sorts it.

CREATE TABLE audit_events (
  tenant_id uuid NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  id uuid NOT NULL,
  occurred_at timestamptz NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('account', 'api_key', 'staff', 'system', 'anonymous')),
  actor_id uuid,
  action text NOT NULL,
  outcome text NOT NULL,
  body text NOT NULL,
  prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (tenant_id, seq),
  UNIQUE (tenant_id, id)
);
CREATE INDEX audit_events_time_idx ON audit_events (tenant_id, occurred_at);
CREATE INDEX audit_events_actor_idx ON audit_events (tenant_id, actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_staff_idx ON audit_events (tenant_id, seq) WHERE actor_type = 'staff';

-- Platform chains (accounts, staff): the same shape, keyed by chain name. Global tables: they
-- hold no workspace's data.

CREATE TABLE platform_audit_queue (
  chain text NOT NULL CHECK (chain IN ('accounts', 'staff')),
  id uuid NOT NULL,
  queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  occurred_at timestamptz NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('account', 'api_key', 'staff', 'system', 'anonymous')),
  actor_id uuid,
  -- The customer account an `accounts` event concerns (whose own history lists it).
  account_id uuid,
  action text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  body text NOT NULL CHECK (left(body, 7) = '{"v":1,' AND length(body) <= 16384),
  PRIMARY KEY (chain, id)
);

CREATE TABLE platform_audit_events (
  chain text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  id uuid NOT NULL,
  occurred_at timestamptz NOT NULL,
  actor_type text NOT NULL,
  actor_id uuid,
  account_id uuid,
  action text NOT NULL,
  outcome text NOT NULL,
  body text NOT NULL,
  prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (chain, seq),
  UNIQUE (chain, id)
);
CREATE INDEX platform_audit_events_time_idx ON platform_audit_events (chain, occurred_at);
CREATE INDEX platform_audit_events_account_idx ON platform_audit_events (account_id, seq) WHERE account_id IS NOT NULL;

-- Guards -------------------------------------------------------------------------------------

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Pruning only: in a transaction that set rampart.audit_pruning, at or below a signed
-- checkpoint of the chain, and only events older than a day.
CREATE FUNCTION audit_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  chain_name text;
BEGIN
  IF TG_TABLE_NAME = 'audit_events' THEN
    chain_name := OLD.tenant_id::text;
  ELSE
    chain_name := OLD.chain;
  END IF;
  IF coalesce(current_setting('rampart.audit_pruning', true), '') <> 'on' THEN
    RAISE EXCEPTION 'the audit log is append-only: DELETE on % refused', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.occurred_at > now() - interval '1 day' THEN
    RAISE EXCEPTION 'audit events younger than a day are never pruned' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.chain = chain_name AND c.seq >= OLD.seq) THEN
    RAISE EXCEPTION 'audit events are pruned only below a signed checkpoint' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END
$$;

-- Row by row, so each check is one lookup on the chain's (tenant, id) key whatever the planner
-- knows about the tables.
CREATE FUNCTION audit_queue_leaves_into_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'audit_queue' THEN
    PERFORM 1 FROM audit_events e WHERE e.tenant_id = OLD.tenant_id AND e.id = OLD.id AND e.body = OLD.body;
  ELSE
    PERFORM 1 FROM platform_audit_events e WHERE e.chain = OLD.chain AND e.id = OLD.id AND e.body = OLD.body;
  END IF;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'an audit event leaves the queue only into its chain' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_delete BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_guard_delete();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER platform_audit_events_no_update BEFORE UPDATE ON platform_audit_events FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER platform_audit_events_delete BEFORE DELETE ON platform_audit_events FOR EACH ROW EXECUTE FUNCTION audit_guard_delete();
CREATE TRIGGER platform_audit_events_no_truncate BEFORE TRUNCATE ON platform_audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_queue_no_update BEFORE UPDATE ON audit_queue FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_queue_no_truncate BEFORE TRUNCATE ON audit_queue FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_queue_delete BEFORE DELETE ON audit_queue FOR EACH ROW EXECUTE FUNCTION audit_queue_leaves_into_chain();
CREATE TRIGGER platform_audit_queue_no_update BEFORE UPDATE ON platform_audit_queue FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER platform_audit_queue_no_truncate BEFORE TRUNCATE ON platform_audit_queue FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER platform_audit_queue_delete BEFORE DELETE ON platform_audit_queue FOR EACH ROW EXECUTE FUNCTION audit_queue_leaves_into_chain();
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The events recorded before this migration join the queue, oldest first, and are chained when
-- the server next sequences (at start). Their bodies are built here in the same shape.
ALTER TABLE workspace_events NO FORCE ROW LEVEL SECURITY;
INSERT INTO audit_queue (tenant_id, id, queued_at, occurred_at, actor_type, actor_id, action, outcome, body)
SELECT tenant_id, id, created_at, created_at, actor_type, actor_id, action, outcome,
       '{"v":1,"chain":"' || tenant_id::text || '",' || substr(jsonb_build_object(
         'id', id::text,
         'time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
         'actor', jsonb_build_object('type', actor_type, 'id', actor_id),
         'action', action, 'outcome', outcome,
         'target', CASE WHEN target_type IS NULL THEN NULL ELSE jsonb_build_object('type', target_type, 'id', target_id) END,
         'ip', ip, 'userAgent', user_agent, 'requestId', request_id, 'details', details)::text, 2)
  FROM workspace_events;
INSERT INTO platform_audit_queue (chain, id, queued_at, occurred_at, actor_type, actor_id, account_id, action, outcome, body)
SELECT 'accounts', id, created_at, created_at, CASE WHEN account_id IS NULL THEN 'anonymous' ELSE 'account' END, account_id, account_id, action, outcome,
       '{"v":1,"chain":"accounts",' || substr(jsonb_build_object(
         'id', id::text,
         'time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
         'actor', jsonb_build_object('type', CASE WHEN account_id IS NULL THEN 'anonymous' ELSE 'account' END, 'id', account_id),
         'action', action, 'outcome', outcome, 'target', NULL,
         'ip', ip, 'userAgent', user_agent, 'requestId', request_id, 'details', details,
         'account', account_id, 'email', email)::text, 2)
  FROM auth_events;
INSERT INTO audit_heads (chain) SELECT tenant_id::text FROM (SELECT tenant_id FROM audit_queue UNION SELECT tenant_id FROM workspaces) t
  ON CONFLICT DO NOTHING;
INSERT INTO audit_heads (chain) VALUES ('accounts'), ('staff') ON CONFLICT DO NOTHING;
DROP TABLE workspace_events;
DROP TABLE auth_events;

ALTER TABLE audit_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_queue FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_queue FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_isolation ON audit_events FOR ALL
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());

-- The earlier tables' names, as read-only views over queue and chain (for operators' queries).
CREATE VIEW workspace_events WITH (security_invoker = true) AS
  SELECT tenant_id, id, actor_type, actor_id, action, outcome,
         b->'target'->>'type' AS target_type, b->'target'->>'id' AS target_id,
         b->>'ip' AS ip, b->>'userAgent' AS user_agent, b->>'requestId' AS request_id,
         coalesce(b->'details', '{}') AS details, occurred_at AS created_at, seq
    FROM (SELECT tenant_id, id, actor_type, actor_id, action, outcome, occurred_at, body::jsonb AS b, NULL::bigint AS seq FROM audit_queue
          UNION ALL
          SELECT tenant_id, id, actor_type, actor_id, action, outcome, occurred_at, body::jsonb, seq FROM audit_events) e;
CREATE VIEW auth_events WITH (security_invoker = true) AS
  SELECT id, account_id, b->>'email' AS email, action, outcome,
         b->>'ip' AS ip, b->>'userAgent' AS user_agent, b->>'requestId' AS request_id,
         coalesce(b->'details', '{}') AS details, occurred_at AS created_at, seq
    FROM (SELECT id, account_id, action, outcome, occurred_at, body::jsonb AS b, NULL::bigint AS seq FROM platform_audit_queue WHERE chain = 'accounts'
          UNION ALL
          SELECT id, account_id, action, outcome, occurred_at, body::jsonb, seq FROM platform_audit_events WHERE chain = 'accounts') e;

GRANT SELECT, INSERT, UPDATE ON audit_heads TO rampart_app;
GRANT SELECT, INSERT ON audit_checkpoints TO rampart_app;
GRANT SELECT, INSERT, UPDATE ON audit_signing_keys TO rampart_app;
GRANT SELECT, INSERT, UPDATE ON audit_sink_cursors TO rampart_app;
GRANT SELECT, INSERT, DELETE ON audit_queue, platform_audit_queue TO rampart_app;
GRANT SELECT, INSERT, DELETE ON audit_events, platform_audit_events TO rampart_app;
GRANT SELECT ON workspace_events, auth_events TO rampart_app;
