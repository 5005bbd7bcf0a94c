#include "domain/workspace/workspace.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/keys/key_format.hpp"
#include "domain/overloaded.hpp"
#include "domain/people/policy.hpp"

namespace keyledger::domain {

namespace {

using decision = result<std::vector<workspace_event>, rejection>;

bool is_lower_or_digit(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

decision decide_create(const workspace_state& state, const create_workspace& c) {
  if (state.exists) return rejection::workspace_already_exists;
  if (!valid_workspace_name(c.name)) return rejection::invalid_workspace_name;
  if (!valid_key_prefix(c.key_prefix)) return rejection::invalid_key_prefix;
  if (!valid_key_policy(c.policy)) return rejection::invalid_key_policy;
  if (!valid_catalog(c.scope_catalog)) return rejection::invalid_scopes;
  return std::vector<workspace_event>{
      workspace_created{c.workspace_id, c.name, c.key_prefix, c.now, c.policy, c.scope_catalog}};
}

decision decide_settings(const workspace_state& state, const update_workspace_settings& c) {
  if (!state.exists) return rejection::workspace_not_found;
  workspace_settings_changed e;
  e.workspace_id = state.workspace_id;
  e.changed_by = c.changed_by;
  e.changed_at = c.now;
  if (c.policy) {
    if (!valid_key_policy(*c.policy)) return rejection::invalid_key_policy;
    if (*c.policy != state.policy) e.policy = c.policy;
  }
  if (c.scope_catalog) {
    if (!valid_catalog(*c.scope_catalog)) return rejection::invalid_scopes;
    if (*c.scope_catalog != state.scope_catalog) e.scope_catalog = c.scope_catalog;
  }
  if (c.on_leak && *c.on_leak != state.on_leak) e.on_leak = c.on_leak;
  if (!e.policy && !e.scope_catalog && !e.on_leak) return std::vector<workspace_event>{};
  return std::vector<workspace_event>{std::move(e)};
}

}  // namespace

std::string_view event_type(const workspace_event& e) noexcept {
  return std::visit(
      overloaded{
          [](const workspace_created&) -> std::string_view { return "WorkspaceCreated"; },
          [](const workspace_settings_changed&) -> std::string_view {
            return "WorkspaceSettingsChanged";
          },
      },
      e);
}

bool valid_key_policy(const key_policy& p) noexcept {
  constexpr std::chrono::days longest{max_lifespan_days};
  return p.max_lifespan >= std::chrono::days{1} && p.max_lifespan <= longest &&
         p.default_lifespan >= std::chrono::days{1} && p.default_lifespan <= p.max_lifespan;
}

bool valid_workspace_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63 || !is_lower_or_digit(name[0])) return false;
  for (const char c : name) {
    if (!is_lower_or_digit(c) && c != '-') return false;
  }
  return true;
}

std::string workspace_stream_id(std::string_view workspace_id) {
  std::string out = "workspace-";
  out.append(workspace_id);
  return out;
}

result<std::vector<workspace_event>, rejection> decide(const workspace_state& state,
                                                       const workspace_command& command) {
  return std::visit(
      overloaded{
          [&](const create_workspace& c) { return decide_create(state, c); },
          [&](const update_workspace_settings& c) { return decide_settings(state, c); },
      },
      command);
}

workspace_state evolve(workspace_state state, const workspace_event& event) {
  std::visit(overloaded{
                 [&](const workspace_created& e) {
                   state.exists = true;
                   state.workspace_id = e.workspace_id;
                   state.name = e.name;
                   state.key_prefix = e.key_prefix;
                   state.created_at = e.created_at;
                   state.policy = e.policy;
                   state.scope_catalog = e.scope_catalog;
                 },
                 [&](const workspace_settings_changed& e) {
                   if (e.policy) state.policy = *e.policy;
                   if (e.scope_catalog) state.scope_catalog = *e.scope_catalog;
                   if (e.on_leak) state.on_leak = *e.on_leak;
                 },
             },
             event);
  ++state.version;
  return state;
}

}  // namespace keyledger::domain
