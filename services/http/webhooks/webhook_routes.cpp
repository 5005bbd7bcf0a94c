// A workspace's webhook endpoints: create, list, read, change, rotate the secret, delete; each
// endpoint's deliveries and a manual retry.
#include "services/http/webhooks/webhook_routes.hpp"

#include <charconv>
#include <limits>
#include <string>
#include <vector>

#include "domain/people/policy.hpp"
#include "domain/webhooks/delivery.hpp"
#include "domain/webhooks/endpoint.hpp"
#include "services/app/webhooks/endpoint_service.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/webhook_endpoint_view.hpp"

namespace keyledger::services::http {
namespace {

namespace wh = domain::webhooks;
using domain::action;
using infra::http_response;

constexpr std::string_view admin_scope = "workspace:admin";
constexpr std::string_view url_member = "url";
constexpr std::string_view event_types_member = "event_types";
constexpr std::string_view enabled_member = "enabled";
constexpr std::string_view overlap_member = "overlap_seconds";

constexpr std::size_t default_delivery_page = 20;
constexpr std::size_t max_delivery_page = 100;

std::string at(std::int64_t us) {
  return domain::format_timestamp(domain::timestamp(std::chrono::microseconds(us)));
}

/// The public form of an endpoint; `secret` ("whsec_...", shown once) when one was just minted.
void write_endpoint(infra::json_writer& w, const wh::endpoint_state& e, std::string_view secret) {
  w.begin_object()
      .field("id", e.endpoint_id)
      .field("workspace_id", e.workspace_id)
      .field("url", e.settings.url);
  w.key("event_types").begin_array();
  for (const auto& t : e.settings.event_types) w.string(t);
  w.end_array().field("enabled", e.enabled).key("disabled_reason");
  if (e.disabled_reason) {
    w.string(wh::to_string(*e.disabled_reason));
  } else {
    w.null();
  }
  if (!secret.empty()) w.field("secret", secret);
  w.field("secret_version", static_cast<std::int64_t>(e.secret_version))
      .field("created_by", e.created_by);
  infra::write_timestamp(w, "created_at", e.created_at);
  infra::write_timestamp_or_null(w, "updated_at", e.updated_at);
  infra::write_timestamp_or_null(w, "previous_secret_valid_until", e.previous_valid_until);
  w.end_object();
}

http_response endpoint_object(unsigned status, const wh::endpoint_state& e,
                              std::string_view secret = {}) {
  infra::json_writer w;
  write_endpoint(w, e, secret);
  return json_response(status, w.take());
}

void write_delivery(infra::json_writer& w, const infra::delivery_summary& d) {
  w.begin_object()
      .field("id", d.message_id)
      .field("event_type", d.event_type)
      .field("event_seq", static_cast<std::int64_t>(d.event_seq))
      .field("status", d.status)
      .field("attempts", static_cast<std::int64_t>(d.attempts))
      .field("created_at", at(d.created_us))
      .key("next_attempt_at");
  // Only a pending delivery has a next attempt.
  if (d.status == "pending") {
    w.string(at(d.next_attempt_us));
  } else {
    w.null();
  }
  w.key("attempt_log").begin_array();
  for (const auto& a : d.attempt_log) {
    w.begin_object()
        .field("attempt", static_cast<std::int64_t>(a.attempt))
        .field("started_at", at(a.started_us))
        .field("latency_ms", static_cast<std::int64_t>(a.latency_ms))
        .key("response_status");
    if (a.response_status) {
      w.number(static_cast<std::int64_t>(*a.response_status));
    } else {
      w.null();
    }
    w.field("outcome", a.outcome).field("error", a.error).end_object();
  }
  w.end_array().end_object();
}

/// A positive integer query parameter within [1, max]; answers 400 itself.
bool read_count(const call& c, std::string_view name, std::uint64_t max,
                std::optional<std::uint64_t>& out) {
  const auto text = c.query_value(name);
  if (!text) return true;
  std::uint64_t value = 0;
  const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || p != text->data() + text->size() || value < 1 || value > max) {
    return invalid(c, std::string(name),
                   "query parameter '" + std::string(name) + "' must be an integer from 1 to " +
                       std::to_string(max));
  }
  out = value;
  return true;
}

/// Reads url and event_types present in `body` onto `p`; answers 400 itself.
bool read_settings(const call& c, const infra::json_body& body, wh::endpoint_settings_patch& p) {
  if (!take(c, body.get_string(url_member), p.url)) return false;
  return take(c, body.get_string_array(event_types_member), p.event_types);
}

/// The settings rules (domain::webhooks::check_settings) as the field they name; answers 400.
bool settings_valid(const call& c, const wh::endpoint_settings& s) {
  if (auto bad = wh::check_settings(s)) {
    answer(c, services::problem_of(*bad));
    return false;
  }
  return true;
}

class webhook_endpoints {
 public:
  explicit webhook_endpoints(webhook_routes_dependencies deps) : d_(std::move(deps)) {}
  void list_endpoints(call& c);
  void create_endpoint(call& c);
  void get_endpoint(call& c);
  void update_endpoint(call& c);
  void rotate_secret(call& c);
  void delete_endpoint(call& c);
  void list_deliveries(call& c);
  void retry_delivery(call& c);

 private:
  /// The caller's workspace's endpoint `id`, or 404 answered.
  std::optional<wh::endpoint_state> visible(const call& c) const;
  /// Reading: whoever reads the workspace's settings (owners, admins, auditors); a key needs
  /// workspace:admin or audit:read.
  bool may_read(const call& c) const {
    if (may(*c.who, action::workspace_read, admin_scope) ||
        may(*c.who, action::workspace_read, "audit:read")) {
      return true;
    }
    answer(c, forbidden(*c.who, action::workspace_read));
    return false;
  }
  bool may_manage(const call& c) const {
    if (may_manage_webhooks(*c.who)) return true;
    answer(c, forbidden(*c.who, action::workspace_update));
    return false;
  }

  webhook_routes_dependencies d_;
};

}  // namespace

std::optional<wh::endpoint_state> webhook_endpoints::visible(const call& c) const {
  auto found =
      wh::valid_endpoint_id(c.path_id) ? d_.webhooks.endpoints.find(c.path_id) : std::nullopt;
  // Another workspace's endpoint, or a deleted one, does not exist for the caller.
  if (!found || found->deleted || found->workspace_id != c.who->workspace_id) {
    answer(c, not_found());
    return std::nullopt;
  }
  return found;
}

void webhook_endpoints::list_endpoints(call& c) {
  if (!may_read(c)) return;
  infra::json_writer w;
  w.begin_object().key("data").begin_array();
  for (const auto& e : d_.webhooks.endpoints.of_workspace(c.who->workspace_id)) {
    write_endpoint(w, e, {});
  }
  w.end_array().end_object();
  c.respond(json_response(200, w.take()));
}

void webhook_endpoints::get_endpoint(call& c) {
  if (!may_read(c)) return;
  if (auto e = visible(c)) c.respond(endpoint_object(200, *e));
}

void webhook_endpoints::create_endpoint(call& c) {
  if (!may_manage(c)) return;
  auto body = parse_body(c, {url_member, event_types_member, enabled_member});
  if (!body) return;
  wh::endpoint_settings_patch given;
  if (!read_settings(c, *body, given)) return;
  std::optional<bool> enabled;
  if (!take(c, body->get_bool(enabled_member), enabled)) return;
  if (!given.url) return void(missing(c, std::string(url_member)));
  if (!given.event_types) return void(missing(c, std::string(event_types_member)));
  auto settings = given.applied_to({});
  if (!settings_valid(c, settings)) return;
  d_.run.command(
      c,
      [this, settings = std::move(settings), enabled = enabled.value_or(true), who = *c.who,
       ctx = context_of(c), request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto made = d_.webhooks.service.create(d_.store_for(worker), d_.webhooks.store_for(worker),
                                               who, settings, enabled, ctx);
        if (!made) return {json_error(made.error(), request_id)};
        return {endpoint_object(201, made->endpoint, made->secret.reveal()), made->global_seq};
      });
}

void webhook_endpoints::update_endpoint(call& c) {
  if (!may_manage(c)) return;
  auto body = parse_body(c, {url_member, event_types_member, enabled_member});
  if (!body) return;
  wh::endpoint_settings_patch changes;
  if (!read_settings(c, *body, changes)) return;
  std::optional<bool> enabled;
  if (!take(c, body->get_bool(enabled_member), enabled)) return;
  const auto current = visible(c);
  if (!current) return;
  if (!settings_valid(c, changes.applied_to(current->settings))) return;
  d_.run.command(
      c,
      [this, id = c.path_id, changes = std::move(changes), enabled, who = *c.who,
       ctx = context_of(c), request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto& store = d_.store_for(worker);
        if (enabled && *enabled) {
          // A person switching it on again starts a new failure window: the health row goes first,
          // so that an enable never lands on the old failing_since (a failure after this point only
          // leaves a disabled endpoint without its row, which sends nothing anyway).
          const auto before = d_.webhooks.service.load(store, id);
          if (before.exists && !before.deleted && !before.enabled &&
              before.workspace_id == who.workspace_id && may_manage_webhooks(who) &&
              !wh::check_settings(changes.applied_to(before.settings))) {
            d_.webhooks.store_for(worker).reset_health(id);
          }
        }
        auto changed = d_.webhooks.service.update(store, who, id, changes, enabled, ctx);
        if (!changed) return {json_error(changed.error(), request_id)};
        return {endpoint_object(200, changed->endpoint), changed->global_seq};
      });
}

void webhook_endpoints::rotate_secret(call& c) {
  if (!may_manage(c)) return;
  auto body = parse_body(c, {overlap_member}, /*allow_empty=*/true);
  if (!body) return;
  std::optional<std::int64_t> seconds;
  if (!take(c, body->get_int(overlap_member), seconds)) return;
  const auto max = wh::max_secret_overlap.count();
  if (seconds && (*seconds < 0 || *seconds > max)) {
    return void(
        invalid(c, std::string(overlap_member),
                "field 'overlap_seconds' must be an integer from 0 to " + std::to_string(max)));
  }
  const auto overlap = seconds ? std::chrono::seconds(*seconds) : wh::default_secret_overlap;
  if (!visible(c)) return;
  d_.run.command(c,
                 [this, id = c.path_id, overlap, who = *c.who, ctx = context_of(c),
                  request_id = c.req.request_id](std::size_t worker) -> command_result {
                   auto rotated = d_.webhooks.service.rotate_secret(
                       d_.store_for(worker), d_.webhooks.store_for(worker), who, id, overlap, ctx);
                   if (!rotated) return {json_error(rotated.error(), request_id)};
                   return {endpoint_object(200, rotated->endpoint, rotated->secret.reveal()),
                           rotated->global_seq};
                 });
}

void webhook_endpoints::delete_endpoint(call& c) {
  if (!may_manage(c)) return;
  if (!visible(c)) return;
  d_.run.command(c,
                 [this, id = c.path_id, who = *c.who, ctx = context_of(c),
                  request_id = c.req.request_id](std::size_t worker) -> command_result {
                   auto removed = d_.webhooks.service.remove(d_.store_for(worker), who, id, ctx);
                   if (!removed) return {json_error(removed.error(), request_id)};
                   return {no_content(), removed->global_seq};
                 });
}

void webhook_endpoints::list_deliveries(call& c) {
  if (!may_read(c)) return;
  std::optional<std::uint64_t> limit;
  if (!read_count(c, "limit", max_delivery_page, limit)) return;
  std::optional<std::uint64_t> before_seq;
  if (!read_count(c, "before_seq",
                  static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
                  before_seq)) {
    return;
  }
  if (!visible(c)) return;
  const std::size_t page = limit.value_or(default_delivery_page);
  d_.run.read(c, [this, id = c.path_id, page, before_seq](std::size_t worker) {
    // One more than the page says whether there is a next one.
    auto rows = d_.webhooks.store_for(worker).deliveries(id, page + 1, before_seq);
    std::optional<std::uint64_t> next;
    if (rows.size() > page) {
      rows.resize(page);
      next = rows.back().event_seq;
    }
    infra::json_writer w;
    w.begin_object().key("data").begin_array();
    for (const auto& d : rows) write_delivery(w, d);
    w.end_array().key("next_before_seq");
    if (next) {
      w.number(static_cast<std::int64_t>(*next));
    } else {
      w.null();
    }
    w.end_object();
    return json_response(200, w.take());
  });
}

void webhook_endpoints::retry_delivery(call& c) {
  if (!may_manage(c)) return;
  const auto endpoint = visible(c);
  if (!endpoint) return;
  if (!wh::valid_message_id(c.path_sub_id)) return answer(c, not_found());
  if (!endpoint->enabled) {
    // Due deliveries of a disabled endpoint are dropped, not sent.
    return answer(c, domain::problem::of(domain::problem_kind::conflict, "ENDPOINT_DISABLED",
                                         "Enable the endpoint before retrying its deliveries"));
  }
  d_.run.command(c,
                 [this, id = c.path_id, message_id = c.path_sub_id,
                  request_id = c.req.request_id](std::size_t worker) -> command_result {
                   const auto now = domain::to_micros(d_.clock.now());
                   if (!d_.webhooks.store_for(worker).retry_now(id, message_id, now)) {
                     return {json_error(not_found(), request_id)};
                   }
                   infra::json_writer w;
                   w.begin_object()
                       .field("id", message_id)
                       .field("status", "pending")
                       .field("next_attempt_at", at(now))
                       .end_object();
                   return {json_response(202, w.take())};
                 });
}

void add_webhook_routes(route_table& t, webhook_routes_dependencies deps) {
  using E = webhook_endpoints;
  const auto e = std::make_shared<webhook_endpoints>(std::move(deps));
  const std::vector<credential> P{credential::api_key, credential::session};
  // Reads: the endpoint checks the role and, for a key, workspace:admin or audit:read. Writes:
  // a key needs workspace:admin at authentication already.
  t.add({"/v1/webhooks",
         {{"GET", P, "", {}, false, false, bind(e, &E::list_endpoints)},
          {"POST", P, admin_scope, {}, false, true, bind(e, &E::create_endpoint)}}});
  t.add({"/v1/webhooks/{id}",
         {{"GET", P, "", {}, false, false, bind(e, &E::get_endpoint)},
          {"PATCH", P, admin_scope, {}, false, true, bind(e, &E::update_endpoint)},
          {"DELETE", P, admin_scope, {}, false, true, bind(e, &E::delete_endpoint)}}});
  t.add({"/v1/webhooks/{id}/rotate-secret",
         {{"POST", P, admin_scope, {}, false, true, bind(e, &E::rotate_secret)}}});
  t.add({"/v1/webhooks/{id}/deliveries",
         {{"GET", P, "", {"limit", "before_seq"}, false, false, bind(e, &E::list_deliveries)}}});
  t.add({"/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
         {{"POST", P, admin_scope, {}, false, true, bind(e, &E::retry_delivery)}}});
}

}  // namespace keyledger::services::http
