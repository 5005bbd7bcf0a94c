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

}  // namespace keyledger::services::http
