// The apps a person authorized: GET /v1/oauth/grants (across their workspaces) and
// DELETE /v1/oauth/grants/{id} (GrantRevoked: every token of the grant stops working at once).
#include <string>

#include "domain/oauth/grant.hpp"
#include "infra/json/json.hpp"
#include "services/app/oauth/authorization_service.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/oauth/oauth_routes.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/oauth_client_view.hpp"

namespace keyledger::services::http {
namespace {

class grant_endpoints {
 public:
  explicit grant_endpoints(const oauth_routes_dependencies& d) : d_(d) {}
  void list_grants(call& c);
  void revoke_grant(call& c);

 private:
  oauth_routes_dependencies d_;
};

bool is_person(const call& c) {
  if (!c.who->user_id.empty()) return true;
  answer(c, domain::problem::of(domain::problem_kind::forbidden, "FORBIDDEN",
                                "Only a person has authorized apps"));
  return false;
}

}  // namespace

void grant_endpoints::list_grants(call& c) {
  if (!is_person(c)) return;
  infra::json_writer w;
  w.begin_object().key("grants").begin_array();
  for (const auto& g : d_.oauth.authorizations.grants_of(c.who->user_id)) {
    const auto client = d_.oauth.clients.find(g.client_id);
    const auto workspace = d_.view.find_workspace(g.workspace_id);
    w.begin_object()
        .field("id", g.grant_id)
        .field("client_id", g.client_id)
        .field("client_name", client ? std::string_view(client->settings.name) : "")
        .field("workspace_id", g.workspace_id)
        .field("workspace_name", workspace ? std::string_view(workspace->name) : "");
    infra::write_string_array(w, "scopes", g.scopes);
    infra::write_timestamp(w, "created_at", g.created_at);
    w.end_object();
  }
  w.end_array().end_object();
  c.respond(json_response(200, w.take()));
}

void grant_endpoints::revoke_grant(call& c) {
  if (!is_person(c)) return;
  if (!domain::oauth::valid_grant_id(c.path_id)) return answer(c, not_found());
  d_.run.command(c,
                 [this, id = c.path_id, user = c.who->user_id, ctx = context_of(c),
                  request_id = c.req.request_id](std::size_t worker) -> command_result {
                   auto revoked =
                       d_.oauth.authorizations.revoke(d_.store_for(worker), user, id, ctx);
                   if (!revoked) return {json_error(revoked.error(), request_id)};
                   return {no_content(), revoked.value()};
                 });
}

void add_grant_routes(route_table& t, const oauth_routes_dependencies& deps) {
  using E = grant_endpoints;
  const auto e = std::make_shared<grant_endpoints>(deps);
  // A person's own grants, through their session only: an API key acts for a workspace's
  // automation, not for the person's consent to third-party apps.
  const std::vector<credential> P{credential::session};
  t.add({"/v1/oauth/grants", {{"GET", P, "", {}, false, false, bind(e, &E::list_grants)}}});
  t.add({"/v1/oauth/grants/{id}", {{"DELETE", P, "", {}, false, true, bind(e, &E::revoke_grant)}}});
}

}  // namespace keyledger::services::http
