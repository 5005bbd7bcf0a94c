-- 003_people.sql: the secrets of people beside the log - password hashes, one-time set-password
-- tokens (invitations) and browser sessions. See docs/users-and-roles.md.
--
-- These are NOT events: a password is changed, a token used once, a session ended, and nothing
-- derived from a secret may sit in the immutable, hash-chained log forever. The events say THAT
-- something happened (UserPasswordSet, MemberInvited with invite_expires_at); these tables hold
-- the material. No table here holds a password, a token or a session id in the clear: passwords
-- as Argon2id PHC strings, tokens as HMAC-SHA256 under a key derived from the server secret,
-- session ids as SHA-256 (256 random bits need no key).

-- One password hash per user (users are global; roles are per workspace).
CREATE TABLE user_credentials (
  user_id       text        NOT NULL PRIMARY KEY CHECK (user_id <> ''),
  password_hash text        NOT NULL CHECK (password_hash <> ''),
  updated_at    timestamptz NOT NULL
);

-- Unused set-password tokens. Using one deletes it (DELETE ... RETURNING: of two concurrent uses
-- exactly one gets the row). Expired ones are purged.
CREATE TABLE invitations (
  token_hash   text        NOT NULL PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  user_id      text        NOT NULL CHECK (user_id <> ''),
  workspace_id text        NOT NULL CHECK (workspace_id <> ''),
  expires_at   timestamptz NOT NULL
);
-- Removing a member drops their unused tokens for that workspace.
CREATE INDEX invitations_user_workspace ON invitations (user_id, workspace_id);

-- Browser sessions, by the SHA-256 of the cookie value. Ended by logout, by a role change or
-- removal (every session of the user in the workspace), or purged after idle/absolute expiry.
CREATE TABLE sessions (
  id_hash      text        NOT NULL PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
  user_id      text        NOT NULL CHECK (user_id <> ''),
  workspace_id text        NOT NULL CHECK (workspace_id <> ''),
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL CHECK (last_seen_at >= created_at)
);
CREATE INDEX sessions_user_workspace ON sessions (user_id, workspace_id);

-- Least privilege: the application may read and change these tables (mutable state, not
-- history), nothing else; PUBLIC gets nothing.
REVOKE ALL ON user_credentials, invitations, sessions FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_credentials, invitations, sessions TO keyledger_app;
