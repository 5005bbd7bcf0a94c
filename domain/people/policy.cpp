#include "domain/people/policy.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/keys/api_key.hpp"

namespace keyledger::domain {

namespace {

constexpr std::size_t role_count = all_roles.size();
constexpr std::size_t action_count = all_actions.size();

// Names in enum order.
constexpr std::array<std::string_view, action_count> action_names = {
    "keys.create",        "keys.read_any",        "keys.read_own",    "keys.update_any",
    "keys.update_own",    "keys.rotate_any",      "keys.rotate_own",  "keys.revoke_any",
    "keys.revoke_own",    "users.read",           "users.invite",     "users.change_role",
    "users.remove",       "workspace.read",       "workspace.update", "audit.read",
    "oauth_clients.read", "oauth_clients.manage",
};

constexpr std::size_t index(action a) noexcept { return static_cast<std::size_t>(a); }
constexpr std::size_t index(role r) noexcept { return static_cast<std::size_t>(r); }

// The whole policy, spelled out row by row so a review reads it as a table: one row per role
// (enum order), one column per action (enum order). y = allowed.
constexpr bool y = true;
constexpr bool n = false;
constexpr std::array<std::array<bool, action_count>, role_count> table = {{
    //  keys: create read_any read_own upd_any upd_own rot_any rot_own rev_any rev_own
    //  users: read invite change_role remove | workspace: read update | audit.read
    //  | oauth_clients: read manage
    /* owner   */ {y, y, y, y, y, y, y, y, y, /**/ y, y, y, y, /**/ y, y, /**/ y, /**/ y, y},
    /* admin   */ {y, y, y, y, y, y, y, y, y, /**/ y, y, y, y, /**/ y, y, /**/ y, /**/ y, y},
    /* member  */ {y, n, y, n, y, n, y, n, y, /**/ n, n, n, n, /**/ n, n, /**/ n, /**/ n, n},
    /* auditor */ {n, y, n, n, n, n, n, n, n, /**/ y, n, n, n, /**/ y, n, /**/ y, /**/ y, n},
}};

bool known(role r) noexcept { return index(r) < role_count; }
bool known(action a) noexcept { return index(a) < action_count; }

bool in_catalog(std::string_view scope, const std::vector<std::string>& catalog) noexcept {
  return std::find(catalog.begin(), catalog.end(), scope) != catalog.end();
}

bool ends_with_read(std::string_view scope) noexcept {
  constexpr std::string_view suffix = ":read";
  return scope.size() > suffix.size() && scope.substr(scope.size() - suffix.size()) == suffix;
}

}  // namespace

// ---- actions ----------------------------------------------------------------------------

std::string_view to_string(action a) noexcept { return known(a) ? action_names[index(a)] : ""; }

std::optional<action> parse_action(std::string_view text) noexcept {
  for (const action a : all_actions) {
    if (action_names[index(a)] == text) return a;
  }
  return std::nullopt;
}

// ---- the table --------------------------------------------------------------------------

bool allowed(role r, action a) noexcept {
  if (!known(r) || !known(a)) return false;
  return table[index(r)][index(a)];
}

bool may_invite(role actor, role new_role) noexcept {
  if (!allowed(actor, action::users_invite) || !known(new_role)) return false;
  return new_role != role::owner || actor == role::owner;
}

bool may_change_role(role actor, role target_current, role new_role) noexcept {
  if (!allowed(actor, action::users_change_role)) return false;
  if (!known(target_current) || !known(new_role)) return false;
  if (actor == role::owner) return true;
  // Owners are above admins: an admin can neither touch an owner nor create one.
  return target_current != role::owner && new_role != role::owner;
}

bool may_remove(role actor, role target) noexcept {
  if (!allowed(actor, action::users_remove) || !known(target)) return false;
  return actor == role::owner || target != role::owner;
}

// ---- scopes -----------------------------------------------------------------------------

bool is_management_scope(std::string_view scope) noexcept {
  return std::find(management_scopes.begin(), management_scopes.end(), scope) !=
         management_scopes.end();
}

bool valid_catalog(const std::vector<std::string>& scopes) noexcept {
  if (scopes.size() > max_catalog_scopes) return false;
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    if (!valid_scope(scopes[i]) || is_management_scope(scopes[i])) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (scopes[j] == scopes[i]) return false;
    }
  }
  return true;
}

bool role_allows_scope(role r, std::string_view scope,
                       const std::vector<std::string>& catalog) noexcept {
  switch (r) {
    case role::owner:
    case role::admin:
      return is_management_scope(scope) || in_catalog(scope, catalog);
    case role::member:
      return scope == "keys:read" || scope == "keys:write" || in_catalog(scope, catalog);
    case role::auditor:
      if (scope == "keys:read" || scope == "users:read" || scope == "audit:read") return true;
      return ends_with_read(scope) && in_catalog(scope, catalog);
  }
  return false;
}

std::vector<std::string> allowed_scopes(role r, const std::vector<std::string>& catalog) {
  std::vector<std::string> out;
  for (const auto& s : catalog) {
    // A catalog scope that collides with a management scope is only listed once (valid
    // catalogs never have one; this keeps the answer duplicate-free regardless).
    if (!is_management_scope(s) && role_allows_scope(r, s, catalog) &&
        std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(s);
    }
  }
  for (const auto s : management_scopes) {
    if (role_allows_scope(r, s, catalog)) out.emplace_back(s);
  }
  return out;
}

std::vector<std::string> effective_scopes(const std::vector<std::string>& key_scopes,
                                          role owner_role,
                                          const std::vector<std::string>& catalog) {
  std::vector<std::string> out;
  out.reserve(key_scopes.size());
  for (const auto& s : key_scopes) {
    if (role_allows_scope(owner_role, s, catalog)) out.push_back(s);
  }
  return out;
}

std::vector<std::string> effective_scopes(const std::vector<std::string>& key_scopes,
                                          std::optional<role> owner_role,
                                          const std::vector<std::string>& catalog) {
  if (!owner_role) return {};
  return effective_scopes(key_scopes, *owner_role, catalog);
}

// ---- sessions ---------------------------------------------------------------------------

std::string new_session_token(random_source& random) {
  std::array<std::uint8_t, session_token_bytes> bytes{};
  random.fill(bytes);
  return base64url_encode(std::span<const std::uint8_t>(bytes));
}

bool valid_session_token(std::string_view token) noexcept {
  if (token.size() != session_token_length) return false;
  for (const char c : token) {
    if (base64url_value(c) < 0) return false;
  }
  // 43 characters carry 258 bits for 256: the last character's low 2 bits must be zero, so each
  // token has exactly one spelling (a stored hash cannot be matched by a variant of it).
  return (base64url_value(token.back()) & 0x3) == 0;
}

bool session_valid(timestamp created_at, timestamp last_seen_at, timestamp now,
                   const session_policy& policy) noexcept {
  if (last_seen_at < created_at) return false;
  return now < created_at + policy.absolute_timeout && now < last_seen_at + policy.idle_timeout;
}

timestamp session_expires_at(timestamp created_at, timestamp last_seen_at,
                             const session_policy& policy) noexcept {
  return std::min(created_at + policy.absolute_timeout, last_seen_at + policy.idle_timeout);
}

}  // namespace keyledger::domain
