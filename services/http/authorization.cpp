// Role-based authorization shared by the endpoints (the rules are domain/policy's; this file
// only phrases the answers).
#include "domain/policy.hpp"
#include "services/http/api.hpp"
#include "services/http/error_table.hpp"

namespace keyledger::services::http {

bool may_see_key(const principal& p, std::string_view owner) noexcept {
  const auto role = p.effective_role();
  if (!role) return false;
  if (domain::allowed(*role, domain::action::keys_read_any)) return true;
  return domain::allowed(*role, domain::action::keys_read_own) && !p.user_id.empty() &&
         owner == p.user_id;
}

infra::http_response forbidden(const principal& p, domain::action a, std::string_view request_id) {
  const auto role = p.effective_role();
  if (p.is_key() && role && domain::allowed(*role, a)) {
    // The owner may, the key's scopes do not reach: the documented key answer.
    return error_response(403, "FORBIDDEN", request_id);
  }
  return error_response(403, "FORBIDDEN", "Your role in this workspace does not allow this action",
                        request_id);
}

}  // namespace keyledger::services::http
