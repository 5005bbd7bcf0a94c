// Key management: create, list, read, edit, rotate, revoke, whoami; and the keys route table.
#include "services/http/keys/key_endpoints.hpp"

#include <algorithm>
#include <string>

#include "domain/net.hpp"
#include "domain/people/policy.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/router/form.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {
namespace {

using domain::problem;
using infra::http_response;

constexpr std::size_t max_page = 100;
constexpr std::size_t default_key_page = 20;
constexpr std::size_t max_name_filter = 256;

}  // namespace

void key_endpoints::create_key(call& c) {
  using domain::action;
  if (!may(*c.who, action::keys_create, "keys:write")) {
    return answer(c, forbidden(*c.who, action::keys_create));
  }
  auto body =
      parse_body(c, {"name", "environment", "scopes", "expires_at", "expires_in_days",
                     "allowed_cidrs", "postback_url", "off_the_record", "enabled", "rate_limit"});
  if (!body) return;
  auto workspace = workspace_of(c, d_.view);
  if (!workspace) return;
  domain::key_settings_patch s;
  if (!read_settings(c, *body, *workspace, s)) return;
  std::optional<std::string> env_text;
  std::optional<std::int64_t> days;
  std::optional<std::string> expires_text;
  const bool never = body->is_null("expires_at");
  if (!take(c, body->get_string("environment"), env_text) ||
      !take(c, body->get_int("expires_in_days"), days) ||
      (!never && !take(c, body->get_string("expires_at"), expires_text))) {
    return;
  }
  if (!s.name) return void(missing(c, "name"));
  if (!env_text) return void(missing(c, "environment"));
  const auto env = domain::parse_environment(*env_text);
  if (!env)
    return void(invalid(c, "environment", "field 'environment' must be \"live\" or \"test\""));

  const auto& policy = workspace->policy;
  create_key_input input;
  // Parsing is ours; every rule of the expiry is the domain's (domain::resolve_expiry, run
  // again by key_service at its own instant).
  if (expires_text) {
    const auto at = domain::parse_timestamp(*expires_text);
    // Both given is refused whatever the text says: resolve_expiry names that first.
    if (!at && !days) {
      return void(invalid(c, "expires_at",
                          "field 'expires_at' must be an RFC 3339 UTC time such as "
                          "\"2026-11-23T19:36:02Z\" (or null)"));
    }
    input.expiry.expires_at = at.value_or(domain::timestamp{});
  }
  input.expiry.never_expires = never;
  input.expiry.expires_in_days = days;
  if (auto checked = domain::resolve_expiry(input.expiry, policy, d_.clock.now()); !checked) {
    return answer(c, checked.error());
  }
  input.workspace_id = workspace->workspace_id;
  input.key_prefix = workspace->key_prefix;
  input.policy = policy;
  // The request is a patch of the defaults (off the record: no; enabled: yes).
  input.settings = s.applied_to({});
  input.env = *env;
  // The key belongs to, and acts for, the person creating it (or the creating key's owner).
  input.owner_user_id = c.who->user_id;

  run_.command(
      c,
      [this, input = std::move(input), workspace = std::move(*workspace), ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto created = d_.keys.create(d_.store_for(worker), input, ctx);
        if (!created) return {json_error(problem_of(created.error()), request_id)};
        return {created_response(created.value(), standing_of(created->state, workspace),
                                 d_.clock.now()),
                created->global_seq};
      });
}

void key_endpoints::list_keys(call& c) {
  using domain::action;
  key_query q;
  q.workspace_id = c.who->workspace_id;
  // Everyone's keys (keys.read_any), or only the caller's own (keys.read_own).
  std::string only_owner;
  if (!may(*c.who, action::keys_read_any, "keys:read")) {
    if (!may(*c.who, action::keys_read_own, "keys:read") || c.who->user_id.empty()) {
      return answer(c, forbidden(*c.who, action::keys_read_any));
    }
    only_owner = c.who->user_id;
  }
  if (auto name = c.query_value("name")) {
    if (name->size() > max_name_filter) {
      return void(invalid(c, "name", "query parameter 'name' is longer than 256 bytes"));
    }
    q.name_contains = std::string(*name);
  }
  if (auto env = c.query_value("environment")) {
    q.env = domain::parse_environment(*env);
    if (!q.env)
      return void(invalid(c, "environment", "query parameter 'environment' must be live or test"));
  }
  if (auto status = c.query_value("status")) {
    q.status = domain::parse_key_status(*status);
    if (!q.status) {
      return void(invalid(c, "status",
                          "query parameter 'status' must be active, revoked, expired or disabled"));
    }
  }
  const auto limit = page_limit(c, default_key_page);
  if (!limit) return;
  q.limit = *limit;
  if (auto cursor = c.query_value("cursor")) {
    q.after = decode_cursor(*cursor);
    if (!q.after)
      return void(invalid(c, "cursor", "query parameter 'cursor' is not a cursor of this list"));
  }
  std::optional<domain::timestamp> as_of;
  if (!read_as_of(c, as_of)) return;
  if (as_of) return list_keys_as_of(c, std::move(q), std::move(only_owner), *as_of);
  run_.read(c, [this, q = std::move(q), only_owner](std::size_t worker) mutable {
    q.now = d_.clock.now();
    const key_page page = visible_page(d_.view, q, only_owner);
    std::vector<std::string> ids;
    ids.reserve(page.items.size());
    for (const auto& item : page.items) ids.emplace_back(item->key_id());
    return key_list_response(page, q.now, last_uses(worker, ids));
  });
}

void key_endpoints::get_key(call& c) {
  if (!plausible_key_id(c.path_id)) {
    return answer(c, not_found());
  }
  std::optional<domain::timestamp> as_of;
  if (!read_as_of(c, as_of)) return;
  if (as_of) return get_key_as_of(c, *as_of);
  auto workspace = workspace_of(c, d_.view);
  if (!workspace) return;
  run_.read(c, [this, id = c.path_id, who = *c.who, workspace = std::move(*workspace),
                request_id = c.req.request_id](std::size_t worker) {
    auto k = d_.keys.load(d_.store_for(worker), id);
    // Another workspace's key, or one the caller may not see, is indistinguishable from a
    // missing one.
    if (!k.exists || k.workspace_id != who.workspace_id || !may_see_key(who, k.owner_user_id)) {
      return json_error(not_found(), request_id);
    }
    const std::string ids[] = {id};
    const auto uses = last_uses(worker, ids);
    return key_object(k, standing_of(k, workspace), d_.clock.now(), find_use(uses, id));
  });
}

void key_endpoints::update_key(call& c) {
  using domain::action;
  // Refused outright when the role has neither the _any nor the _own action.
  if (!may(*c.who, action::keys_update_any, "keys:write") &&
      !may(*c.who, action::keys_update_own, "keys:write")) {
    return answer(c, forbidden(*c.who, action::keys_update_any));
  }
  auto body = parse_body(c, {"name", "scopes", "allowed_cidrs", "postback_url", "off_the_record",
                             "enabled", "rate_limit"});
  if (!body) return;
  if (!plausible_key_id(c.path_id)) {
    return answer(c, not_found());
  }
  auto workspace = workspace_of(c, d_.view);
  if (!workspace) return;
  domain::key_settings_patch s;
  if (!read_settings(c, *body, *workspace, s)) return;
  update_key_input input = std::move(s);
  run_.command(
      c,
      [this, id = c.path_id, who = *c.who, workspace = std::move(*workspace),
       input = std::move(input), ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto& store = d_.store_for(worker);
        if (auto refused = refuse_key_command(who, d_.keys.load(store, id), action::keys_update_any,
                                              action::keys_update_own)) {
          return {json_error(*refused, request_id)};
        }
        auto changed =
            d_.keys.update(store, id, workspace.workspace_id, workspace.policy, input, ctx);
        if (!changed) return {json_error(problem_of(changed.error()), request_id)};
        const std::string ids[] = {id};
        const auto uses = last_uses(worker, ids);
        return {key_object(changed->state, standing_of(changed->state, workspace), d_.clock.now(),
                           find_use(uses, id)),
                changed->global_seq};
      });
}

void key_endpoints::rotate_key(call& c) {
  using domain::action;
  if (!may(*c.who, action::keys_rotate_any, "keys:write") &&
      !may(*c.who, action::keys_rotate_own, "keys:write")) {
    return answer(c, forbidden(*c.who, action::keys_rotate_any));
  }
  const auto grace_period = read_grace_period(c);
  if (!grace_period) return;
  if (!plausible_key_id(c.path_id)) {
    return answer(c, not_found());
  }
  auto workspace = workspace_of(c, d_.view);
  if (!workspace) return;
  run_.command(
      c,
      [this, id = c.path_id, workspace = std::move(*workspace), grace_period = *grace_period,
       who = *c.who, ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto& store = d_.store_for(worker);
        const auto old_key = d_.keys.load(store, id);
        if (auto refused = refuse_key_command(who, old_key, action::keys_rotate_any,
                                              action::keys_rotate_own)) {
          return {json_error(*refused, request_id)};
        }
        const auto owner_role =
            old_key.owner_user_id.empty()
                ? std::nullopt
                : d_.directory.role_of(workspace.workspace_id, old_key.owner_user_id);
        if (auto refused = refuse_rotation(who, old_key, owner_role)) {
          return {json_error(*refused, request_id)};
        }
        auto rotated = d_.keys.rotate(store, id, workspace.workspace_id, workspace.key_prefix,
                                      workspace.policy, grace_period, ctx);
        if (!rotated) return {json_error(problem_of(rotated.error()), request_id)};
        return {created_response(rotated->new_key, standing_of(rotated->new_key.state, workspace),
                                 d_.clock.now()),
                rotated->new_key.global_seq};
      });
}

void key_endpoints::revoke_key(call& c) {
  using domain::action;
  if (!may(*c.who, action::keys_revoke_any, "keys:write") &&
      !may(*c.who, action::keys_revoke_own, "keys:write")) {
    return answer(c, forbidden(*c.who, action::keys_revoke_any));
  }
  if (!plausible_key_id(c.path_id)) {
    return answer(c, not_found());
  }
  run_.command(
      c,
      [this, id = c.path_id, who = *c.who, ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto& store = d_.store_for(worker);
        if (auto refused = refuse_key_command(who, d_.keys.load(store, id), action::keys_revoke_any,
                                              action::keys_revoke_own)) {
          return {json_error(*refused, request_id)};
        }
        auto revoked = d_.keys.revoke(store, id, who.workspace_id, ctx);
        if (!revoked) return {json_error(problem_of(revoked.error()), request_id)};
        http_response r;
        r.status = 204;
        r.content_type.clear();
        return {std::move(r), revoked->global_seq};
      });
}

void key_endpoints::get_self(call& c) {
  run_.read(c, [this, key = c.key](std::size_t worker) {
    const std::string ids[] = {std::string(key->key_id())};
    const auto uses = last_uses(worker, ids);
    return key_object(key->state(), {key->effective_scopes(), key->owner_removed()}, d_.clock.now(),
                      find_use(uses, key->key_id()));
  });
}

key_page visible_page(const active_key_view& view, const key_query& q,
                      const std::string& only_owner) {
  if (only_owner.empty()) return view.list(q);
  // Only the caller's keys: walk the workspace's list (newest first) in full pages and keep
  // theirs, one more than the page to know whether another page follows.
  key_page page;
  const auto wanted = q.limit;
  key_query scan = q;
  scan.limit = max_page;
  while (page.items.size() <= wanted) {
    auto chunk = view.list(scan);
    for (auto& item : chunk.items) {
      if (item->owner_user_id() == only_owner && page.items.size() <= wanted) {
        page.items.push_back(std::move(item));
      }
    }
    if (!chunk.next) break;
    scan.after = chunk.next;
  }
  if (page.items.size() > wanted) {
    page.items.resize(wanted);
    const key_entry& last = *page.items.back();
    page.next = list_cursor{last.created_at(), std::string(last.key_id())};
  }
  return page;
}

infra::http_response key_list_response(const key_page& page, domain::timestamp now,
                                       const std::vector<infra::last_use>& uses) {
  infra::json_writer w;
  w.begin_object().key("data").begin_array();
  for (const auto& item : page.items) {
    w.begin_object();
    write_key_fields(w, item->state(), {item->effective_scopes(), item->owner_removed()}, now,
                     find_use(uses, item->key_id()));
    w.end_object();
  }
  w.end_array().key("next_cursor");
  if (page.next) {
    w.string(encode_cursor(*page.next));
  } else {
    w.null();
  }
  w.end_object();
  return json_response(200, w.take());
}

key_standing key_endpoints::standing_of(const domain::api_key_state& k,
                                        const workspace_entry& ws) const {
  key_standing out;
  if (k.owner_user_id.empty()) {
    // A key from before keys had owners keeps its own scopes (docs/security.md).
    out.effective_scopes = k.scopes;
    return out;
  }
  const auto role = d_.directory.role_of(k.workspace_id, k.owner_user_id);
  out.owner_removed = !role.has_value();
  out.effective_scopes = domain::effective_scopes(k.scopes, role, ws.scope_catalog);
  return out;
}

std::vector<infra::last_use> key_endpoints::last_uses(std::size_t worker,
                                                      std::span<const std::string> ids) const {
  if (ids.empty()) return {};
  return d_.telemetry_for(worker).last_uses(ids);
}

void add_key_routes(route_table& t, key_routes_dependencies deps) {
  using E = key_endpoints;
  const auto e = std::make_shared<key_endpoints>(std::move(deps));
  const std::vector<credential> key_only{credential::api_key};
  const std::vector<credential> P{credential::api_key, credential::session};
  t.add({"/v1/keys/self", {{"GET", key_only, "", {}, false, false, bind(e, &E::get_self)}}});
  t.add({"/v1/keys",
         {{"GET",
           P,
           "keys:read",
           {"name", "environment", "status", "limit", "cursor", "as_of"},
           false,
           false,
           bind(e, &E::list_keys)},
          {"POST", P, "keys:write", {}, false, true, bind(e, &E::create_key)}}});
  t.add({"/v1/keys/{id}",
         {{"GET", P, "keys:read", {"as_of"}, false, false, bind(e, &E::get_key)},
          {"PATCH", P, "keys:write", {}, false, true, bind(e, &E::update_key)},
          {"DELETE", P, "keys:write", {}, false, true, bind(e, &E::revoke_key)}}});
  t.add({"/v1/keys/{id}/rotate",
         {{"POST", P, "keys:write", {}, false, true, bind(e, &E::rotate_key)}}});
  // Request logs and failed attempts: audit:read. The endpoint checks it (after the key's
  // visibility: someone else's key is 404 to a member, not 403).
  t.add({"/v1/keys/{id}/requests",
         {{"GET", P, "", {"limit", "cursor"}, false, false, bind(e, &E::key_requests)}}});
  // A key's history: reading the key with keys:read OR audit:read (the endpoint checks).
  t.add({"/v1/keys/{id}/history",
         {{"GET", P, "", {"limit", "cursor"}, false, false, bind(e, &E::key_history)}}});
  t.add({"/v1/auth-failures",
         {{"GET", P, "audit:read", {"since", "limit"}, false, false, bind(e, &E::auth_failures)}}});
}

}  // namespace keyledger::services::http
