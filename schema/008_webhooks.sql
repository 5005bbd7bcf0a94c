-- 008_webhooks.sql: postbacks (issue 10) - the endpoints' signing secrets (sealed), the delivery
-- queue with one row per (event, endpoint), every attempt, and each endpoint's health. See
-- docs/webhooks.md.
--
-- NOT events: the endpoints themselves are event-sourced (WebhookEndpointCreated, ...) and these
-- tables are the delivery machinery beside the log. The dispatcher of every node derives the
-- same rows from the log; UNIQUE (event_id, endpoint_id) keeps exactly one of each, so a
-- postback is enqueued once however many nodes run.

-- An endpoint's signing secrets by version (1 at creation, +1 per rotation). `sealed` is the
-- 32-byte HMAC key as AES-256-GCM ciphertext under a key derived from the server secret (HKDF-
-- SHA256, info "keyledger/webhook-secrets/v1"), authenticated with "<owner_id>/<version>":
-- nonce (12) || ciphertext || tag (16). It must be recoverable (it signs every postback), so it
-- is sealed, not hashed. Written BEFORE the event that names the version; an orphan row (the
-- append failed) is never read.
CREATE TABLE webhook_secrets (
  owner_id   text        NOT NULL CHECK (owner_id ~ '^(whe|key)_[0-9A-Za-z]{22}$'),
  version    integer     NOT NULL CHECK (version >= 1),
  sealed     bytea       NOT NULL CHECK (octet_length(sealed) = 60),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner_id, version)
);

-- One postback to one endpoint. `payload` is the exact body sent on every attempt, and
-- `message_id` the webhook-id header: the same on every retry, so receivers deduplicate.
-- status: pending (due at next_attempt_at), delivered (a 2xx), failed (every attempt of the
-- schedule failed; a person may retry it), dropped (the endpoint was deleted or disabled).
-- A sender claims due rows with FOR UPDATE SKIP LOCKED and leases them (lease_until, claim);
-- a row whose lease ran out (its node died mid-delivery) is claimed again.
CREATE TABLE webhook_deliveries (
  message_id      text        PRIMARY KEY CHECK (message_id ~ '^msg_[0-9A-Za-z]{22}$'),
  event_id        uuid        NOT NULL,
  endpoint_id     text        NOT NULL CHECK (endpoint_id ~ '^(whe|key)_[0-9A-Za-z]{22}$'),
  workspace_id    text        NOT NULL,
  event_seq       bigint      NOT NULL CHECK (event_seq > 0),
  event_type      text        NOT NULL CHECK (event_type ~ '^[a-z_.]{1,64}$'),
  payload         text        NOT NULL,
  status          text        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'delivered', 'failed', 'dropped')),
  attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL,
  lease_until     timestamptz,
  claim           text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, event_seq DESC);

-- Every attempt: when, how long, what came back. `error` is a public sentence (never a header
-- value or a body); `response_status` is null when no HTTP answer arrived.
CREATE TABLE webhook_attempts (
  message_id      text        NOT NULL REFERENCES webhook_deliveries (message_id) ON DELETE CASCADE,
  attempt         integer     NOT NULL CHECK (attempt >= 1),
  started_at      timestamptz NOT NULL,
  latency_ms      integer     NOT NULL CHECK (latency_ms >= 0),
  response_status integer     CHECK (response_status BETWEEN 100 AND 599),
  outcome         text        NOT NULL
                              CHECK (outcome IN ('delivered', 'http_error', 'timeout', 'refused',
                                                 'network')),
  error           text        NOT NULL DEFAULT '' CHECK (length(error) <= 300),
  PRIMARY KEY (message_id, attempt)
);

-- Since when every attempt to an endpoint has failed (null: the last one succeeded). Past the
-- failure window the dispatcher appends WebhookEndpointDisabled (reason failing).
CREATE TABLE webhook_endpoint_health (
  endpoint_id     text        PRIMARY KEY,
  failing_since   timestamptz,
  last_success_at timestamptz,
  last_failure_at timestamptz
);

REVOKE ALL ON webhook_secrets, webhook_deliveries, webhook_attempts, webhook_endpoint_health
  FROM PUBLIC;
-- Secrets are written once, never changed.
GRANT SELECT, INSERT ON webhook_secrets TO keyledger_app;
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO keyledger_app;
-- A person enabling an endpoint again clears its health row.
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoint_health TO keyledger_app;
GRANT SELECT, INSERT ON webhook_attempts TO keyledger_app;
