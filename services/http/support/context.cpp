#include "services/http/support/context.hpp"

#include "infra/core/log.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/support/respond.hpp"

namespace keyledger::services::http {

using domain::problem;
using domain::problem_kind;

request_context context_of(const call& c) {
  std::string actor;
  if (c.who) actor = c.who->is_key() ? c.who->key_id : c.who->user_id;
  return {std::move(actor), c.req.request_id, c.client_ip_text,
          std::string(c.req.header("idempotency-key"))};
}

std::optional<workspace_entry> workspace_of(const call& c, const active_key_view& view) {
  auto workspace = view.find_workspace(c.who->workspace_id);
  if (!workspace) {
    infra::log(infra::log_level::error, "workspace_missing",
               {{"workspace_id", c.who->workspace_id}, {"request_id", c.req.request_id}});
    answer(c, problem_of(infra::errc::internal));
  }
  return workspace;
}

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

}  // namespace keyledger::services::http
