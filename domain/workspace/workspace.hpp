#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain {

/// Type name "WorkspaceCreated". Users, roles and settings will join as further events.
struct workspace_created {
  std::string workspace_id;
  std::string name;
  std::string key_prefix;
  timestamp created_at{};
  /// Absent in events written before the lifecycle issue: decodes as key_policy{}.
  key_policy policy;
  /// The platform's own `resource:action` scopes that keys may carry (besides keyledger's
  /// management scopes, domain/people/policy.hpp). Absent in older events: empty.
  std::vector<std::string> scope_catalog;
  bool operator==(const workspace_created&) const = default;
};

/// Type name "WorkspaceSettingsChanged": only changed members are present.
struct workspace_settings_changed {
  std::string workspace_id;
  std::optional<key_policy> policy;
  std::optional<std::vector<std::string>> scope_catalog;
  std::string changed_by;  ///< a user id
  timestamp changed_at{};
  /// What a signed leak report does to a live key of the workspace (since leak reports).
  std::optional<leak_action> on_leak;
  bool operator==(const workspace_settings_changed&) const = default;
};

using workspace_event = std::variant<workspace_created, workspace_settings_changed>;

std::string_view event_type(const workspace_event& e) noexcept;

struct workspace_state {
  std::uint64_t version = 0;
  bool exists = false;
  std::string workspace_id;
  std::string name;
  std::string key_prefix;
  timestamp created_at{};
  key_policy policy;
  std::vector<std::string> scope_catalog;
  leak_action on_leak = leak_action::revoke;  ///< revoke unless a settings change says disable
};

struct create_workspace {
  std::string workspace_id;
  std::string name;
  std::string key_prefix;
  key_policy policy;
  std::vector<std::string> scope_catalog;  ///< domain::valid_catalog
  timestamp now{};
};

/// Decides WorkspaceSettingsChanged with the members that really differ (nothing if none).
/// on_leak: revoke (the default) or disable, for keys named by a leak report.
/// Refuses an invalid policy (invalid_key_policy) or catalog (invalid_scopes), and a missing
/// workspace (workspace_not_found).
struct update_workspace_settings {
  std::string workspace_id;
  std::optional<key_policy> policy;
  std::optional<std::vector<std::string>> scope_catalog;
  std::string changed_by;
  timestamp now{};
  std::optional<leak_action> on_leak;
};

using workspace_command = std::variant<create_workspace, update_workspace_settings>;

/// default_lifespan 1 day..max_lifespan; max_lifespan 1..3650 days.
bool valid_key_policy(const key_policy& p) noexcept;

/// Workspace names: 1-63 characters of [a-z0-9-], starting with a letter or digit.
bool valid_workspace_name(std::string_view name) noexcept;

/// "workspace-<workspace_id>".
std::string workspace_stream_id(std::string_view workspace_id);

result<std::vector<workspace_event>, rejection> decide(const workspace_state& state,
                                                       const workspace_command& command);
workspace_state evolve(workspace_state state, const workspace_event& event);

}  // namespace keyledger::domain
