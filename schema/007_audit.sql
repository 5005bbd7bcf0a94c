-- 007_audit.sql: the verifiable log beside the events: an RFC 6962 Merkle tree over the event
-- hashes, the signed checkpoints of its heads, the checkpoint key (sealed) and which workspace
-- each stream belongs to (for a workspace's auditor). See docs/audit.md.
--
-- Written by one node at a time (the checkpoint signer, services/app/audit), under the
-- transaction-scoped advisory lock "kl-audit" and only after checking that the tree still has the
-- size it decided from, so two nodes never write the same size twice. Everything here is derived
-- from the events and from the checkpoint key: nothing is updated or deleted, ever.

-- The checkpoint key: Ed25519, one per log, created by the first server to start. `sealed` is the
-- 32-byte private seed as AES-256-GCM ciphertext under a key derived from the server secret
-- (HKDF-SHA256, info "keyledger/audit-checkpoint-key/v1"), authenticated with the origin:
-- nonce (12) || ciphertext || tag (16). The public key is public.
CREATE TABLE audit_checkpoint_key (
  one        boolean     PRIMARY KEY DEFAULT true CHECK (one),
  origin     text        NOT NULL CHECK (origin ~ '^[!-*,-~]{1,200}$'),
  public_key bytea       NOT NULL CHECK (octet_length(public_key) = 32),
  sealed     bytea       NOT NULL CHECK (octet_length(sealed) = 60),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The perfect subtrees of the tree: node (level, idx) is the RFC 6962 hash of leaves
-- [idx * 2^level, (idx + 1) * 2^level); level 0 holds the leaf hashes SHA-256(0x00 || event hash)
-- of the events in global order (leaf idx = global_seq - 1). A node is written once its last leaf
-- is; any root or proof for any size is computed from O(log^2 n) of them.
CREATE TABLE audit_tree_nodes (
  level smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
  idx   bigint   NOT NULL CHECK (idx >= 0),
  hash  bytea    NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- Signed checkpoints: one per tree size, ever. `note` is the C2SP signed note, byte for byte.
CREATE TABLE audit_checkpoints (
  tree_size bigint      PRIMARY KEY CHECK (tree_size >= 1),
  root_hash bytea       NOT NULL CHECK (octet_length(root_hash) = 32),
  signed_at timestamptz NOT NULL,
  note      text        NOT NULL
);

-- Which workspace a stream's events belong to, from the stream's first event: keys, clients,
-- grants and access-token revocations carry their workspace, a workspace's own and its members'
-- streams are named after it. Streams of no workspace (people's accounts, the signing keys) are
-- not listed: they are the operator's to audit.
CREATE TABLE audit_streams (
  stream_id    text PRIMARY KEY,
  workspace_id text NOT NULL CHECK (workspace_id <> '')
);
CREATE INDEX audit_streams_workspace ON audit_streams (workspace_id);

-- Append-only like the events: a row trigger refuses UPDATE and DELETE, a statement trigger
-- TRUNCATE (events_refuse_change, schema/001).
CREATE TRIGGER audit_tree_nodes_no_update_delete BEFORE UPDATE OR DELETE ON audit_tree_nodes
  FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER audit_tree_nodes_no_truncate BEFORE TRUNCATE ON audit_tree_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER audit_checkpoint_key_no_update_delete BEFORE UPDATE OR DELETE
  ON audit_checkpoint_key FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER audit_streams_no_update_delete BEFORE UPDATE OR DELETE ON audit_streams
  FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

-- Least privilege: the application reads and inserts, nothing else.
REVOKE ALL ON audit_checkpoint_key, audit_tree_nodes, audit_checkpoints, audit_streams FROM PUBLIC;
GRANT SELECT, INSERT ON audit_checkpoint_key, audit_tree_nodes, audit_checkpoints, audit_streams
  TO keyledger_app;
