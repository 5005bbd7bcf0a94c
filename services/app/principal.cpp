#include "services/app/principal.hpp"

#include <algorithm>

namespace keyledger::services {

bool principal::has_scope(std::string_view scope) const noexcept {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::optional<domain::role> principal::effective_role() const noexcept {
  // A key created before keys had owners acts for nobody: it keeps the reach it always had (an
  // admin's, bounded by its own scopes), as docs/security.md describes.
  if (is_key() && user_id.empty()) return domain::role::admin;
  return member_role;
}

bool may(const principal& p, domain::action a, std::string_view scope) noexcept {
  const auto role = p.effective_role();
  if (!role || !domain::allowed(*role, a)) return false;
  // A key never does more than its owner: the role's permission AND the key's own scope.
  return !p.is_key() || p.has_scope(scope);
}

bool may_on_key(const principal& p, domain::action any, domain::action own,
                std::string_view key_owner, std::string_view scope) noexcept {
  if (may(p, any, scope)) return true;
  return !p.user_id.empty() && key_owner == p.user_id && may(p, own, scope);
}

}  // namespace keyledger::services
