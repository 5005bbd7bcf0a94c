#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyledger::infra {

/// A browser session. Only SHA-256 of the session id is stored (the cookie value never is).
struct session_record {
  std::string id_hash;  ///< 64 lowercase hex (infra::session_id_hash)
  std::string user_id;
  std::string workspace_id;
  std::int64_t created_at_us = 0;
  std::int64_t last_seen_at_us = 0;
};

/// A one-time set-password token (invitation). Only a keyed hash of the token is stored.
struct invitation_record {
  std::string token_hash;  ///< 64 lowercase hex: HMAC-SHA256(derived key, token)
  std::string user_id;
  std::string workspace_id;
  std::int64_t expires_at_us = 0;
};

/// The secrets of people (port): Argon2id password hashes, invitation tokens and sessions. These
/// are mutable tables beside the log (schema/003): a password can be changed and a session
/// deleted, which an immutable event cannot be. Implementation: pg_people_store (infra/pg);
/// not thread-safe, one instance per thread. Every method throws infra::error on storage
/// failure.
class people_store {
 public:
  virtual ~people_store() = default;

  /// Inserts or replaces the user's password hash (a PHC string, never a password).
  virtual void set_password_hash(std::string_view user_id, std::string_view encoded_hash,
                                 std::int64_t now_us) = 0;
  virtual std::optional<std::string> password_hash(std::string_view user_id) = 0;

  virtual void add_invitation(const invitation_record& invitation) = 0;
  /// Deletes and returns the invitation if it exists and expires after now_us. Atomic: of two
  /// concurrent consumers of one token exactly one gets it. An expired one is deleted too.
  virtual std::optional<invitation_record> consume_invitation(std::string_view token_hash,
                                                              std::int64_t now_us) = 0;
  /// Deletes a user's unused invitations for a workspace (on removal).
  virtual std::size_t delete_invitations(std::string_view user_id,
                                         std::string_view workspace_id) = 0;

  virtual void add_session(const session_record& session) = 0;
  virtual std::optional<session_record> find_session(std::string_view id_hash) = 0;
  /// Moves last_seen_at forward (never back).
  virtual void touch_session(std::string_view id_hash, std::int64_t now_us) = 0;
  virtual void delete_session(std::string_view id_hash) = 0;
  /// Ends every session of a user in a workspace (removal, role change); returns how many.
  virtual std::size_t delete_sessions(std::string_view user_id,
                                      std::string_view workspace_id) = 0;
  /// Deletes sessions idle since before idle_before_us or created before created_before_us,
  /// and expired invitations; returns how many rows.
  virtual std::size_t purge(std::int64_t idle_before_us, std::int64_t created_before_us,
                            std::int64_t now_us) = 0;
};

}  // namespace keyledger::infra
