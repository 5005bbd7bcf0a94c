-- 005_consumer_checkpoints.sql: where each durable consumer of the log has got to.
--
-- A consumer (infra/core/event_log/consumer.hpp) that must not start from the beginning after a
-- restart - the postback dispatcher, the checkpoint signer - keeps the global_seq of the last
-- event it has fully handled here, saved by its subscription after each batch. In-memory
-- projections are rebuilt from the log on every start and keep no row. Several nodes running
-- the same consumer share its row; it only moves forward (GREATEST on save), and delivery is at
-- least once, so consumers are idempotent.
CREATE TABLE consumer_checkpoints (
  consumer   text PRIMARY KEY CHECK (consumer <> '' AND length(consumer) <= 200),
  seq        bigint NOT NULL CHECK (seq >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON consumer_checkpoints TO keyledger_app;
