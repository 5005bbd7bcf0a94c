// Key management: create, list, read, edit, rotate, revoke, whoami, request log, failures.
#include <algorithm>
#include <charconv>
#include <map>
#include <string>

#include "domain/net.hpp"
#include "domain/policy.hpp"
#include "infra/core/error.hpp"
#include "services/http/api.hpp"
#include "services/http/error_table.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {
namespace {

using infra::http_response;

constexpr std::size_t max_page = 100;
constexpr std::size_t default_key_page = 20;
constexpr std::size_t default_log_page = 20;
constexpr std::size_t default_failure_page = 50;
constexpr std::size_t max_name_filter = 256;

std::int64_t micros(domain::timestamp t) { return t.time_since_epoch().count(); }

bool invalid(const call& c, std::string message) {
  c.respond(error_response(400, "INVALID_FIELD", message, c.req.request_id));
  return false;
}

bool missing(const call& c, std::string_view field) {
  c.respond(error_response(400, "MISSING_FIELD", "field '" + std::string(field) + "' is required",
                           c.req.request_id));
  return false;
}

/// Takes a typed optional field; a type error answers 400 INVALID_FIELD.
template <class T>
bool take(const call& c, domain::result<std::optional<T>, infra::json_error> r,
          std::optional<T>& out) {
  if (!r) return invalid(c, r.error().message);
  out = std::move(r.value());
  return true;
}

/// The settings that create and PATCH share, validated (domain rules, clear messages).
struct settings {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> scopes;
  std::optional<std::vector<std::string>> allowed_cidrs;
  std::optional<std::string> postback_url;  ///< "" = none
  std::optional<bool> off_the_record;
  std::optional<bool> enabled;
  std::optional<std::optional<domain::rate_limit>> limit;
};

bool read_rate_limit(const call& c, const infra::json_body& body, settings& out) {
  if (body.is_null("rate_limit")) {
    out.limit = std::optional<domain::rate_limit>{};
    return true;
  }
  auto object = body.get_object("rate_limit");
  if (!object) return invalid(c, "field 'rate_limit' must be an object or null");
  if (!object.value()) return true;
  const auto& rl = *object.value();
  if (auto unknown = rl.first_unknown_field({"limit", "window_seconds"})) {
    const auto shown = printable_name(*unknown);
    c.respond(error_response(
        400, "UNKNOWN_FIELD",
        "unknown field " + (shown.starts_with('\'') ? "'rate_limit." + shown.substr(1)
                                                    : "(name not shown) in 'rate_limit'"),
        c.req.request_id));
    return false;
  }
  auto limit = rl.get_int("limit");
  auto window = rl.get_int("window_seconds");
  if (limit && !limit.value()) return missing(c, "rate_limit.limit");
  if (window && !window.value()) return missing(c, "rate_limit.window_seconds");
  if (!limit || *limit.value() < 1 || *limit.value() > 1'000'000) {
    return invalid(c, "field 'rate_limit.limit' must be an integer from 1 to 1000000");
  }
  if (!window || *window.value() < 1 || *window.value() > 86'400) {
    return invalid(c, "field 'rate_limit.window_seconds' must be an integer from 1 to 86400");
  }
  out.limit = std::optional<domain::rate_limit>{domain::rate_limit{
      static_cast<std::uint32_t>(*limit.value()), static_cast<std::uint32_t>(*window.value())}};
  return true;
}

/// Scopes a caller may put on a key: each in the workspace's catalog or a management scope
/// (else 400), allowed for the caller's role (else 403), and - for a key - no management scope
/// the key does not hold itself (no escalation: a key acts with its owner's rights, never
/// more, and never mints a key reaching further than itself). Answers itself.
bool scopes_acceptable(const call& c, const std::vector<std::string>& scopes,
                       const workspace_entry& ws) {
  if (!domain::valid_scopes(scopes)) {
    c.respond(error_response(domain::rejection::invalid_scopes, c.req.request_id));
    return false;
  }
  for (const auto& s : scopes) {
    const bool known =
        domain::is_management_scope(s) ||
        std::find(ws.scope_catalog.begin(), ws.scope_catalog.end(), s) != ws.scope_catalog.end();
    if (!known) {
      // A valid scope is lowercase resource:action of at most 65 bytes: safe to echo.
      return invalid(c, "field 'scopes': '" + s +
                            "' is neither in the workspace's scope catalog nor a management "
                            "scope");
    }
  }
  const auto& who = *c.who;
  const auto role = who.effective_role();
  for (const auto& s : scopes) {
    if (!role || !domain::role_allows_scope(*role, s, ws.scope_catalog)) {
      c.respond(error_response(403, "FORBIDDEN",
                               "Your role does not allow scope '" + s + "' on a key",
                               c.req.request_id));
      return false;
    }
    if (who.is_key() && domain::is_management_scope(s) && !who.has_scope(s)) {
      c.respond(error_response(403, "FORBIDDEN",
                               "A key cannot grant a management scope it does not hold",
                               c.req.request_id));
      return false;
    }
  }
  return true;
}

bool read_settings(const call& c, const infra::json_body& body, const workspace_entry& ws,
                   settings& out) {
  const auto& policy = ws.policy;
  std::optional<std::string> name;
  if (!take(c, body.get_string("name"), name) ||
      !take(c, body.get_string_array("scopes"), out.scopes) ||
      !take(c, body.get_string_array("allowed_cidrs"), out.allowed_cidrs) ||
      !take(c, body.get_bool("off_the_record"), out.off_the_record) ||
      !take(c, body.get_bool("enabled"), out.enabled)) {
    return false;
  }
  if (name) {
    auto normalized = domain::normalize_key_name(*name);
    if (!domain::valid_key_name(normalized, policy.names_allow_spaces)) {
      return invalid(c, policy.names_allow_spaces
                            ? "field 'name' must be 1-64 printable characters after trimming "
                              "(no control or invisible characters) and must not be an API key"
                            : "field 'name' must be 1-64 printable characters after trimming, "
                              "without spaces (this workspace's rule), and must not be an API "
                              "key");
    }
    out.name = std::move(normalized);
  }
  if (out.scopes && !scopes_acceptable(c, *out.scopes, ws)) return false;
  if (out.allowed_cidrs) {
    if (out.allowed_cidrs->size() > domain::max_allowed_cidrs) {
      return invalid(c, "field 'allowed_cidrs' holds more than 32 entries");
    }
    for (std::size_t i = 0; i < out.allowed_cidrs->size(); ++i) {
      if (!domain::parse_cidr((*out.allowed_cidrs)[i])) {
        return invalid(c, "field 'allowed_cidrs': entry " + std::to_string(i + 1) +
                              " is not an IPv4/IPv6 address or CIDR with its host bits zero");
      }
    }
  }
  if (body.is_null("postback_url")) {
    out.postback_url = std::string();
  } else {
    if (!take(c, body.get_string("postback_url"), out.postback_url)) return false;
    if (out.postback_url && !domain::valid_postback_url(*out.postback_url)) {
      c.respond(error_response(domain::rejection::invalid_postback_url, c.req.request_id));
      return false;
    }
  }
  return read_rate_limit(c, body, out);
}

/// A decimal query parameter from 1 to `max`; answers 400 itself.
std::optional<std::size_t> page_limit(const call& c, std::size_t fallback) {
  const auto text = c.query_value("limit");
  if (!text) return fallback;
  std::size_t value = 0;
  const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || p != text->data() + text->size() || value < 1 || value > max_page) {
    invalid(c, "query parameter 'limit' must be an integer from 1 to 100");
    return std::nullopt;
  }
  return value;
}

/// Request-log cursors: "r1.<at_us>.<id>", the position of the last entry of a page.
std::string encode_log_cursor(const infra::request_log_entry& e) {
  return "r1." + std::to_string(e.at_us) + "." + std::to_string(e.id);
}

std::optional<std::pair<std::int64_t, std::int64_t>> decode_log_cursor(std::string_view text) {
  if (!text.starts_with("r1.")) return std::nullopt;
  text.remove_prefix(3);
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::int64_t at = 0;
  std::int64_t id = 0;
  const auto a = text.substr(0, dot);
  const auto b = text.substr(dot + 1);
  const auto [pa, ea] = std::from_chars(a.data(), a.data() + a.size(), at);
  const auto [pb, eb] = std::from_chars(b.data(), b.data() + b.size(), id);
  if (a.empty() || b.empty() || ea != std::errc() || eb != std::errc() ||
      pa != a.data() + a.size() || pb != b.data() + b.size() || at < 0 || id < 0) {
    return std::nullopt;
  }
  return std::pair{at, id};
}

const infra::last_use* find_use(const std::vector<infra::last_use>& uses, std::string_view id) {
  for (const auto& u : uses) {
    if (u.key_id == id) return &u;
  }
  return nullptr;
}

http_response key_object(const domain::api_key_state& k, const key_standing& standing,
                         domain::timestamp now, const infra::last_use* last,
                         unsigned status = 200) {
  infra::json_writer w;
  w.begin_object();
  write_key_fields(w, k, standing, now, last);
  w.end_object();
  return json_response(status, w.take());
}

/// The answer to create and rotate: the new key with its secret, shown this once.
http_response created_response(const created_key& created, const key_standing& standing,
                               domain::timestamp now) {
  infra::json_writer w;
  w.begin_object();
  write_key_fields(w, created.state, standing, now, nullptr);
  // The secret leaves the process here, once.
  w.field("key", created.key.reveal()).end_object();
  auto r = json_response(201, w.take());
  r.headers.emplace_back("Location", "/v1/keys/" + created.state.key_id);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

void api::create_key(call& c) {
  using domain::action;
  if (!may(*c.who, action::keys_create, "keys:write")) {
    return c.respond(forbidden(*c.who, action::keys_create, c.req.request_id));
  }
  auto body =
      parse_body(c, {"name", "environment", "scopes", "expires_at", "expires_in_days",
                     "allowed_cidrs", "postback_url", "off_the_record", "enabled", "rate_limit"});
  if (!body) return;
  auto workspace = workspace_of(c);
  if (!workspace) return;
  settings s;
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
  if (!env) return void(invalid(c, "field 'environment' must be \"live\" or \"test\""));

  const auto& policy = workspace->policy;
  create_key_input input;
  if ((never || expires_text) && days) {
    return void(invalid(c, "fields 'expires_at' and 'expires_in_days' exclude each other"));
  }
  const auto now = d_.clock.now();
  const auto max_days = std::to_string(policy.max_lifespan.count());
  if (never) {
    if (!policy.allow_no_expiry) {
      return void(invalid(c,
                          "field 'expires_at' may be null (no expiry) only where the "
                          "workspace allows keys without expiry"));
    }
    input.expiry.never_expires = true;
  } else if (expires_text) {
    const auto at = domain::parse_timestamp(*expires_text);
    if (!at) {
      return void(invalid(c,
                          "field 'expires_at' must be an RFC 3339 UTC time such as "
                          "\"2026-11-23T19:36:02Z\" (or null)"));
    }
    if (*at <= now || *at > now + policy.max_lifespan) {
      return void(invalid(
          c, "field 'expires_at' must lie in the future, at most " + max_days + " days from now"));
    }
    input.expiry.expires_at = *at;
  } else if (days) {
    if (*days < 1 || *days > policy.max_lifespan.count()) {
      return void(invalid(c, "field 'expires_in_days' must be an integer from 1 to " + max_days));
    }
    input.expiry.expires_in_days = *days;
  }
  input.workspace_id = workspace->workspace_id;
  input.key_prefix = workspace->key_prefix;
  input.policy = policy;
  input.name = std::move(*s.name);
  input.env = *env;
  if (s.scopes) input.scopes = std::move(*s.scopes);
  if (s.allowed_cidrs) input.allowed_cidrs = std::move(*s.allowed_cidrs);
  if (s.postback_url) input.postback_url = std::move(*s.postback_url);
  input.off_the_record = s.off_the_record.value_or(false);
  input.enabled = s.enabled.value_or(true);
  if (s.limit) input.limit = *s.limit;
  // The key belongs to, and acts for, the person creating it (or the creating key's owner).
  input.owner_user_id = c.who->user_id;

  run_command(
      c,
      [this, input = std::move(input), workspace = std::move(*workspace), ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto created = d_.keys.create(d_.store_for(worker), input, ctx);
        if (!created) return {error_response(created.error(), request_id)};
        return {created_response(created.value(), standing_of(created->state, workspace),
                                 d_.clock.now()),
                created->global_seq};
      });
}

void api::list_keys(call& c) {
  using domain::action;
  key_query q;
  q.workspace_id = c.who->workspace_id;
  // Everyone's keys (keys.read_any), or only the caller's own (keys.read_own).
  std::string only_owner;
  if (!may(*c.who, action::keys_read_any, "keys:read")) {
    if (!may(*c.who, action::keys_read_own, "keys:read") || c.who->user_id.empty()) {
      return c.respond(forbidden(*c.who, action::keys_read_any, c.req.request_id));
    }
    only_owner = c.who->user_id;
  }
  if (auto name = c.query_value("name")) {
    if (name->size() > max_name_filter) {
      return void(invalid(c, "query parameter 'name' is longer than 256 bytes"));
    }
    q.name_contains = std::string(*name);
  }
  if (auto env = c.query_value("environment")) {
    q.env = domain::parse_environment(*env);
    if (!q.env) return void(invalid(c, "query parameter 'environment' must be live or test"));
  }
  if (auto status = c.query_value("status")) {
    q.status = domain::parse_key_status(*status);
    if (!q.status) {
      return void(
          invalid(c, "query parameter 'status' must be active, revoked, expired or disabled"));
    }
  }
  const auto limit = page_limit(c, default_key_page);
  if (!limit) return;
  q.limit = *limit;
  if (auto cursor = c.query_value("cursor")) {
    q.after = decode_cursor(*cursor);
    if (!q.after) return void(invalid(c, "query parameter 'cursor' is not a cursor of this list"));
  }
  run_read(c, [this, q = std::move(q), only_owner](std::size_t worker) mutable {
    q.now = d_.clock.now();
    key_page page;
    if (only_owner.empty()) {
      page = d_.view.list(q);
    } else {
      // Only the caller's keys: walk the workspace's list (newest first) in full pages and
      // keep theirs, one more than the page to know whether another page follows.
      const auto wanted = q.limit;
      key_query scan = q;
      scan.limit = max_page;
      while (page.items.size() <= wanted) {
        auto chunk = d_.view.list(scan);
        for (auto& item : chunk.items) {
          if (item->state.owner_user_id == only_owner && page.items.size() <= wanted) {
            page.items.push_back(std::move(item));
          }
        }
        if (!chunk.next) break;
        scan.after = chunk.next;
      }
      if (page.items.size() > wanted) {
        page.items.resize(wanted);
        const auto& last = page.items.back()->state;
        page.next = list_cursor{last.created_at, last.key_id};
      }
    }
    std::vector<std::string> ids;
    ids.reserve(page.items.size());
    for (const auto& item : page.items) ids.push_back(item->key_id());
    const auto uses = last_uses(worker, ids);
    infra::json_writer w;
    w.begin_object().key("data").begin_array();
    for (const auto& item : page.items) {
      w.begin_object();
      write_key_fields(w, item->state, {item->effective_scopes, item->owner_removed}, q.now,
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
  });
}

void api::get_key(call& c) {
  if (!plausible_key_id(c.path_id)) {
    return c.respond(error_response(404, "NOT_FOUND", c.req.request_id));
  }
  auto workspace = workspace_of(c);
  if (!workspace) return;
  run_read(c, [this, id = c.path_id, who = *c.who, workspace = std::move(*workspace),
               request_id = c.req.request_id](std::size_t worker) {
    auto k = d_.keys.load(d_.store_for(worker), id);
    // Another workspace's key, or one the caller may not see, is indistinguishable from a
    // missing one.
    if (!k.exists || k.workspace_id != who.workspace_id || !may_see_key(who, k.owner_user_id)) {
      return error_response(404, "NOT_FOUND", request_id);
    }
    const std::string ids[] = {id};
    const auto uses = last_uses(worker, ids);
    return key_object(k, standing_of(k, workspace), d_.clock.now(), find_use(uses, id));
  });
}

namespace {

/// The checks every command on one key makes against its current state: visible to the caller
/// (else 404, like a missing key) and the _any/_own action allowed (else 403). nullopt: go on.
std::optional<http_response> refuse_key_command(const principal& who,
                                                const domain::api_key_state& k, domain::action any,
                                                domain::action own, std::string_view request_id) {
  if (!k.exists || k.workspace_id != who.workspace_id || !may_see_key(who, k.owner_user_id)) {
    return error_response(404, "NOT_FOUND", request_id);
  }
  if (!may_on_key(who, any, own, k.owner_user_id, "keys:write")) {
    return forbidden(who, any, request_id);
  }
  return std::nullopt;
}

}  // namespace

void api::update_key(call& c) {
  using domain::action;
  // Refused outright when the role has neither the _any nor the _own action.
  if (!may(*c.who, action::keys_update_any, "keys:write") &&
      !may(*c.who, action::keys_update_own, "keys:write")) {
    return c.respond(forbidden(*c.who, action::keys_update_any, c.req.request_id));
  }
  auto body = parse_body(c, {"name", "scopes", "allowed_cidrs", "postback_url", "off_the_record",
                             "enabled", "rate_limit"});
  if (!body) return;
  if (!plausible_key_id(c.path_id)) {
    return c.respond(error_response(404, "NOT_FOUND", c.req.request_id));
  }
  auto workspace = workspace_of(c);
  if (!workspace) return;
  settings s;
  if (!read_settings(c, *body, *workspace, s)) return;
  update_key_input input;
  input.name = std::move(s.name);
  input.scopes = std::move(s.scopes);
  input.allowed_cidrs = std::move(s.allowed_cidrs);
  input.postback_url = std::move(s.postback_url);
  input.off_the_record = s.off_the_record;
  input.enabled = s.enabled;
  input.limit = s.limit;
  run_command(
      c,
      [this, id = c.path_id, who = *c.who, workspace = std::move(*workspace),
       input = std::move(input), ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto& store = d_.store_for(worker);
        if (auto refused = refuse_key_command(who, d_.keys.load(store, id), action::keys_update_any,
                                              action::keys_update_own, request_id)) {
          return {std::move(*refused)};
        }
        auto changed =
            d_.keys.update(store, id, workspace.workspace_id, workspace.policy, input, ctx);
        if (!changed) return {error_response(changed.error(), request_id)};
        const std::string ids[] = {id};
        const auto uses = last_uses(worker, ids);
        return {key_object(changed->state, standing_of(changed->state, workspace), d_.clock.now(),
                           find_use(uses, id)),
                changed->global_seq};
      });
}

void api::rotate_key(call& c) {
  using domain::action;
  if (!may(*c.who, action::keys_rotate_any, "keys:write") &&
      !may(*c.who, action::keys_rotate_own, "keys:write")) {
    return c.respond(forbidden(*c.who, action::keys_rotate_any, c.req.request_id));
  }
  auto body = parse_body(c, {"grace_period_seconds"}, true);
  if (!body) return;
  std::optional<std::int64_t> grace;
  if (!take(c, body->get_int("grace_period_seconds"), grace)) return;
  if (grace && (*grace < 0 || *grace > domain::max_grace_period.count())) {
    return c.respond(error_response(domain::rejection::invalid_grace_period, c.req.request_id));
  }
  if (!plausible_key_id(c.path_id)) {
    return c.respond(error_response(404, "NOT_FOUND", c.req.request_id));
  }
  auto workspace = workspace_of(c);
  if (!workspace) return;
  const auto grace_period =
      grace ? std::chrono::seconds(*grace) : std::chrono::seconds(domain::default_grace_period);
  run_command(
      c,
      [this, id = c.path_id, workspace = std::move(*workspace), grace_period, who = *c.who,
       ctx = context_of(c), request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto& store = d_.store_for(worker);
        const auto old_key = d_.keys.load(store, id);
        if (auto refused = refuse_key_command(who, old_key, action::keys_rotate_any,
                                              action::keys_rotate_own, request_id)) {
          return {std::move(*refused)};
        }
        // The new key inherits the old key's scopes: rotating must not hand a key the management
        // scopes it does not hold itself.
        if (who.is_key()) {
          for (const auto& s : old_key.scopes) {
            if (domain::is_management_scope(s) && !who.has_scope(s)) {
              return {error_response(403, "FORBIDDEN",
                                     "A key cannot rotate a key holding a management scope it does "
                                     "not hold itself",
                                     request_id)};
            }
          }
        }
        // The new secret acts for the old key's owner and goes to the caller. What an owner may
        // do beyond an admin is all behind users:write (owners, and making owners): a key of an
        // owner holding it is rotated by owners only.
        if (old_key.owner_user_id != who.user_id && !old_key.owner_user_id.empty() &&
            who.effective_role() != domain::role::owner &&
            std::find(old_key.scopes.begin(), old_key.scopes.end(), "users:write") !=
                old_key.scopes.end() &&
            d_.directory.role_of(workspace.workspace_id, old_key.owner_user_id) ==
                domain::role::owner) {
          return {error_response(403, "FORBIDDEN",
                                 "Only an owner may rotate an owner's key that holds users:write",
                                 request_id)};
        }
        auto rotated = d_.keys.rotate(store, id, workspace.workspace_id, workspace.key_prefix,
                                      workspace.policy, grace_period, ctx);
        if (!rotated) return {error_response(rotated.error(), request_id)};
        return {created_response(rotated->new_key, standing_of(rotated->new_key.state, workspace),
                                 d_.clock.now()),
                rotated->new_key.global_seq};
      });
}

void api::revoke_key(call& c) {
  using domain::action;
  if (!may(*c.who, action::keys_revoke_any, "keys:write") &&
      !may(*c.who, action::keys_revoke_own, "keys:write")) {
    return c.respond(forbidden(*c.who, action::keys_revoke_any, c.req.request_id));
  }
  if (!plausible_key_id(c.path_id)) {
    return c.respond(error_response(404, "NOT_FOUND", c.req.request_id));
  }
  run_command(
      c,
      [this, id = c.path_id, who = *c.who, ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto& store = d_.store_for(worker);
        if (auto refused = refuse_key_command(who, d_.keys.load(store, id), action::keys_revoke_any,
                                              action::keys_revoke_own, request_id)) {
          return {std::move(*refused)};
        }
        auto revoked = d_.keys.revoke(store, id, who.workspace_id, ctx);
        if (!revoked) return {error_response(revoked.error(), request_id)};
        http_response r;
        r.status = 204;
        r.content_type.clear();
        return {std::move(r), revoked->global_seq};
      });
}

void api::get_self(call& c) {
  run_read(c, [this, key = c.key](std::size_t worker) {
    const std::string ids[] = {key->key_id()};
    const auto uses = last_uses(worker, ids);
    return key_object(key->state, {key->effective_scopes, key->owner_removed}, d_.clock.now(),
                      find_use(uses, key->key_id()));
  });
}

namespace {

/// Request logs and failed attempts: the role's audit.read, and for a key audit:read.
bool may_read_audit(const principal& who) noexcept {
  return may(who, domain::action::audit_read, "audit:read");
}

}  // namespace

void api::key_requests(call& c) {
  const auto limit = page_limit(c, default_log_page);
  if (!limit) return;
  std::optional<std::pair<std::int64_t, std::int64_t>> before;
  if (auto cursor = c.query_value("cursor")) {
    before = decode_log_cursor(*cursor);
    if (!before) return void(invalid(c, "query parameter 'cursor' is not a cursor of this log"));
  }
  if (!plausible_key_id(c.path_id)) {
    return c.respond(error_response(404, "NOT_FOUND", c.req.request_id));
  }
  run_read(c, [this, id = c.path_id, who = *c.who, limit = *limit, before,
               request_id = c.req.request_id](std::size_t worker) {
    const auto k = d_.keys.load(d_.store_for(worker), id);
    if (!k.exists || k.workspace_id != who.workspace_id || !may_see_key(who, k.owner_user_id)) {
      return error_response(404, "NOT_FOUND", request_id);
    }
    if (!may_read_audit(who)) return forbidden(who, domain::action::audit_read, request_id);
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

void api::auth_failures(call& c) {
  if (!may_read_audit(*c.who)) {
    return c.respond(forbidden(*c.who, domain::action::audit_read, c.req.request_id));
  }
  const auto limit = page_limit(c, default_failure_page);
  if (!limit) return;
  std::optional<domain::timestamp> since;
  if (auto text = c.query_value("since")) {
    since = domain::parse_timestamp(*text);
    if (!since) {
      return void(invalid(c,
                          "query parameter 'since' must be an RFC 3339 UTC time such as "
                          "2026-11-23T19:36:02Z"));
    }
  }
  run_read(
      c, [this, workspace_id = c.who->workspace_id, limit = *limit, since](std::size_t worker) {
        const auto from = since.value_or(d_.clock.now() - std::chrono::hours(24));
        const auto rows = d_.telemetry_for(worker).auth_failures(workspace_id, micros(from), limit);
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
