-- Key versions across processes (decision 0018). Several processes share a database — servers,
-- and the CLI's `rampart keys` — each with its own cache of every tenant's key versions. Two
-- things keep them from storing content that can no longer be read:
--
-- 1. The database refuses content that the app writes under a tenant key version below the
--    tenant's min_decrypt_version (a retired version): a writer whose cache predates a rotation,
--    or a write sealed before a retirement and committed after it (a long upload), fails and is
--    told to try again, instead of storing a row nobody can open. A retirement takes the
--    tenant's key-version lock exclusively, each such write shares it: the retirement waits for
--    the writes already made and then counts their rows; the writes after it see its minimum.
-- 2. A retirement waits for the longest key cache any process has declared, not only for its own:
--    key_caches holds that length.

-- 1 ------------------------------------------------------------------------------------------

-- Only the app role's writes are checked: the owner (migrations, a restore) writes what it means to.
-- Plain rows (key version 0, from before encryption) are not sealed under any version. Once per
-- statement, over the rows it wrote (a rewrap batch is one check, not one per row). The lock is
-- taken after the rows are written and before they can commit: a retirement that got the lock
-- first has committed its minimum by the time the check reads it; one that comes after waits for
-- this transaction, then counts its rows.
CREATE FUNCTION refuse_retired_key_version() RETURNS trigger LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  retired record;
BEGIN
  IF current_user <> 'rampart_app' THEN
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock_shared(hashtextextended('rampart.key_versions:' || t.tenant_id::text, 0))
     FROM (SELECT DISTINCT w.tenant_id FROM written w WHERE w.key_version > 0) AS t;
  SELECT w.key_version, k.min_decrypt_version INTO retired
    FROM written w JOIN tenant_keyrings k ON k.tenant_id = w.tenant_id
   WHERE w.key_version > 0 AND w.key_version < k.min_decrypt_version
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'content sealed under retired key version % (the minimum is %)', retired.key_version, retired.min_decrypt_version
      USING ERRCODE = 'RK001', HINT = 'seal it again under the current version';
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER records_key_version_insert AFTER INSERT ON records REFERENCING NEW TABLE AS written
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_retired_key_version();
CREATE TRIGGER records_key_version_update AFTER UPDATE ON records REFERENCING NEW TABLE AS written
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_retired_key_version();
CREATE TRIGGER documents_key_version_insert AFTER INSERT ON documents REFERENCING NEW TABLE AS written
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_retired_key_version();
CREATE TRIGGER documents_key_version_update AFTER UPDATE ON documents REFERENCING NEW TABLE AS written
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_retired_key_version();
CREATE TRIGGER secrets_key_version_insert AFTER INSERT ON secrets REFERENCING NEW TABLE AS written
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_retired_key_version();
CREATE TRIGGER secrets_key_version_update AFTER UPDATE ON secrets REFERENCING NEW TABLE AS written
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_retired_key_version();

-- 2 ------------------------------------------------------------------------------------------

-- One row: the longest RAMPART_KEY_CACHE_SECONDS of any process that cached keys of this
-- database. Each process raises it before it first caches; nothing lowers it (after lowering the
-- setting on every instance, an operator may lower it by hand). Global: no tenant data in it.
CREATE TABLE key_caches (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  max_cache_seconds integer NOT NULL DEFAULT 0 CHECK (max_cache_seconds >= 0)
);
INSERT INTO key_caches DEFAULT VALUES;
GRANT SELECT, UPDATE ON key_caches TO rampart_app;
