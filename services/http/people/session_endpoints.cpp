// Sessions for people: log in (a cookie and a CSRF token), the current session, log out.
#include <memory>
#include <string>

#include "domain/people/policy.hpp"
#include "infra/crypto/secret.hpp"
#include "services/app/usage_recorder.hpp"
#include "services/app/user_service.hpp"
#include "services/http/auth/credentials.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/people/people_endpoints.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {
namespace {

using infra::http_response;

domain::timestamp from_micros(std::int64_t us) {
  return domain::timestamp(std::chrono::microseconds(us));
}

}  // namespace

void people_endpoints::login(call& c) {
  auto body = parse_body(c, {"email", "password", "workspace"});
  if (!body) return;
  auto email = body->get_string("email");
  auto password = body->get_string("password");
  auto workspace = body->get_string("workspace");
  for (const auto* error :
       {email ? nullptr : &email.error(), password ? nullptr : &password.error(),
        workspace ? nullptr : &workspace.error()}) {
    if (error) {
      return void(invalid(c, "", error->message));
    }
  }
  for (auto [field, present] : {std::pair{"email", email.value().has_value()},
                                std::pair{"password", password.value().has_value()}}) {
    if (!present) {
      return void(missing(c, field));
    }
  }
  // The password is a secret from here on (wiped when done; never logged, never echoed).
  auto secret = std::make_shared<const infra::secret>(std::move(*password.value()));
  run_.read(c, [this, secret, email = std::move(*email.value()),
                workspace = workspace.value().value_or(std::string()), ip = c.client_ip_text,
                request_id = c.req.request_id](std::size_t worker) {
    // A workspace may be named by id or by name: a name becomes the id of the account's
    // workspace of that name (an unknown name stays as given and matches nothing).
    std::string workspace_id = workspace;
    if (!workspace.empty()) {
      if (const auto user = d_.directory.find_user_by_email(email)) {
        for (const auto& [id, unused] : d_.directory.memberships(user->user_id)) {
          const auto ws = d_.view.find_workspace(id);
          if (ws && ws->name == workspace) workspace_id = id;
        }
      }
    }
    std::chrono::seconds retry_after{0};
    auto session = d_.users.login(d_.people_for(worker), d_.directory, email, *secret, workspace_id,
                                  ip, &retry_after);
    if (!session) {
      if (session.error() == user_error::bad_credentials) {
        // Counted beside failed key attempts, for the workspace(s) the account belongs to (an
        // unknown email belongs to none).
        const auto now_us = d_.clock.now().time_since_epoch().count();
        if (const auto user = d_.directory.find_user_by_email(email)) {
          for (const auto& [member_of, unused] : d_.directory.memberships(user->user_id)) {
            if (workspace.empty() || member_of == workspace_id) {
              d_.usage.record_failure(member_of, ip, "LOGIN_FAILED", now_us);
            }
          }
        }
      }
      return json_error(problem_of(session.error(), retry_after), request_id);
    }
    const auto& record = session->record;
    const auto role = d_.directory.role_of(record.workspace_id, record.user_id);
    if (!role) {
      // Removed between the password check and now: the session would not authenticate.
      d_.users.logout(d_.people_for(worker), session->session_id.reveal());
      return json_error(problem_of(user_error::bad_credentials), request_id);
    }
    const auto created = from_micros(record.created_at_us);
    const auto expires_at =
        domain::session_expires_at(created, from_micros(record.last_seen_at_us), d_.sessions);
    infra::json_writer w;
    w.begin_object()
        .field("user_id", record.user_id)
        .field("workspace_id", record.workspace_id)
        .field("role", domain::to_string(*role))
        .field("csrf_token", session->csrf_token)
        .field("expires_at", domain::format_timestamp(expires_at))
        .end_object();
    auto r = json_response(201, w.take());
    // The browser keeps the cookie for the absolute lifetime; idle expiry is the server's.
    const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(
                             created + d_.sessions.absolute_timeout - d_.clock.now())
                             .count();
    // The session id leaves the process here, once (the access log never shows headers).
    r.headers.emplace_back(
        "Set-Cookie",
        session_set_cookie(session->session_id.reveal(), d_.loopback_listener,
                           std::max<std::int64_t>(max_age, 0)));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });
}

void people_endpoints::current_session(call& c) {
  // The CSRF token again (it is bound to the session): a page that was reloaded has lost the
  // login answer, and a cross-site page cannot read this answer.
  std::string csrf = d_.users.csrf_token_of(session_cookie(c.req));
  run_.read(c, [this, who = *c.who, request_id = c.req.request_id,
                csrf = std::move(csrf)](std::size_t worker) {
    const auto record = d_.people_for(worker).find_session(who.session_id_hash);
    const auto user = d_.directory.find_user(who.user_id);
    if (!record || !user || !who.member_role) {
      return json_error(domain::problem::of(domain::problem_kind::unauthenticated, "UNAUTHORIZED"),
                        request_id);
    }
    const auto expires_at = domain::session_expires_at(
        from_micros(record->created_at_us), from_micros(record->last_seen_at_us), d_.sessions);
    infra::json_writer w;
    w.begin_object()
        .field("user_id", who.user_id)
        .field("workspace_id", who.workspace_id)
        .field("role", domain::to_string(*who.member_role))
        .field("email", user->email)
        .field("expires_at", domain::format_timestamp(expires_at))
        .field("csrf_token", csrf)
        .end_object();
    auto r = json_response(200, w.take());
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });
}

void people_endpoints::logout(call& c) {
  run_.read(c, [this, session_id = c.session_id](std::size_t worker) {
    d_.users.logout(d_.people_for(worker), session_id->reveal());
    http_response r;
    r.status = 204;
    r.content_type.clear();
    r.headers.emplace_back("Set-Cookie", session_set_cookie("", d_.loopback_listener, 0));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });
}

}  // namespace keyledger::services::http
