-- 001_events.sql: the append-only event log. See docs/event-store.md.
--
-- Applied by `keyledger migrate` (infra/pg/migrations.cpp) in one transaction, as a role that may
-- create objects and roles. Every statement is safe to apply to a fresh database; the migration
-- runner records it in schema_migrations so it is applied once per database.

-- Payloads and metadata are stored as `text` byte for byte and hashed over those bytes; only a
-- UTF8 database stores every valid UTF-8 string unchanged, so refuse anything else.
DO $$
BEGIN
  IF current_setting('server_encoding') <> 'UTF8' THEN
    RAISE EXCEPTION 'keyledger needs a UTF8 database, this one is %',
      current_setting('server_encoding');
  END IF;
END
$$;

-- The application's role: it may only INSERT and SELECT events. Roles are cluster-wide and several
-- databases (tests, staging) may share a cluster and migrate concurrently, so creating it tolerates
-- both "already exists" and the unique violation a concurrent creator causes.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'keyledger_app') THEN
    BEGIN
      CREATE ROLE keyledger_app NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  -- The migrating (owner) role becomes a member so the server it runs can SET ROLE keyledger_app.
  IF NOT EXISTS (
    SELECT FROM pg_catalog.pg_auth_members m
    JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
    JOIN pg_catalog.pg_roles u ON u.oid = m.member
    WHERE r.rolname = 'keyledger_app' AND u.rolname = current_user
  ) THEN
    BEGIN
      EXECUTE format('GRANT keyledger_app TO %I', current_user);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;

CREATE TABLE events (
  -- Gapless and in commit order: assigned as head + 1 under a transaction-scoped advisory lock
  -- (infra/pg/pg_event_store.cpp), never from a sequence. The primary key is the backstop.
  global_seq  bigint      NOT NULL PRIMARY KEY CHECK (global_seq >= 1),
  stream_id   text        NOT NULL CHECK (stream_id <> ''),
  version     bigint      NOT NULL CHECK (version >= 1),
  event_id    uuid        NOT NULL,
  type        text        NOT NULL CHECK (type <> ''),
  payload     text        NOT NULL,
  metadata    text        NOT NULL,
  recorded_at timestamptz NOT NULL,
  -- SHA-256 over the previous hash and this row's exact bytes (docs/event-store.md "Hash chain").
  hash        bytea       NOT NULL CHECK (octet_length(hash) = 32),
  -- Optimistic concurrency per stream: a second writer of the same version fails.
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
  -- A retried command (same event id) appends nothing twice.
  CONSTRAINT events_event_id_key UNIQUE (event_id)
);

COMMENT ON TABLE events IS
  'Append-only event log. Rows are never updated or deleted; see docs/event-store.md.';

-- Append-only for everyone, superusers included: a row trigger refuses UPDATE and DELETE, a
-- statement trigger refuses TRUNCATE. (Disabling them takes the table owner or a superuser and
-- breaks the hash chain, which verify_chain reports.)
CREATE FUNCTION events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_no_update_delete
  BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_no_truncate
  BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Wakes subscribers (projections on every node). pg_notify is delivered at commit, so a listener
-- never reads before the rows are visible; the payload is the new head seq (a hint only:
-- subscribers always read from their own checkpoint).
CREATE FUNCTION events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('keyledger_events', coalesce((SELECT max(global_seq) FROM new_rows)::text, ''));
  RETURN NULL;
END
$$;

CREATE TRIGGER events_notify_after_insert
  AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- Least privilege: nobody but the owner by default; the application only reads and appends.
REVOKE ALL ON events FROM PUBLIC;
GRANT SELECT, INSERT ON events TO keyledger_app;
GRANT USAGE ON SCHEMA public TO keyledger_app;
