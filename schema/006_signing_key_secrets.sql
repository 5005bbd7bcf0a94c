-- 006_signing_key_secrets.sql: the private halves of the server's token signing keys, sealed,
-- beside the log. See docs/oauth.md ("Signing keys").
--
-- NOT events: a private key must never sit in the immutable, hash-chained log (nor in any
-- projection or log line). The events say that a key exists (SigningKeyCreated with its PUBLIC
-- JWK); this table holds the private key as AES-256-GCM ciphertext under a key derived from the
-- server secret (HKDF-SHA256, info "keyledger/signing-keys/v1"), authenticated with the kid: a
-- row copied under another kid does not open. `sealed` is nonce (12) || ciphertext || tag (16) of
-- the key's PKCS#8 DER.
--
-- The row is written BEFORE the key's SigningKeyCreated is appended. A row whose event never got
-- appended (the append failed, or another node's key won the race) is an orphan: no event names
-- its kid, so nothing ever loads it. Orphans are harmless and are kept (a few hundred bytes a
-- rotation) rather than deleted by a job that could race with an append still in flight.
CREATE TABLE signing_key_secrets (
  kid        text        PRIMARY KEY CHECK (kid ~ '^sig_[0-9A-Za-z]{22}$'),
  sealed     bytea       NOT NULL CHECK (octet_length(sealed) > 28),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Least privilege: the application inserts and reads sealed keys, never changes or deletes one
-- (a key is created once; keeping retired keys costs nothing and keeps old JWKS reproducible).
REVOKE ALL ON signing_key_secrets FROM PUBLIC;
GRANT SELECT, INSERT ON signing_key_secrets TO keyledger_app;
