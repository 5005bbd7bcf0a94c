// The caller's workspace: its settings (key policy, scope catalog), read and changed.
#include <string>
#include <variant>

#include "domain/policy.hpp"
#include "domain/workspace.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "services/http/api.hpp"
#include "services/http/error_table.hpp"

namespace keyledger::services::http {
namespace {

using domain::action;
using infra::http_response;

constexpr std::int64_t max_lifespan_days = 3650;

struct workspace_fields {
  std::string_view workspace_id;
  std::string_view name;
  std::string_view key_prefix;
  const domain::key_policy& policy;
  const std::vector<std::string>& scope_catalog;
};

http_response workspace_object(const workspace_fields& ws) {
  infra::json_writer w;
  w.begin_object()
      .field("id", ws.workspace_id)
      .field("name", ws.name)
      .field("key_prefix", ws.key_prefix)
      .key("key_policy")
      .begin_object()
      .field("default_lifespan_days", static_cast<std::int64_t>(ws.policy.default_lifespan.count()))
      .field("max_lifespan_days", static_cast<std::int64_t>(ws.policy.max_lifespan.count()))
      .field("allow_no_expiry", ws.policy.allow_no_expiry)
      .field("names_allow_spaces", ws.policy.names_allow_spaces)
      .end_object();
  w.key("scope_catalog").begin_array();
  for (const auto& s : ws.scope_catalog) w.string(s);
  w.end_array().end_object();
  return json_response(200, w.take());
}

bool invalid(const call& c, std::string_view message) {
  c.respond(error_response(400, "INVALID_FIELD", message, c.req.request_id));
  return false;
}

/// Reads the members given in `p` (the "key_policy" object) onto `policy`; answers 400 itself.
bool read_policy(const call& c, const infra::json_body& p, domain::key_policy& policy) {
  if (auto unknown = p.first_unknown_field({"default_lifespan_days", "max_lifespan_days",
                                            "allow_no_expiry", "names_allow_spaces"})) {
    const auto shown = printable_name(*unknown);
    c.respond(error_response(
        400, "UNKNOWN_FIELD",
        "unknown field " + (shown.starts_with('\'') ? "'key_policy." + shown.substr(1)
                                                    : "(name not shown) in 'key_policy'"),
        c.req.request_id));
    return false;
  }
  auto default_days = p.get_int("default_lifespan_days");
  auto max_days = p.get_int("max_lifespan_days");
  auto no_expiry = p.get_bool("allow_no_expiry");
  auto spaces = p.get_bool("names_allow_spaces");
  for (auto* days : {&default_days, &max_days}) {
    if (!*days) return invalid(c, days->error().message);
    if (days->value() && (*days->value() < 1 || *days->value() > max_lifespan_days)) {
      return invalid(c,
                     "fields 'key_policy.default_lifespan_days' and "
                     "'key_policy.max_lifespan_days' must be integers from 1 to 3650");
    }
  }
  if (!no_expiry) return invalid(c, no_expiry.error().message);
  if (!spaces) return invalid(c, spaces.error().message);
  if (default_days.value()) policy.default_lifespan = std::chrono::days(*default_days.value());
  if (max_days.value()) policy.max_lifespan = std::chrono::days(*max_days.value());
  if (no_expiry.value()) policy.allow_no_expiry = *no_expiry.value();
  if (spaces.value()) policy.names_allow_spaces = *spaces.value();
  if (!domain::valid_key_policy(policy)) {
    return invalid(c,
                   "field 'key_policy': default_lifespan_days must not exceed "
                   "max_lifespan_days");
  }
  return true;
}

domain::workspace_state load_workspace(infra::event_store& store, std::string_view workspace_id) {
  domain::workspace_state state;
  for (const auto& recorded : store.read_stream(domain::workspace_stream_id(workspace_id))) {
    auto event = infra::decode_workspace_event(recorded.type, recorded.payload);
    if (!event) {
      throw infra::error(infra::errc::storage,
                         "undecodable event at global_seq " + std::to_string(recorded.global_seq));
    }
    state = domain::evolve(std::move(state), *event);
  }
  return state;
}

}  // namespace

void api::get_workspace(call& c) {
  // Anyone who reads keys needs the policy and catalog they are made under.
  if (!may(*c.who, action::workspace_read, "keys:read") &&
      !may(*c.who, action::workspace_read, "workspace:admin")) {
    return c.respond(forbidden(*c.who, action::workspace_read, c.req.request_id));
  }
  auto ws = workspace_of(c);
  if (!ws) return;
  c.respond(workspace_object(
      {ws->workspace_id, ws->name, ws->key_prefix, ws->policy, ws->scope_catalog}));
}

void api::update_workspace(call& c) {
  if (!may(*c.who, action::workspace_update, "workspace:admin")) {
    return c.respond(forbidden(*c.who, action::workspace_update, c.req.request_id));
  }
  auto body = parse_body(c, {"key_policy", "scope_catalog"});
  if (!body) return;
  auto ws = workspace_of(c);
  if (!ws) return;
  domain::update_workspace_settings command;
  command.workspace_id = ws->workspace_id;
  auto policy_object = body->get_object("key_policy");
  if (!policy_object) return void(invalid(c, "field 'key_policy' must be an object"));
  if (policy_object.value()) {
    // Members left out keep their current values.
    auto policy = ws->policy;
    if (!read_policy(c, *policy_object.value(), policy)) return;
    command.policy = policy;
  }
  auto catalog = body->get_string_array("scope_catalog");
  if (!catalog) return void(invalid(c, catalog.error().message));
  if (catalog.value()) {
    if (!domain::valid_catalog(*catalog.value())) {
      return void(invalid(c,
                          "field 'scope_catalog' must hold at most 64 distinct scopes of the "
                          "form resource:action, none of them a management scope (keys:read "
                          "keys:write users:read users:write workspace:admin audit:read)"));
    }
    command.scope_catalog = std::move(*catalog.value());
  }
  command.changed_by = c.who->user_id.empty() ? c.who->key_id : c.who->user_id;
  run_command(c,
              [this, command = std::move(command), ctx = context_of(c),
               request_id = c.req.request_id](std::size_t worker) mutable -> command_result {
                auto& store = d_.store_for(worker);
                auto state = load_workspace(store, command.workspace_id);
                command.now = d_.clock.now();
                auto decision = domain::decide(state, domain::workspace_command{command});
                if (!decision) return {error_response(decision.error(), request_id)};
                std::uint64_t seq = 0;
                if (!decision->empty()) {
                  static infra::openssl_random_source random;
                  std::vector<infra::new_event> events;
                  const auto expected = state.version;
                  for (const auto& e : decision.value()) {
                    events.push_back({domain::new_uuid(random), std::string(domain::event_type(e)),
                                      infra::encode_payload(e)});
                    state = domain::evolve(std::move(state), e);
                  }
                  // Not retried on a conflict: a concurrent change wins and this one answers 409.
                  const auto position = store.append(
                      domain::workspace_stream_id(command.workspace_id), expected, events,
                      {ctx.actor, ctx.request_id, ctx.source_ip, ctx.idempotency_key},
                      command.now.time_since_epoch().count());
                  seq = position.last_seq;
                }
                return {workspace_object({state.workspace_id, state.name, state.key_prefix,
                                          state.policy, state.scope_catalog}),
                        seq};
              });
}

}  // namespace keyledger::services::http
