#include "services/app/key_authorization.hpp"

#include <algorithm>

namespace keyledger::services {

using domain::problem;
using domain::problem_kind;

bool may_see_key(const principal& p, std::string_view owner) noexcept {
  const auto role = p.effective_role();
  if (!role) return false;
  if (domain::allowed(*role, domain::action::keys_read_any)) return true;
  return domain::allowed(*role, domain::action::keys_read_own) && !p.user_id.empty() &&
         owner == p.user_id;
}

problem forbidden(const principal& p, domain::action a) {
  const auto role = p.effective_role();
  if (p.is_key() && role && domain::allowed(*role, a)) {
    // The owner may, the key's scopes do not reach: the documented key answer.
    return problem::of(problem_kind::forbidden, "FORBIDDEN");
  }
  return forbidden("Your role in this workspace does not allow this action");
}

problem forbidden(std::string text) {
  return problem::of(problem_kind::forbidden, "FORBIDDEN", std::move(text));
}

problem not_found() { return problem::of(problem_kind::not_found, "NOT_FOUND"); }

std::optional<problem> refuse_key_command(const principal& who, const domain::api_key_state& k,
                                          domain::action any, domain::action own) {
  if (!k.exists || k.workspace_id != who.workspace_id || !may_see_key(who, k.owner_user_id)) {
    return not_found();
  }
  if (!may_on_key(who, any, own, k.owner_user_id, "keys:write")) return forbidden(who, any);
  return std::nullopt;
}

std::optional<problem> refuse_key_scopes(const principal& who,
                                         const std::vector<std::string>& scopes,
                                         const std::vector<std::string>& catalog) {
  for (const auto& s : scopes) {
    const bool known = domain::is_management_scope(s) ||
                       std::find(catalog.begin(), catalog.end(), s) != catalog.end();
    if (!known) {
      // A valid scope is lowercase resource:action of at most 65 bytes: safe to echo.
      return problem::invalid("scopes", "field 'scopes': '" + s +
                                            "' is neither in the workspace's scope catalog nor a "
                                            "management scope");
    }
  }
  const auto role = who.effective_role();
  for (const auto& s : scopes) {
    if (!role || !domain::role_allows_scope(*role, s, catalog)) {
      return forbidden("Your role does not allow scope '" + s + "' on a key");
    }
    if (who.is_key() && domain::is_management_scope(s) && !who.has_scope(s)) {
      return forbidden("A key cannot grant a management scope it does not hold");
    }
  }
  return std::nullopt;
}

std::optional<problem> refuse_rotation(const principal& who, const domain::api_key_state& old_key,
                                       std::optional<domain::role> owner_role) {
  // The new key inherits the old key's scopes: rotating must not hand a key the management
  // scopes it does not hold itself.
  if (who.is_key()) {
    for (const auto& s : old_key.scopes) {
      if (domain::is_management_scope(s) && !who.has_scope(s)) {
        return forbidden(
            "A key cannot rotate a key holding a management scope it does not hold itself");
      }
    }
  }
  // What an owner may do beyond an admin is all behind users:write (owners, and making
  // owners): a key of an owner holding it is rotated by owners only.
  const bool holds_users_write = std::find(old_key.scopes.begin(), old_key.scopes.end(),
                                           "users:write") != old_key.scopes.end();
  if (old_key.owner_user_id != who.user_id && !old_key.owner_user_id.empty() &&
      who.effective_role() != domain::role::owner && holds_users_write &&
      owner_role == domain::role::owner) {
    return forbidden("Only an owner may rotate an owner's key that holds users:write");
  }
  return std::nullopt;
}

}  // namespace keyledger::services
