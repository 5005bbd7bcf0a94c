// The caller's workspace: its settings (key policy, scope catalog, on_leak), read and changed.
#include <string>

#include "domain/people/policy.hpp"
#include "domain/workspace/workspace.hpp"
#include "services/app/workspace_service.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/router/form.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/http/workspace/workspace_routes.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services::http {
namespace {

using domain::action;
using infra::http_response;

struct workspace_fields {
  std::string_view workspace_id;
  std::string_view name;
  std::string_view key_prefix;
  const domain::key_policy& policy;
  const std::vector<std::string>& scope_catalog;
  domain::leak_action on_leak;
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
  w.end_array();
  w.field("on_leak", domain::to_string(ws.on_leak));
  w.end_object();
  return json_response(200, w.take());
}

/// Reads the members given in `p` (the "key_policy" object) onto `policy`; answers 400 itself.
bool read_policy(const call& c, const infra::json_body& p, domain::key_policy& policy) {
  if (auto unknown = p.first_unknown_field({"default_lifespan_days", "max_lifespan_days",
                                            "allow_no_expiry", "names_allow_spaces"})) {
    answer(c, unknown_member("key_policy", *unknown));
    return false;
  }
  auto default_days = p.get_int("default_lifespan_days");
  auto max_days = p.get_int("max_lifespan_days");
  auto no_expiry = p.get_bool("allow_no_expiry");
  auto spaces = p.get_bool("names_allow_spaces");
  for (auto* days : {&default_days, &max_days}) {
    if (!*days) return invalid(c, "key_policy", days->error().message);
  }
  if (!no_expiry) return invalid(c, "key_policy.allow_no_expiry", no_expiry.error().message);
  if (!spaces) return invalid(c, "key_policy.names_allow_spaces", spaces.error().message);
  // The bounds of the lifespans are the domain's (domain::check_lifespans).
  auto checked = domain::check_lifespans(policy, default_days.value(), max_days.value());
  if (!checked) {
    answer(c, checked.error());
    return false;
  }
  policy = checked.value();
  if (no_expiry.value()) policy.allow_no_expiry = *no_expiry.value();
  if (spaces.value()) policy.names_allow_spaces = *spaces.value();
  return true;
}

class workspace_endpoints {
 public:
  explicit workspace_endpoints(workspace_routes_dependencies deps)
      : d_(std::move(deps)), run_(d_.run) {}
  void get_workspace(call& c);
  void update_workspace(call& c);

 private:
  workspace_routes_dependencies d_;
  const runner& run_;
};

}  // namespace

void workspace_endpoints::get_workspace(call& c) {
  // Anyone who reads keys needs the policy and catalog they are made under.
  if (!may(*c.who, action::workspace_read, "keys:read") &&
      !may(*c.who, action::workspace_read, "workspace:admin")) {
    return answer(c, forbidden(*c.who, action::workspace_read));
  }
  auto ws = workspace_of(c, d_.view);
  if (!ws) return;
  c.respond(workspace_object(
      {ws->workspace_id, ws->name, ws->key_prefix, ws->policy, ws->scope_catalog, ws->on_leak}));
}

void workspace_endpoints::update_workspace(call& c) {
  if (!may(*c.who, action::workspace_update, "workspace:admin")) {
    return answer(c, forbidden(*c.who, action::workspace_update));
  }
  auto body = parse_body(c, {"key_policy", "scope_catalog", "on_leak"});
  if (!body) return;
  auto ws = workspace_of(c, d_.view);
  if (!ws) return;
  domain::update_workspace_settings command;
  command.workspace_id = ws->workspace_id;
  auto policy_object = body->get_object("key_policy");
  if (!policy_object) return void(invalid(c, "key_policy", "field 'key_policy' must be an object"));
  if (policy_object.value()) {
    // Members left out keep their current values.
    auto policy = ws->policy;
    if (!read_policy(c, *policy_object.value(), policy)) return;
    command.policy = policy;
  }
  auto catalog = body->get_string_array("scope_catalog");
  if (!catalog) return void(invalid(c, "scope_catalog", catalog.error().message));
  if (catalog.value()) {
    if (!domain::valid_catalog(*catalog.value())) {
      return void(invalid(c, "scope_catalog",
                          "field 'scope_catalog' must hold at most 64 distinct scopes of the "
                          "form resource:action, none of them a management scope (keys:read "
                          "keys:write users:read users:write workspace:admin audit:read oauth:introspect)"));
    }
    command.scope_catalog = std::move(*catalog.value());
  }
  auto on_leak = body->get_string("on_leak");
  if (!on_leak) return void(invalid(c, "on_leak", on_leak.error().message));
  if (on_leak.value()) {
    command.on_leak = domain::parse_leak_action(*on_leak.value());
    if (!command.on_leak) {
      return void(invalid(c, "on_leak", "field 'on_leak' must be \"revoke\" or \"disable\""));
    }
  }
  command.changed_by = c.who->user_id.empty() ? c.who->key_id : c.who->user_id;
  run_.command(
      c,
      [this, command = std::move(command), ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) mutable -> command_result {
        auto changed = d_.workspaces.update_settings(d_.store_for(worker), command, ctx);
        if (!changed) return {json_error(problem_of(changed.error()), request_id)};
        const auto& w = changed->workspace;
        return {workspace_object(
                    {w.workspace_id, w.name, w.key_prefix, w.policy, w.scope_catalog, w.on_leak}),
                changed->global_seq};
      });
}

void add_workspace_routes(route_table& t, workspace_routes_dependencies deps) {
  using E = workspace_endpoints;
  const auto e = std::make_shared<workspace_endpoints>(std::move(deps));
  const std::vector<credential> P{credential::api_key, credential::session};
  // Reading needs keys:read or workspace:admin (the endpoint checks).
  t.add({"/v1/workspace",
         {{"GET", P, "", {}, false, false, bind(e, &E::get_workspace)},
          {"PATCH", P, "workspace:admin", {}, false, true, bind(e, &E::update_workspace)}}});
}

}  // namespace keyledger::services::http
