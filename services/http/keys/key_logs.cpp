// A key's request log and the workspace's failed attempts (audit:read).
#include <charconv>
#include <string>

#include "domain/cursor.hpp"
#include "domain/net.hpp"
#include "domain/people/policy.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/keys/key_endpoints.hpp"
#include "services/http/router/form.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {
namespace {

constexpr std::size_t default_log_page = 20;
constexpr std::size_t default_failure_page = 50;

/// Request-log cursors: the position (at_us, row id) of the last entry of a page, in the one
/// cursor codec (domain/cursor.hpp) under the list name "requests".
constexpr std::string_view log_cursor_list = "requests";

std::string encode_log_cursor(const infra::request_log_entry& e) {
  return domain::encode_page_cursor(log_cursor_list, {e.at_us, std::to_string(e.id)});
}

std::optional<std::pair<std::int64_t, std::int64_t>> decode_log_cursor(std::string_view text) {
  const auto p = domain::decode_page_cursor(log_cursor_list, text);
  if (!p || p->at < 0) return std::nullopt;
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(p->id.data(), p->id.data() + p->id.size(), id);
  if (ec != std::errc() || end != p->id.data() + p->id.size() || id < 0) return std::nullopt;
  return std::pair{p->at, id};
}

/// Request logs and failed attempts: the role's audit.read, and for a key audit:read.
bool may_read_audit(const principal& who) noexcept {
  return may(who, domain::action::audit_read, "audit:read");
}

}  // namespace

void key_endpoints::key_requests(call& c) {
  const auto limit = page_limit(c, default_log_page);
  if (!limit) return;
  std::optional<std::pair<std::int64_t, std::int64_t>> before;
  if (auto cursor = c.query_value("cursor")) {
    before = decode_log_cursor(*cursor);
    if (!before)
      return void(invalid(c, "cursor", "query parameter 'cursor' is not a cursor of this log"));
  }
  if (!plausible_key_id(c.path_id)) {
    return answer(c, not_found());
  }
  run_.read(c, [this, id = c.path_id, who = *c.who, limit = *limit, before,
                request_id = c.req.request_id](std::size_t worker) {
    const auto k = d_.keys.load(d_.store_for(worker), id);
    if (!k.exists || k.workspace_id != who.workspace_id || !may_see_key(who, k.owner_user_id)) {
      return json_error(not_found(), request_id);
    }
    if (!may_read_audit(who))
      return json_error(forbidden(who, domain::action::audit_read), request_id);
    std::vector<infra::request_log_entry> entries;
    // Off the record: nothing is shown, whatever was logged before the flag was set.
    if (!k.off_the_record) entries = d_.telemetry_for(worker).request_log(id, before, limit + 1);
    std::optional<std::string> next;
    if (entries.size() > limit) {
      entries.resize(limit);
      next = encode_log_cursor(entries.back());
    }
    infra::json_writer w;
    w.begin_object().key("data").begin_array();
    for (const auto& e : entries) {
      w.begin_object().field(
          "at", domain::format_timestamp(domain::timestamp(std::chrono::microseconds(e.at_us))));
      w.key("ip");
      if (e.ip.empty()) {
        w.null();
      } else {
        w.string(e.ip);
      }
      // One row per (second, IP, code) and write: count says how many requests it stands for.
      w.field("valid", e.valid()).field("code", e.code).field("count", e.count).end_object();
    }
    w.end_array().key("next_cursor");
    if (next) {
      w.string(*next);
    } else {
      w.null();
    }
    w.end_object();
    return json_response(200, w.take());
  });
}

void key_endpoints::auth_failures(call& c) {
  if (!may_read_audit(*c.who)) {
    return answer(c, forbidden(*c.who, domain::action::audit_read));
  }
  const auto limit = page_limit(c, default_failure_page);
  if (!limit) return;
  std::optional<domain::timestamp> since;
  if (auto text = c.query_value("since")) {
    since = domain::parse_timestamp(*text);
    if (!since) {
      return void(invalid(c, "since",
                          "query parameter 'since' must be an RFC 3339 UTC time such as "
                          "2026-11-23T19:36:02Z"));
    }
  }
  run_.read(
      c, [this, workspace_id = c.who->workspace_id, limit = *limit, since](std::size_t worker) {
        const auto from = since.value_or(d_.clock.now() - std::chrono::hours(24));
        const auto rows =
            d_.telemetry_for(worker).auth_failures(workspace_id, domain::to_micros(from), limit);
        const auto at = [](std::int64_t us) {
          return domain::format_timestamp(domain::timestamp(std::chrono::microseconds(us)));
        };
        infra::json_writer w;
        w.begin_object().key("data").begin_array();
        for (const auto& r : rows) {
          w.begin_object()
              .field("source_ip", r.source_ip)
              .field("code", r.code)
              .field("count", r.count)
              .field("first_at", at(r.first_at_us))
              .field("last_at", at(r.last_at_us))
              .end_object();
        }
        w.end_array().end_object();
        return json_response(200, w.take());
      });
}

}  // namespace keyledger::services::http
