#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "domain/people/user.hpp"
#include "infra/core/event_log/consumer.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::services {

struct user_entry {
  std::string user_id;
  std::string email;
  std::string display_name;
  domain::timestamp registered_at{};
  bool password_set = false;
};

struct member_entry {
  user_entry user;
  domain::role member_role = domain::role::member;
};

/// Users and workspace memberships, in memory, fed by the same subscription as the key view
/// (user-* and workspace_members-* streams). The subscription applies an event to this view
/// BEFORE the key view, so once active_key_view::wait_applied(seq) returns, this view has seq
/// too. Thread-safe: one writer, many readers (shared lock).
class directory_view final : public infra::log_consumer {
 public:
  std::string_view name() const noexcept override { return "directory_view"; }
  /// Only the people streams.
  std::span<const std::string_view> categories() const noexcept override;

  /// Applies one event (other types ignored; undecodable ones logged and skipped, as are a
  /// password or name change of an unknown user and an event whose payload names another
  /// user or workspace than its stream). Precondition: global_seq order, each event once.
  void apply(const infra::recorded_event& e) override;

  std::optional<user_entry> find_user(std::string_view user_id) const;
  /// By email, normalised with domain::normalize_email.
  std::optional<user_entry> find_user_by_email(std::string_view email) const;
  /// The user's role in the workspace, or nullopt if not a member (never, or removed).
  std::optional<domain::role> role_of(std::string_view workspace_id,
                                      std::string_view user_id) const;
  /// The workspace's members ordered by email (then user id). A member whose UserRegistered
  /// has not been applied yet (another stream) is listed with only user_id set.
  std::vector<member_entry> members(std::string_view workspace_id) const;
  /// Workspaces the user belongs to, with the role in each, ordered by workspace id.
  std::vector<std::pair<std::string, domain::role>> memberships(std::string_view user_id) const;

  std::uint64_t applied_seq() const noexcept { return applied_.load(std::memory_order_acquire); }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, user_entry> users_;
  std::unordered_map<std::string, std::string> user_by_email_;
  std::unordered_map<std::string, domain::membership_state> members_;  // by workspace id
  // user id -> workspace id -> role: memberships() without a scan of every workspace.
  std::unordered_map<std::string, std::map<std::string, domain::role>> roles_by_user_;

  // Apply one decoded event under the exclusive lock; false = skipped.
  bool apply_user_event(const infra::recorded_event& r, const domain::user_event& e);
  bool apply_member_event(const infra::recorded_event& r, const domain::member_event& e);
  std::atomic<std::uint64_t> applied_{0};
};

}  // namespace keyledger::services
