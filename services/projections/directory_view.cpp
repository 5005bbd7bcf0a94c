#include "services/projections/directory_view.hpp"

#include <algorithm>
#include <mutex>
#include <tuple>
#include <variant>

#include "infra/core/log.hpp"
#include "infra/json/user_codec.hpp"

namespace keyledger::services {

namespace {

bool is_user_event_type(std::string_view type) noexcept {
  return type == "UserRegistered" || type == "UserPasswordSet" || type == "UserDisplayNameChanged";
}

bool is_member_event_type(std::string_view type) noexcept {
  return type == "MemberInvited" || type == "MemberRoleChanged" || type == "MemberRemoved";
}

void log_skipped(const infra::recorded_event& e) {
  // Type and position only: payloads hold emails and names, which stay out of the log.
  infra::log(infra::log_level::error, "directory_skipped_event",
             {{"type", e.type}, {"global_seq", std::to_string(e.global_seq)}});
}

// A payload that names another user or workspace than its stream is not applied. (Events fed
// without a stream id, as in some tests, are taken at their word.)
bool stream_matches(const infra::recorded_event& r, const std::string& expected_stream) {
  return r.stream_id.empty() || r.stream_id == expected_stream;
}

}  // namespace

std::span<const std::string_view> directory_view::categories() const noexcept {
  // The stream categories of domain::user_stream_id and domain::members_stream_id.
  static constexpr std::string_view people[] = {"user", "workspace_members"};
  return people;
}

void directory_view::apply(const infra::recorded_event& e) {
  if (is_user_event_type(e.type)) {
    const auto decoded = infra::decode_user_event(e.type, e.payload);
    bool applied = false;
    if (decoded) {
      std::unique_lock lock(mutex_);
      applied = apply_user_event(e, *decoded);
    }
    if (!applied) log_skipped(e);
  } else if (is_member_event_type(e.type)) {
    const auto decoded = infra::decode_member_event(e.type, e.payload);
    bool applied = false;
    if (decoded) {
      std::unique_lock lock(mutex_);
      applied = apply_member_event(e, *decoded);
    }
    if (!applied) log_skipped(e);
  }
  applied_.store(e.global_seq, std::memory_order_release);
}

bool directory_view::apply_user_event(const infra::recorded_event& r,
                                      const domain::user_event& event) {
  const std::string& user_id =
      std::visit([](const auto& alt) -> const std::string& { return alt.user_id; }, event);
  if (!stream_matches(r, domain::user_stream_id(user_id))) return false;

  if (const auto* registered = std::get_if<domain::user_registered>(&event)) {
    if (users_.contains(user_id)) return false;  // a user stream starts once
    users_.emplace(user_id, user_entry{user_id, registered->email, registered->display_name,
                                       registered->registered_at, false});
    // Emails are unique in the log (the registration's event id derives from the address), so
    // a clash is not expected; should one appear, the first registration keeps the address.
    user_by_email_.try_emplace(domain::normalize_email(registered->email), user_id);
    return true;
  }
  const auto it = users_.find(user_id);
  if (it == users_.end()) return false;
  if (std::holds_alternative<domain::user_password_set>(event)) {
    it->second.password_set = true;
  } else {
    it->second.display_name = std::get<domain::user_display_name_changed>(event).display_name;
  }
  return true;
}

bool directory_view::apply_member_event(const infra::recorded_event& r,
                                        const domain::member_event& event) {
  const std::string& workspace_id =
      std::visit([](const auto& alt) -> const std::string& { return alt.workspace_id; }, event);
  const std::string& user_id =
      std::visit([](const auto& alt) -> const std::string& { return alt.user_id; }, event);
  if (!stream_matches(r, domain::members_stream_id(workspace_id))) return false;

  auto& state = members_[workspace_id];
  state = domain::evolve(std::move(state), event);
  if (const auto role = state.role_of(user_id)) {
    roles_by_user_[user_id][workspace_id] = *role;
  } else if (auto it = roles_by_user_.find(user_id); it != roles_by_user_.end()) {
    it->second.erase(workspace_id);
    if (it->second.empty()) roles_by_user_.erase(it);
  }
  return true;
}

std::optional<user_entry> directory_view::find_user(std::string_view user_id) const {
  std::shared_lock lock(mutex_);
  const auto it = users_.find(std::string(user_id));
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

std::optional<user_entry> directory_view::find_user_by_email(std::string_view email) const {
  const std::string normalized = domain::normalize_email(email);
  std::shared_lock lock(mutex_);
  const auto by_email = user_by_email_.find(normalized);
  if (by_email == user_by_email_.end()) return std::nullopt;
  const auto it = users_.find(by_email->second);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

std::optional<domain::role> directory_view::role_of(std::string_view workspace_id,
                                                    std::string_view user_id) const {
  std::shared_lock lock(mutex_);
  const auto ws = members_.find(std::string(workspace_id));
  if (ws == members_.end()) return std::nullopt;
  return ws->second.role_of(user_id);
}

std::vector<member_entry> directory_view::members(std::string_view workspace_id) const {
  std::vector<member_entry> out;
  {
    std::shared_lock lock(mutex_);
    const auto ws = members_.find(std::string(workspace_id));
    if (ws == members_.end()) return out;
    out.reserve(ws->second.members.size());
    for (const auto& [user_id, role] : ws->second.members) {
      const auto user = users_.find(user_id);
      member_entry m;
      m.user = user != users_.end() ? user->second : user_entry{user_id, "", "", {}, false};
      m.member_role = role;
      out.push_back(std::move(m));
    }
  }
  std::sort(out.begin(), out.end(), [](const member_entry& a, const member_entry& b) {
    return std::tie(a.user.email, a.user.user_id) < std::tie(b.user.email, b.user.user_id);
  });
  return out;
}

std::vector<std::pair<std::string, domain::role>> directory_view::memberships(
    std::string_view user_id) const {
  std::shared_lock lock(mutex_);
  const auto it = roles_by_user_.find(std::string(user_id));
  if (it == roles_by_user_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

}  // namespace keyledger::services
