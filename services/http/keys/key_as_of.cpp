// GET /v1/keys?as_of= and GET /v1/keys/{id}?as_of=: the key view as it was at an instant, folded
// from the log (services/app/key_replay.hpp). docs/api.md, "Reading the past".
#include <string>
#include <vector>

#include "services/app/key_replay.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/keys/key_endpoints.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"

namespace keyledger::services::http {

bool read_as_of(const call& c, const domain::clock& clock, std::optional<domain::timestamp>& out) {
  const auto text = c.query_value("as_of");
  if (!text) return true;
  const auto at = domain::parse_timestamp(*text);
  if (!at) {
    return invalid(c, "as_of",
                   "query parameter 'as_of' must be an RFC 3339 UTC time such as "
                   "2026-11-23T19:36:02Z");
  }
  // The log knows nothing of the future: an answer for it would only be a guess.
  if (*at > clock.now()) {
    return invalid(c, "as_of", "query parameter 'as_of' is in the future");
  }
  out = *at;
  return true;
}

void key_endpoints::list_keys_as_of(call& c, key_query q, std::string only_owner,
                                    domain::timestamp as_of) {
  run_.read(c, [this, q = std::move(q), only_owner = std::move(only_owner),
                as_of](std::size_t worker) mutable {
    // Every key the workspace may have had then: the live view keeps every key it ever saw
    // (revoked and expired ones too), and a key's created_at is the instant its KeyCreated was
    // recorded. One read of those streams and the workspace's own two.
    const auto ids = d_.view.key_ids_of(q.workspace_id, as_of);
    const auto past = workspace_at(d_.store_for(worker), q.workspace_id, ids, as_of);
    q.now = as_of;
    // Before the workspace existed there was nothing to list.
    key_page page;
    if (past->find_workspace(q.workspace_id)) page = visible_page(*past, q, only_owner);
    // Last use is telemetry, not in the log: null in the past.
    return key_list_response(page, as_of, {});
  });
}

void key_endpoints::get_key_as_of(call& c, domain::timestamp as_of) {
  run_.read(c, [this, id = c.path_id, who = *c.who, as_of,
                request_id = c.req.request_id](std::size_t worker) {
    const std::string ids[] = {id};
    const auto past = workspace_at(d_.store_for(worker), who.workspace_id, ids, as_of);
    const auto entry = past->find_by_id(id);
    // Not created yet, another workspace's, or one the caller may not see: as if missing.
    if (!entry || entry->workspace_id() != who.workspace_id ||
        !past->find_workspace(who.workspace_id) || !may_see_key(who, entry->owner_user_id())) {
      return json_error(not_found(), request_id);
    }
    return key_object(entry->state(), {entry->effective_scopes(), entry->owner_removed()}, as_of,
                      nullptr);
  });
}

}  // namespace keyledger::services::http
