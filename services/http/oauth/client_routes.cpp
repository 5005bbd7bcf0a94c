// A workspace's OAuth apps: register, list, read, change, rotate the secret, delete.
#include "services/http/oauth/client_routes.hpp"

#include <string>
#include <vector>

#include "domain/keys/key_settings.hpp"
#include "domain/oauth/client.hpp"
#include "domain/people/policy.hpp"
#include "services/app/oauth/client_service.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/oauth_client_view.hpp"

namespace keyledger::services::http {
namespace {

namespace oauth = domain::oauth;
using domain::action;
using infra::http_response;

constexpr std::string_view admin_scope = "workspace:admin";

/// The members a registration or an update may carry (besides `type` and `enabled`).
constexpr std::string_view name_member = "name";
constexpr std::string_view redirect_uris_member = "redirect_uris";
constexpr std::string_view grant_types_member = "grant_types";
constexpr std::string_view allowed_scopes_member = "allowed_scopes";
constexpr std::string_view access_lifetime_member = "access_token_lifetime_seconds";
constexpr std::string_view idle_lifetime_member = "refresh_idle_lifetime_seconds";
constexpr std::string_view absolute_lifetime_member = "refresh_absolute_lifetime_seconds";

std::string_view auth_method_of(const oauth::client_state& c) {
  return c.type == oauth::client_type::confidential ? "client_secret_basic" : "none";
}

/// The public form of a client; `secret` (shown once) when one was just minted.
void write_client(infra::json_writer& w, const oauth::client_state& c, std::string_view secret) {
  w.begin_object()
      .field("id", c.client_id)
      .field("workspace_id", c.workspace_id)
      .field("name", c.settings.name)
      .field("type", oauth::to_string(c.type))
      .field("enabled", c.enabled)
      .field("token_endpoint_auth_method", auth_method_of(c));
  if (!secret.empty()) w.field("client_secret", secret);
  w.key("redirect_uris").begin_array();
  for (const auto& u : c.settings.redirect_uris) w.string(u);
  w.end_array().key("grant_types").begin_array();
  for (const auto g : c.settings.grant_types) w.string(oauth::to_string(g));
  w.end_array().key("allowed_scopes").begin_array();
  for (const auto& s : c.settings.allowed_scopes) w.string(s);
  w.end_array()
      .field(access_lifetime_member,
             static_cast<std::int64_t>(c.settings.access_token_lifetime.count()))
      .field(idle_lifetime_member,
             static_cast<std::int64_t>(c.settings.refresh_idle_lifetime.count()))
      .field(absolute_lifetime_member,
             static_cast<std::int64_t>(c.settings.refresh_absolute_lifetime.count()));
  infra::write_timestamp(w, "created_at", c.registered_at);
  infra::write_timestamp_or_null(w, "updated_at", c.updated_at);
  infra::write_timestamp_or_null(w, "previous_secret_valid_until", c.previous_valid_until);
  w.end_object();
}

http_response client_object(unsigned status, const oauth::client_state& c,
                            std::string_view secret = {}) {
  infra::json_writer w;
  write_client(w, c, secret);
  return json_response(status, w.take());
}

/// Reads the settings members present in `body` onto `patch`; answers 400 itself.
bool read_settings(const call& c, const infra::json_body& body, oauth::client_settings_patch& p) {
  if (!take(c, body.get_string(name_member), p.name)) return false;
  if (!take(c, body.get_string_array(redirect_uris_member), p.redirect_uris)) return false;
  if (!take(c, body.get_string_array(allowed_scopes_member), p.allowed_scopes)) return false;
  std::optional<std::vector<std::string>> grants;
  if (!take(c, body.get_string_array(grant_types_member), grants)) return false;
  if (grants) {
    std::vector<oauth::grant_type> parsed;
    for (const auto& g : *grants) {
      const auto t = oauth::parse_grant_type(g);
      if (!t) {
        return invalid(c, std::string(grant_types_member),
                       "field 'grant_types' may hold authorization_code, refresh_token and "
                       "client_credentials only");
      }
      parsed.push_back(*t);
    }
    p.grant_types = std::move(parsed);
  }
  const std::pair<std::string_view, std::optional<std::chrono::seconds>*> lifetimes[] = {
      {access_lifetime_member, &p.access_token_lifetime},
      {idle_lifetime_member, &p.refresh_idle_lifetime},
      {absolute_lifetime_member, &p.refresh_absolute_lifetime}};
  for (const auto& [member, out] : lifetimes) {
    std::optional<std::int64_t> seconds;
    if (!take(c, body.get_int(member), seconds)) return false;
    if (seconds) *out = std::chrono::seconds(*seconds);
  }
  return true;
}

class client_endpoints {
 public:
  explicit client_endpoints(client_routes_dependencies deps) : d_(std::move(deps)) {}
  void list_clients(call& c);
  void register_client(call& c);
  void get_client(call& c);
  void update_client(call& c);
  void rotate_secret(call& c);
  void delete_client(call& c);

 private:
  /// The caller's workspace's client `id`, or 404 answered.
  std::optional<oauth::client_state> visible(const call& c) const;
  bool may_read(const call& c) const {
    if (may(*c.who, action::oauth_clients_read, admin_scope)) return true;
    answer(c, forbidden(*c.who, action::oauth_clients_read));
    return false;
  }
  bool may_manage(const call& c) const {
    if (may(*c.who, action::oauth_clients_manage, admin_scope)) return true;
    answer(c, forbidden(*c.who, action::oauth_clients_manage));
    return false;
  }

  client_routes_dependencies d_;
};

}  // namespace

std::optional<oauth::client_state> client_endpoints::visible(const call& c) const {
  auto found = oauth::valid_client_id(c.path_id) ? d_.clients.find(c.path_id) : nullptr;
  // Another workspace's client, or a deleted one, does not exist for the caller.
  if (!found || found->deleted || found->workspace_id != c.who->workspace_id) {
    answer(c, not_found());
    return std::nullopt;
  }
  return *found;
}

void client_endpoints::list_clients(call& c) {
  if (!may_read(c)) return;
  infra::json_writer w;
  w.begin_object().key("clients").begin_array();
  for (const auto& client : d_.clients.of_workspace(c.who->workspace_id)) {
    write_client(w, client, {});
  }
  w.end_array().end_object();
  c.respond(json_response(200, w.take()));
}

void client_endpoints::get_client(call& c) {
  if (!may_read(c)) return;
  if (auto client = visible(c)) c.respond(client_object(200, *client));
}

void client_endpoints::register_client(call& c) {
  if (!may_manage(c)) return;
  auto body = parse_body(
      c, {"type", name_member, redirect_uris_member, grant_types_member, allowed_scopes_member,
          access_lifetime_member, idle_lifetime_member, absolute_lifetime_member});
  if (!body) return;
  std::optional<std::string> type_text;
  if (!take(c, body->get_string("type"), type_text)) return;
  if (!type_text) return void(missing(c, "type"));
  const auto type = oauth::parse_client_type(*type_text);
  if (!type) return void(invalid(c, "type", "field 'type' must be confidential or public"));
  oauth::client_settings_patch given;
  if (!read_settings(c, *body, given)) return;
  if (!given.name) return void(missing(c, std::string(name_member)));
  // What is left out takes the defaults: the code flow with refresh tokens.
  oauth::client_settings defaults;
  defaults.grant_types = {oauth::grant_type::authorization_code, oauth::grant_type::refresh_token};
  auto settings = given.applied_to(std::move(defaults));
  d_.run.command(
      c,
      [this, type = *type, settings = std::move(settings), who = *c.who, ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto made = d_.service.register_client(d_.store_for(worker), who, type, settings, ctx);
        if (!made) return {json_error(made.error(), request_id)};
        return {client_object(201, made->client, made->secret.reveal()), made->global_seq};
      });
}

void client_endpoints::update_client(call& c) {
  if (!may_manage(c)) return;
  auto body = parse_body(
      c, {name_member, redirect_uris_member, grant_types_member, allowed_scopes_member,
          access_lifetime_member, idle_lifetime_member, absolute_lifetime_member, "enabled"});
  if (!body) return;
  oauth::client_settings_patch changes;
  if (!read_settings(c, *body, changes)) return;
  std::optional<bool> enabled;
  if (!take(c, body->get_bool("enabled"), enabled)) return;
  if (!visible(c)) return;
  d_.run.command(
      c,
      [this, id = c.path_id, changes = std::move(changes), enabled, who = *c.who,
       ctx = context_of(c), request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto& store = d_.store_for(worker);
        // The settings first, then the switch: a refused setting leaves `enabled` alone too.
        auto changed = d_.service.update(store, who, id, changes, ctx);
        if (!changed) return {json_error(changed.error(), request_id)};
        if (enabled) {
          auto switched = *enabled ? d_.service.enable(store, who, id, ctx)
                                   : d_.service.disable(store, who, id, ctx);
          if (!switched) return {json_error(switched.error(), request_id)};
          if (switched->global_seq != 0) changed = std::move(switched);
        }
        return {client_object(200, changed->client), changed->global_seq};
      });
}

void client_endpoints::rotate_secret(call& c) {
  if (!may_manage(c)) return;
  const auto grace_period = read_grace_period(c);
  if (!grace_period) return;
  if (!visible(c)) return;
  d_.run.command(
      c,
      [this, id = c.path_id, grace_period = *grace_period, who = *c.who, ctx = context_of(c),
       request_id = c.req.request_id](std::size_t worker) -> command_result {
        auto rotated = d_.service.rotate_secret(d_.store_for(worker), who, id, grace_period, ctx);
        if (!rotated) return {json_error(rotated.error(), request_id)};
        return {client_object(200, rotated->client, rotated->secret.reveal()), rotated->global_seq};
      });
}

void client_endpoints::delete_client(call& c) {
  if (!may_manage(c)) return;
  if (!visible(c)) return;
  d_.run.command(c,
                 [this, id = c.path_id, who = *c.who, ctx = context_of(c),
                  request_id = c.req.request_id](std::size_t worker) -> command_result {
                   auto removed = d_.service.remove(d_.store_for(worker), who, id, ctx);
                   if (!removed) return {json_error(removed.error(), request_id)};
                   return {no_content(), removed->global_seq};
                 });
}

void add_client_routes(route_table& t, client_routes_dependencies deps) {
  using E = client_endpoints;
  const auto e = std::make_shared<client_endpoints>(std::move(deps));
  const std::vector<credential> P{credential::api_key, credential::session};
  // A key needs workspace:admin for both reading and managing (docs/oauth.md); a person's role
  // decides (the endpoint checks oauth_clients.read / manage).
  t.add({"/v1/oauth/clients",
         {{"GET", P, admin_scope, {}, false, false, bind(e, &E::list_clients)},
          {"POST", P, admin_scope, {}, false, true, bind(e, &E::register_client)}}});
  t.add({"/v1/oauth/clients/{id}",
         {{"GET", P, admin_scope, {}, false, false, bind(e, &E::get_client)},
          {"PATCH", P, admin_scope, {}, false, true, bind(e, &E::update_client)},
          {"DELETE", P, admin_scope, {}, false, true, bind(e, &E::delete_client)}}});
  t.add({"/v1/oauth/clients/{id}/rotate-secret",
         {{"POST", P, admin_scope, {}, false, true, bind(e, &E::rotate_secret)}}});
}

}  // namespace keyledger::services::http
