// GET /v1/keys/{id}/history: every event of the key and of its rotation chain, oldest first,
// with who, when, from where and a sentence (services/app/key_history.hpp).
#include "services/app/key_history.hpp"

#include <algorithm>
#include <string>

#include "domain/cursor.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/keys/key_endpoints.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"

namespace keyledger::services::http {
namespace {

constexpr std::size_t default_history_page = 100;

/// History cursors: the global_seq of a page's last entry and the key asked about, under the
/// list name "history" (a cursor of another key's history is refused).
constexpr std::string_view history_cursor_list = "history";

/// Reading a key's history is reading the key: keys.read_any, or keys.read_own for one's own
/// key; a key needs keys:read or audit:read (an auditor's key may hold either).
bool may_read_history(const principal& who) noexcept {
  using domain::action;
  for (const auto scope : {"keys:read", "audit:read"}) {
    if (may(who, action::keys_read_any, scope) || may(who, action::keys_read_own, scope)) {
      return true;
    }
  }
  return false;
}

}  // namespace

void key_endpoints::key_history(call& c) {
  if (!may_read_history(*c.who)) return answer(c, forbidden(*c.who, domain::action::keys_read_any));
  const auto limit = page_limit(c, default_history_page);
  if (!limit) return;
  if (!plausible_key_id(c.path_id)) return answer(c, not_found());
  std::int64_t after = 0;
  if (auto cursor = c.query_value("cursor")) {
    const auto p = domain::decode_page_cursor(history_cursor_list, *cursor);
    if (!p || p->id != c.path_id || p->at < 0) {
      return void(invalid(c, "cursor", "query parameter 'cursor' is not a cursor of this history"));
    }
    after = p->at;
  }
  run_.read(c, [this, id = c.path_id, who = *c.who, limit = *limit, after,
                request_id = c.req.request_id](std::size_t worker) {
    const auto h = load_key_history(d_.store_for(worker), id, d_.view);
    // Unknown, another workspace's, or one the caller may not see: as if missing.
    if (!h.key.exists || h.key.workspace_id != who.workspace_id ||
        !may_see_key(who, h.key.owner_user_id)) {
      return json_error(not_found(), request_id);
    }
    const auto first = std::find_if(h.entries.begin(), h.entries.end(), [&](const auto& e) {
      return e.global_seq > static_cast<std::uint64_t>(after);
    });
    const auto left = static_cast<std::size_t>(h.entries.end() - first);
    const auto end = first + static_cast<std::ptrdiff_t>(std::min(left, limit));

    infra::json_writer w;
    w.begin_object().field("key_id", id);
    infra::write_string_array(w, "chain", h.chain);
    w.key("data").begin_array();
    for (auto it = first; it != end; ++it) {
      const auto& e = *it;
      w.begin_object()
          .field("global_seq", e.global_seq)
          .field("key_id", e.key_id)
          .field("version", e.version)
          .field("type", e.type);
      infra::write_timestamp(w, "recorded_at", e.recorded_at);
      infra::write_string_or_null(w, "actor", e.metadata.actor);
      infra::write_string_or_null(w, "acting_for", e.acting_for);
      infra::write_string_or_null(w, "request_id", e.metadata.request_id);
      infra::write_string_or_null(w, "source_ip", e.metadata.source_ip);
      w.field("description", e.text).end_object();
    }
    w.end_array().key("next_cursor");
    if (left > limit) {
      w.string(domain::encode_page_cursor(history_cursor_list,
                                          {static_cast<std::int64_t>((end - 1)->global_seq), id}));
    } else {
      w.null();
    }
    w.end_object();
    return json_response(200, w.take());
  });
}

}  // namespace keyledger::services::http
