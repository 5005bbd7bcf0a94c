#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/api_key.hpp"
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
  bool operator==(const workspace_created&) const = default;
};

using workspace_event = std::variant<workspace_created>;

std::string_view event_type(const workspace_event& e) noexcept;

struct workspace_state {
  std::uint64_t version = 0;
  bool exists = false;
  std::string workspace_id;
  std::string name;
  std::string key_prefix;
  timestamp created_at{};
  key_policy policy;
};

struct create_workspace {
  std::string workspace_id;
  std::string name;
  std::string key_prefix;
  key_policy policy;
  timestamp now{};
};

using workspace_command = std::variant<create_workspace>;

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
