#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/people/policy.hpp"
#include "domain/people/user.hpp"

namespace keyledger::services {

/// Who is acting on a management request: a person (a session cookie) or an API key acting for
/// its owning user. A key never does more than its owner may do now: every action needs both
/// the key's (effective) scope and the owner's role.
struct principal {
  std::string workspace_id;
  /// The person, or the key's owner. "" only for a key created before keys had owners: such a
  /// key acts with its own scopes and an implicit admin role (docs/security.md).
  std::string user_id;
  std::optional<domain::role> member_role;  ///< the user's role now; nullopt: not a member
  std::string key_id;                       ///< set when authenticated by an API key
  std::vector<std::string> scopes;          ///< the key's effective scopes (keys only)
  std::string session_id_hash;              ///< set when authenticated by a session

  bool is_key() const noexcept { return !key_id.empty(); }
  bool is_session() const noexcept { return !session_id_hash.empty(); }
  bool has_scope(std::string_view scope) const noexcept;
  /// The role the policy is evaluated with (the implicit admin of an ownerless legacy key).
  std::optional<domain::role> effective_role() const noexcept;
};

/// May `p` perform `a`? A session: its role allows it. A key: its role allows it AND the key
/// holds `scope` (e.g. keys:write for keys_update_*). Never for a principal without a role.
bool may(const principal& p, domain::action a, std::string_view scope) noexcept;

/// For key actions that come in _any/_own pairs: may `p` do it to a key owned by `owner`?
/// Tries the _any action, then the _own one when owner == p.user_id (and p.user_id non-empty).
bool may_on_key(const principal& p, domain::action any, domain::action own,
                std::string_view key_owner, std::string_view scope) noexcept;

}  // namespace keyledger::services
