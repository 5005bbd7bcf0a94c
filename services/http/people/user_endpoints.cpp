// People of a workspace: list, invite, read, change role, remove; set a password with an
// invitation token.
#include <memory>
#include <string>

#include "domain/people/policy.hpp"
#include "domain/people/user.hpp"
#include "infra/crypto/secret.hpp"
#include "services/app/user_service.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/people/people_endpoints.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {
namespace {

using domain::action;
using infra::http_response;

void write_user(infra::json_writer& w, const user_entry& u, domain::role r) {
  w.begin_object()
      .field("id", u.user_id)
      .field("email", u.email)
      .field("display_name", u.display_name)
      .field("role", domain::to_string(r))
      .field("password_set", u.password_set)
      .end_object();
}

http_response user_object(const user_entry& u, domain::role r) {
  infra::json_writer w;
  write_user(w, u, r);
  return json_response(200, w.take());
}

/// A required string field; answers 400 itself (MISSING_FIELD / INVALID_FIELD).
std::optional<std::string> required_string(const call& c, const infra::json_body& body,
                                           std::string_view field) {
  auto value = body.get_string(field);
  if (!value) {
    invalid(c, std::string(field), value.error().message);
    return std::nullopt;
  }
  if (!value.value()) {
    missing(c, std::string(field));
    return std::nullopt;
  }
  return std::move(*value.value());
}

std::optional<domain::role> role_field(const call& c, const infra::json_body& body) {
  auto text = required_string(c, body, "role");
  if (!text) return std::nullopt;
  auto r = domain::parse_role(*text);
  if (!r) {
    answer(c, problem_of(user_error::invalid_role));
    return std::nullopt;
  }
  return r;
}

}  // namespace

void people_endpoints::list_users(call& c) {
  if (!may(*c.who, action::users_read, "users:read")) {
    return answer(c, forbidden(*c.who, action::users_read));
  }
  // The directory is in memory: answered without the pool.
  infra::json_writer w;
  w.begin_object().key("data").begin_array();
  for (const auto& m : d_.directory.members(c.who->workspace_id)) {
    write_user(w, m.user, m.member_role);
  }
  w.end_array().end_object();
  c.respond(json_response(200, w.take()));
}

void people_endpoints::get_user(call& c) {
  if (!may(*c.who, action::users_read, "users:read")) {
    return answer(c, forbidden(*c.who, action::users_read));
  }
  // Someone who is not a member of the caller's workspace does not exist for the caller.
  const auto role = domain::valid_user_id(c.path_id)
                        ? d_.directory.role_of(c.who->workspace_id, c.path_id)
                        : std::nullopt;
  const auto user = role ? d_.directory.find_user(c.path_id) : std::nullopt;
  if (!user) return answer(c, not_found());
  c.respond(user_object(*user, *role));
}

void people_endpoints::invite_user(call& c) {
  if (!may(*c.who, action::users_invite, "users:write")) {
    return answer(c, forbidden(*c.who, action::users_invite));
  }
  auto body = parse_body(c, {"email", "display_name", "role"});
  if (!body) return;
  auto email = required_string(c, *body, "email");
  if (!email) return;
  auto name = required_string(c, *body, "display_name");
  if (!name) return;
  const auto role = role_field(c, *body);
  if (!role) return;
  const auto actor_role = c.who->effective_role();
  if (!actor_role || !domain::may_invite(*actor_role, *role)) {
    return answer(c, forbidden("Only an owner may make someone an owner"));
  }
  const auto normalized = domain::normalize_email(*email);
  if (!domain::valid_email(normalized)) {
    return answer(c, problem_of(user_error::invalid_email));
  }
  run_.command(
      c,
      [this, who = *c.who, email = normalized, name = std::move(*name), role = *role,
       ctx = context_of(c), request_id = c.req.request_id](std::size_t worker) -> command_result {
        // An existing person keeps their name: the answer shows the one they have.
        const auto existing = d_.directory.find_user_by_email(email);
        auto invited = d_.users.invite(d_.store_for(worker), d_.people_for(worker), who, email,
                                       name, role, ctx);
        if (!invited) return {json_error(problem_of(invited.error()), request_id)};
        infra::json_writer w;
        w.begin_object()
            .field("id", invited->user_id)
            .field("email", email)
            .field("display_name",
                   existing ? existing->display_name : domain::normalize_display_name(name))
            .field("role", domain::to_string(invited->member_role));
        if (invited->token.empty()) {
          w.key("invitation_token").null().key("invitation_expires_at").null();
        } else {
          // The one-time token leaves the process here, once.
          w.field("invitation_token", invited->token.reveal())
              .field("invitation_expires_at", domain::format_timestamp(invited->expires_at));
        }
        w.end_object();
        auto r = json_response(201, w.take());
        r.headers.emplace_back("Location", "/v1/users/" + invited->user_id);
        r.headers.emplace_back("Cache-Control", "no-store");
        return {std::move(r), invited->global_seq};
      });
}

void people_endpoints::update_user(call& c) {
  if (!may(*c.who, action::users_change_role, "users:write")) {
    return answer(c, forbidden(*c.who, action::users_change_role));
  }
  auto body = parse_body(c, {"role"});
  if (!body) return;
  const auto role = role_field(c, *body);
  if (!role) return;
  if (!domain::valid_user_id(c.path_id) || !d_.directory.role_of(c.who->workspace_id, c.path_id)) {
    return answer(c, not_found());
  }
  run_.command(c,
               [this, who = *c.who, id = c.path_id, role = *role, ctx = context_of(c),
                request_id = c.req.request_id](std::size_t worker) -> command_result {
                 auto changed = d_.users.change_role(d_.store_for(worker), d_.people_for(worker),
                                                     who, id, role, ctx);
                 if (!changed) return {json_error(problem_of(changed.error()), request_id)};
                 const auto user = d_.directory.find_user(id);
                 if (!user) return {json_error(not_found(), request_id)};
                 return {user_object(*user, role), changed.value()};
               });
}

void people_endpoints::remove_user(call& c) {
  if (!may(*c.who, action::users_remove, "users:write")) {
    return answer(c, forbidden(*c.who, action::users_remove));
  }
  if (!domain::valid_user_id(c.path_id) || !d_.directory.role_of(c.who->workspace_id, c.path_id)) {
    return answer(c, not_found());
  }
  run_.command(c,
               [this, who = *c.who, id = c.path_id, ctx = context_of(c),
                request_id = c.req.request_id](std::size_t worker) -> command_result {
                 auto removed =
                     d_.users.remove(d_.store_for(worker), d_.people_for(worker), who, id, ctx);
                 if (!removed) return {json_error(problem_of(removed.error()), request_id)};
                 return {no_content(), removed.value()};
               });
}

void people_endpoints::set_password(call& c) {
  auto body = parse_body(c, {"token", "password"});
  if (!body) return;
  auto token = required_string(c, *body, "token");
  if (!token) return;
  auto password = required_string(c, *body, "password");
  if (!password) return;
  // Both are secrets from here on: wiped when done, never in a log or an answer. Not kept for
  // Idempotency-Key replays either (the route is not tracked).
  auto secrets = std::make_shared<std::pair<infra::secret, infra::secret>>(
      infra::secret(std::move(*token)), infra::secret(std::move(*password)));
  run_.read(c, [this, secrets, ctx = context_of(c)](std::size_t worker) {
    auto done = d_.users.set_password(d_.store_for(worker), d_.people_for(worker),
                                      secrets->first.reveal(), secrets->second, ctx);
    if (!done) return json_error(problem_of(done.error()), ctx.request_id);
    // Read-your-writes, as for every command: the user list says password_set once this answers.
    if (auto lagging = run_.settle(done->global_seq, ctx.request_id)) return std::move(*lagging);
    return no_content();
  });
}

void add_people_routes(route_table& t, people_routes_dependencies deps) {
  using E = people_endpoints;
  const auto e = std::make_shared<people_endpoints>(std::move(deps));
  const std::vector<credential> P{credential::api_key, credential::session};
  const std::vector<credential> session_only{credential::session};
  // set-password carries a secret (the token and the password): never kept for
  // Idempotency-Key replays. It is matched before /v1/users/{id}.
  t.add(
      {"/v1/users/set-password", {{"POST", {}, "", {}, false, false, bind(e, &E::set_password)}}});
  t.add({"/v1/users",
         {{"GET", P, "users:read", {}, false, false, bind(e, &E::list_users)},
          {"POST", P, "users:write", {}, false, true, bind(e, &E::invite_user)}}});
  t.add({"/v1/users/{id}",
         {{"GET", P, "users:read", {}, false, false, bind(e, &E::get_user)},
          {"PATCH", P, "users:write", {}, false, true, bind(e, &E::update_user)},
          {"DELETE", P, "users:write", {}, false, true, bind(e, &E::remove_user)}}});
  // Sessions: a password goes in, a session id comes out; neither is kept for replays.
  t.add({"/v1/sessions", {{"POST", {}, "", {}, false, false, bind(e, &E::login)}}});
  t.add({"/v1/sessions/current",
         {{"GET", session_only, "", {}, false, false, bind(e, &E::current_session)},
          {"DELETE", session_only, "", {}, false, false, bind(e, &E::logout)}}});
}

}  // namespace keyledger::services::http
