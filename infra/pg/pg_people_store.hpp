#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "infra/core/people_store.hpp"

namespace keyledger::infra {

/// The secrets of people in PostgreSQL (schema/003: user_credentials, invitations, sessions).
/// Owns one connection (libpqxx 6.4), opened lazily with `SET ROLE keyledger_app` when the login
/// role is a member, statements prepared once per connection. Not thread-safe: one instance per
/// thread.
///
/// consume_invitation() is one `DELETE ... RETURNING`: of two concurrent consumers of a token
/// the second finds the row gone, so a token is used at most once. It is not retried after a
/// broken connection (the row may be deleted already: the caller answers 503 and the token is
/// spent, which errs on the safe side); neither are add_invitation() and add_session() (an
/// insert's outcome is unknown then). Everything else is retried once on a new connection
/// (repeating it changes nothing). touch_session() only moves last_seen_at forward.
///
/// Input that cannot name a row (a hash that is not 64 lowercase hex characters, an empty or
/// non-UTF-8 id) finds nothing and deletes nothing, without a round trip. Writes of such input,
/// an empty password hash or an instant outside timestamptz's range throw
/// infra::error(bad_request). Other errors: unavailable (no connection, connection lost),
/// storage (anything else); messages never quote row values or hashes.
class pg_people_store final : public people_store {
 public:
  /// Longest user id, workspace id or password hash stored.
  static constexpr std::size_t max_text_bytes = 1024;

  explicit pg_people_store(std::string conninfo);
  ~pg_people_store() override;
  pg_people_store(const pg_people_store&) = delete;
  pg_people_store& operator=(const pg_people_store&) = delete;

  void set_password_hash(std::string_view user_id, std::string_view encoded_hash,
                         std::int64_t now_us) override;
  std::optional<std::string> password_hash(std::string_view user_id) override;

  void add_invitation(const invitation_record& invitation) override;
  std::optional<invitation_record> consume_invitation(std::string_view token_hash,
                                                      std::int64_t now_us) override;
  std::size_t delete_invitations(std::string_view user_id, std::string_view workspace_id) override;

  void add_session(const session_record& session) override;
  std::optional<session_record> find_session(std::string_view id_hash) override;
  void touch_session(std::string_view id_hash, std::int64_t now_us) override;
  void delete_session(std::string_view id_hash) override;
  std::size_t delete_sessions(std::string_view user_id, std::string_view workspace_id) override;
  std::size_t purge(std::int64_t idle_before_us, std::int64_t created_before_us,
                    std::int64_t now_us) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra
