-- 002_telemetry_idempotency.sql: usage telemetry (last use, request log, failure counters) and
-- stored responses of idempotent requests. See docs/event-store.md ("Beside the log").
--
-- These are NOT events: they are high-volume, mutable (upserts, counters, purges) and carry no
-- decision of the domain, so they live in ordinary tables the application may update and delete,
-- outside the append-only, hash-chained log. No table here ever holds an API key or a server
-- secret: keys are named by their id, and idempotent responses are sealed (AES-256-GCM) before
-- they are stored.

-- Last verification of each key. Written by pg_telemetry_store in batches; only ever moves
-- forward in time (a late batch never moves it back).
CREATE TABLE key_last_use (
  key_id text        NOT NULL PRIMARY KEY,
  at     timestamptz NOT NULL,
  ip     text        NOT NULL  -- canonical text, '' when unknown
);

-- Each key's request log (not for off-the-record keys), read newest first with an (at, id)
-- cursor. Purged by age.
CREATE TABLE key_requests (
  id           bigserial   NOT NULL PRIMARY KEY,
  key_id       text        NOT NULL,
  workspace_id text        NOT NULL,
  at           timestamptz NOT NULL,
  ip           text        NOT NULL,
  code         text        NOT NULL
);
CREATE INDEX key_requests_key_at_id ON key_requests (key_id, at DESC, id DESC);
-- Purging by age scans this instead of the table: rows arrive roughly in time order, which is
-- what a BRIN index summarises well, at a tiny fraction of a btree's size and write cost.
CREATE INDEX key_requests_at_brin ON key_requests USING brin (at);

-- Failed authentication attempts counted per (workspace, source IP, code); workspace_id is ''
-- when the key's prefix names no single workspace.
CREATE TABLE auth_failures (
  workspace_id text        NOT NULL,
  source_ip    text        NOT NULL,
  code         text        NOT NULL,
  count        bigint      NOT NULL CHECK (count >= 0),
  first_at     timestamptz NOT NULL,
  last_at      timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, source_ip, code)
);
CREATE INDEX auth_failures_workspace_last_at ON auth_failures (workspace_id, last_at DESC);

-- Idempotency-Key: one row per (scope = authenticated key id, client's key). A claim inserts a
-- pending row (complete = false, no response); the response, sealed, completes it. Purged by age.
CREATE TABLE idempotency_keys (
  scope       text        NOT NULL,
  key         text        NOT NULL,
  fingerprint bytea       NOT NULL CHECK (octet_length(fingerprint) = 32),
  complete    boolean     NOT NULL DEFAULT false,
  response    bytea,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (scope, key),
  CHECK (complete = (response IS NOT NULL))
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Least privilege: the application may read and change these tables (they are telemetry and
-- caches, not history), nothing else; PUBLIC gets nothing.
REVOKE ALL ON key_last_use, key_requests, auth_failures, idempotency_keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE key_requests_id_seq FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE
  ON key_last_use, key_requests, auth_failures, idempotency_keys TO keyledger_app;
GRANT USAGE ON SEQUENCE key_requests_id_seq TO keyledger_app;
