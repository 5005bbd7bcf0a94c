#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "infra/core/people_store.hpp"

namespace keyledger::test_support {

/// In-memory fake of infra::people_store with pg_people_store's semantics: consume deletes the
/// invitation whether or not it expired and returns it only if it expires after now; touch only
/// moves last_seen_at forward; purge deletes sessions idle or created before the cutoffs and
/// invitations expired at now; bad input (a hash that is not 64 lowercase hex, an empty id) finds
/// and deletes nothing, and writing it throws infra::error(bad_request).
///
/// Unlike the real store one instance may be shared by threads (every member locks), which suits
/// tests that stand in one fake for the shared database.
class memory_people_store final : public infra::people_store {
 public:
  void set_password_hash(std::string_view user_id, std::string_view encoded_hash,
                         std::int64_t now_us) override;
  std::optional<std::string> password_hash(std::string_view user_id) override;

  void add_invitation(const infra::invitation_record& invitation) override;
  std::optional<infra::invitation_record> consume_invitation(std::string_view token_hash,
                                                             std::int64_t now_us) override;
  std::size_t delete_invitations(std::string_view user_id, std::string_view workspace_id) override;

  void add_session(const infra::session_record& session) override;
  std::optional<infra::session_record> find_session(std::string_view id_hash) override;
  void touch_session(std::string_view id_hash, std::int64_t now_us) override;
  void delete_session(std::string_view id_hash) override;
  std::size_t delete_sessions(std::string_view user_id, std::string_view workspace_id) override;
  std::size_t purge(std::int64_t idle_before_us, std::int64_t created_before_us,
                    std::int64_t now_us) override;

  /// Stored rows, for tests.
  std::size_t invitation_count() const;
  std::size_t session_count() const;
  std::map<std::string, infra::invitation_record, std::less<>> invitations() const;
  std::map<std::string, infra::session_record, std::less<>> sessions() const;

 private:
  struct credential {
    std::string hash;
    std::int64_t updated_at_us = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, credential, std::less<>> credentials_;
  std::map<std::string, infra::invitation_record, std::less<>> invitations_;  // by token hash
  std::map<std::string, infra::session_record, std::less<>> sessions_;        // by id hash
};

}  // namespace keyledger::test_support
