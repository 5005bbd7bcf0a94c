#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/people/user.hpp"
#include "domain/types.hpp"

// Who may do what (issue 4): one explicit table role x action, the rules for changing roles,
// the scopes each role allows, and the pure half of browser sessions. docs/users-and-roles.md
// describes all of it; tests/unit/domain/policy_test.cpp checks every cell.

namespace keyledger::domain {

// ---- actions ------------------------------------------------------------------------------

/// Everything a person (or a key acting for its owner) can ask for. `_any` acts on every key of
/// the workspace, `_own` only on keys the actor owns.
enum class action : std::uint8_t {
  keys_create,
  keys_read_any,
  keys_read_own,
  keys_update_any,
  keys_update_own,
  keys_rotate_any,
  keys_rotate_own,
  keys_revoke_any,
  keys_revoke_own,
  users_read,
  users_invite,
  users_change_role,
  users_remove,
  workspace_read,
  workspace_update,
  audit_read,            ///< request logs, failed attempts, the event log
  oauth_clients_read,    ///< the workspace's registered OAuth apps
  oauth_clients_manage,  ///< register, change, rotate the secret of, disable, delete them
};

inline constexpr std::array<action, 18> all_actions = {
    action::keys_create,     action::keys_read_any,      action::keys_read_own,
    action::keys_update_any, action::keys_update_own,    action::keys_rotate_any,
    action::keys_rotate_own, action::keys_revoke_any,    action::keys_revoke_own,
    action::users_read,      action::users_invite,       action::users_change_role,
    action::users_remove,    action::workspace_read,     action::workspace_update,
    action::audit_read,      action::oauth_clients_read, action::oauth_clients_manage,
};

/// The dotted name: "keys.create", "keys.read_any", ..., "audit.read" ("" outside the enum).
std::string_view to_string(action a) noexcept;
/// Accepts exactly the dotted names.
std::optional<action> parse_action(std::string_view text) noexcept;

// ---- the table ----------------------------------------------------------------------------

/// The role x action table:
///   owner, admin: everything;
///   member: keys.create and every keys.*_own action, nothing else (not even users.read);
///   auditor: keys.read_any, users.read, workspace.read, audit.read - read-only, and no read
///            ever returns a secret.
/// False for a role or action outside the enums. Thread-safe (a constant table).
bool allowed(role r, action a) noexcept;

/// May `actor` invite someone as `new_role`? Needs users.invite; only an owner may make an
/// owner.
bool may_invite(role actor, role new_role) noexcept;

/// May `actor` change a member's role from `target_current` to `new_role`? Needs
/// users.change_role; an admin may neither change an owner's role nor make anyone owner. The
/// last-owner rule is the membership aggregate's (it knows how many owners there are).
bool may_change_role(role actor, role target_current, role new_role) noexcept;

/// May `actor` remove a member whose role is `target`? Needs users.remove; an admin may not
/// remove an owner. The last-owner rule is the aggregate's.
bool may_remove(role actor, role target) noexcept;

// ---- scopes -------------------------------------------------------------------------------

/// keyledger's own API scopes, granted on top of a workspace's catalog.
/// oauth:introspect lets a key ask POST /oauth/introspect about its workspace's tokens and keys.
inline constexpr std::array<std::string_view, 7> management_scopes = {
    "keys:read",       "keys:write", "users:read",      "users:write",
    "workspace:admin", "audit:read", "oauth:introspect"};

bool is_management_scope(std::string_view scope) noexcept;

/// At most this many scopes in a workspace's catalog.
inline constexpr std::size_t max_catalog_scopes = 64;

/// A workspace's scope catalog (the platform's own `resource:action` scopes): at most 64, each
/// valid_scope, no duplicates, none a management scope (those are keyledger's, not the
/// platform's). May be empty.
bool valid_catalog(const std::vector<std::string>& scopes) noexcept;

/// Does `r` allow a key owned by a user of that role to carry `scope`?
///   owner, admin: every catalog scope and every management scope;
///   member: every catalog scope, keys:read and keys:write (on own keys: the actions decide);
///   auditor: keys:read, users:read, audit:read and the catalog scopes ending in ":read".
bool role_allows_scope(role r, std::string_view scope,
                       const std::vector<std::string>& catalog) noexcept;

/// Everything `r` allows, catalog scopes first (catalog order), then management scopes (in
/// management_scopes order).
std::vector<std::string> allowed_scopes(role r, const std::vector<std::string>& catalog);

/// A key's effective scopes: its own scopes that its owner's role allows now, in the key's
/// order. A key never does more than its owner may.
std::vector<std::string> effective_scopes(const std::vector<std::string>& key_scopes,
                                          role owner_role, const std::vector<std::string>& catalog);
/// Owner not a member (removed): no scopes at all.
std::vector<std::string> effective_scopes(const std::vector<std::string>& key_scopes,
                                          std::optional<role> owner_role,
                                          const std::vector<std::string>& catalog);

// ---- sessions (the pure part) -------------------------------------------------------------
// A session id is 32 CSPRNG bytes, base64url without padding (43 characters): the cookie value.
// Only SHA-256(session id) is stored (infra/crypto/password.hpp: session_id_hash), so a copy
// of the table does not log anyone in. The same format serves the one-time set-password token
// (stored as a keyed hash).

struct session_policy {
  std::chrono::microseconds idle_timeout = std::chrono::minutes(30);
  std::chrono::microseconds absolute_timeout = std::chrono::hours(12);
};

inline constexpr std::size_t session_token_bytes = 32;
inline constexpr std::size_t session_token_length = 43;  ///< base64url of 32 bytes, unpadded

/// A fresh token: 32 bytes from `random`, base64url (RFC 4648 section 5) without padding.
std::string new_session_token(random_source& random);

/// 43 characters of the base64url alphabet whose last character carries no stray bits (the
/// exact form new_session_token produces). Check before hashing or looking up a cookie value.
bool valid_session_token(std::string_view token) noexcept;

/// True while the session is usable at `now`: now < created_at + absolute_timeout and now <
/// last_seen_at + idle_timeout, and last_seen_at is not before created_at. The instant a
/// timeout is reached the session is over (like a key at its expires_at).
bool session_valid(timestamp created_at, timestamp last_seen_at, timestamp now,
                   const session_policy& policy = {}) noexcept;

/// When the session ends if it is not used again: min(created_at + absolute, last_seen_at +
/// idle). For the cookie's Max-Age and for purging stored sessions.
timestamp session_expires_at(timestamp created_at, timestamp last_seen_at,
                             const session_policy& policy = {}) noexcept;

}  // namespace keyledger::domain
