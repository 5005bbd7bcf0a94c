#include "domain/api_key.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "domain/overloaded.hpp"

namespace keyledger::domain {

namespace {

using decision = result<std::vector<api_key_event>, rejection>;

bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// One half of a scope: [a-z][a-z0-9_-]{0,31}.
bool valid_scope_part(std::string_view part) noexcept {
  if (part.empty() || part.size() > 32 || !is_lower(part[0])) return false;
  return std::all_of(part.begin(), part.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '_' || c == '-'; });
}

bool valid_key_hash(std::string_view hash) noexcept {
  return hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
           return is_digit(c) || (c >= 'a' && c <= 'f');
         });
}

decision decide_create(const api_key_state& state, const create_key& c) {
  if (state.exists) return rejection::key_already_exists;
  if (!valid_key_name(c.name)) return rejection::invalid_name;
  if (!valid_scopes(c.scopes)) return rejection::invalid_scopes;
  if (!valid_key_hash(c.key_hash)) return rejection::invalid_key_hash;
  if (c.start.empty()) return rejection::invalid_key_start;
  return std::vector<api_key_event>{
      key_created{c.key_id, c.workspace_id, c.name, c.env, c.scopes, c.key_hash, c.start, c.now}};
}

decision decide_revoke(const api_key_state& state, const revoke_key& c) {
  if (!state.exists) return rejection::key_not_found;
  if (state.status == key_status::revoked) return rejection::key_already_revoked;
  // The aggregate's own id, not the command's: the stream was loaded by it.
  return std::vector<api_key_event>{key_revoked{state.key_id, c.now}};
}

}  // namespace

std::string_view event_type(const api_key_event& e) noexcept {
  return std::visit(overloaded{
                        [](const key_created&) -> std::string_view { return "KeyCreated"; },
                        [](const key_revoked&) -> std::string_view { return "KeyRevoked"; },
                    },
                    e);
}

std::string_view to_string(key_status s) noexcept {
  switch (s) {
    case key_status::active:
      return "active";
    case key_status::revoked:
      return "revoked";
  }
  return "unknown";
}

std::string_view to_string(rejection r) noexcept {
  switch (r) {
    case rejection::key_already_exists:
      return "key_already_exists";
    case rejection::key_not_found:
      return "key_not_found";
    case rejection::key_already_revoked:
      return "key_already_revoked";
    case rejection::invalid_name:
      return "invalid_name";
    case rejection::invalid_scopes:
      return "invalid_scopes";
    case rejection::invalid_key_hash:
      return "invalid_key_hash";
    case rejection::invalid_key_start:
      return "invalid_key_start";
    case rejection::workspace_already_exists:
      return "workspace_already_exists";
    case rejection::invalid_workspace_name:
      return "invalid_workspace_name";
    case rejection::invalid_key_prefix:
      return "invalid_key_prefix";
  }
  return "unknown";
}

bool valid_key_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '_' || c == '-';
  });
}

bool valid_scope(std::string_view scope) noexcept {
  const std::size_t colon = scope.find(':');
  if (colon == std::string_view::npos) return false;
  // A second ':' lands in the action part and fails its character check.
  return valid_scope_part(scope.substr(0, colon)) && valid_scope_part(scope.substr(colon + 1));
}

bool valid_scopes(const std::vector<std::string>& scopes) noexcept {
  if (scopes.size() > max_scopes) return false;
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    if (!valid_scope(scopes[i])) return false;
    // At most 32 entries: the quadratic check is cheaper than allocating a set.
    for (std::size_t j = 0; j < i; ++j) {
      if (scopes[j] == scopes[i]) return false;
    }
  }
  return true;
}

std::string key_stream_id(std::string_view key_id) {
  std::string out = "api_key-";
  out.append(key_id);
  return out;
}

result<std::vector<api_key_event>, rejection> decide(const api_key_state& state,
                                                     const api_key_command& command) {
  return std::visit(overloaded{
                        [&](const create_key& c) { return decide_create(state, c); },
                        [&](const revoke_key& c) { return decide_revoke(state, c); },
                    },
                    command);
}

api_key_state evolve(api_key_state state, const api_key_event& event) {
  std::visit(overloaded{
                 [&](const key_created& e) {
                   state.exists = true;
                   state.key_id = e.key_id;
                   state.workspace_id = e.workspace_id;
                   state.name = e.name;
                   state.env = e.env;
                   state.scopes = e.scopes;
                   state.key_hash = e.key_hash;
                   state.start = e.start;
                   state.status = key_status::active;
                   state.created_at = e.created_at;
                   state.revoked_at.reset();
                 },
                 [&](const key_revoked& e) {
                   state.status = key_status::revoked;
                   state.revoked_at = e.revoked_at;
                 },
             },
             event);
  ++state.version;
  return state;
}

api_key_state replay(const std::vector<api_key_event>& events) {
  api_key_state state;
  for (const auto& e : events) state = evolve(std::move(state), e);
  return state;
}

}  // namespace keyledger::domain
