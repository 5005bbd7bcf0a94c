// The authorization endpoint (RFC 6749 3.1, 4.1.1, 4.1.2; RFC 7636; RFC 9207; RFC 9700 4.1,
// 4.11): GET /oauth/authorize checks the request, then shows the login page or the consent page
// (or, for a remembered consent, answers at once); POST /oauth/authorize is the consent form;
// POST /oauth/login the login form. The request travels from page to page sealed (AES-GCM,
// 10 minutes), so what the person consents to is what the client asked for.
#include <chrono>
#include <string>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/oauth/authorization_request.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/aead.hpp"
#include "services/app/oauth/authorization_service.hpp"
#include "services/app/usage_recorder.hpp"
#include "services/app/user_service.hpp"
#include "services/http/auth/credentials.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/oauth/oauth_form.hpp"
#include "services/http/oauth/oauth_routes.hpp"
#include "services/http/oauth/pages.hpp"
#include "services/http/support/context.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "services/projections/oauth_client_view.hpp"

namespace keyledger::services::http {
namespace {

namespace oauth = domain::oauth;
using domain::problem;
using domain::problem_kind;
using infra::http_response;

constexpr std::chrono::minutes interaction_lifetime{10};
constexpr std::string_view interaction_purpose = "keyledger/oauth/interaction/v1";

/// 303 See Other (RFC 9700 4.11: never 307 after a POST).
http_response see_other(std::string location) {
  http_response r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.emplace_back("Location", std::move(location));
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

/// The redirect back to the client (RFC 6749 4.1.2 and 4.1.2.1, RFC 9207 2: always `iss`).
http_response back_to_client(std::string_view redirect_uri,
                             std::vector<std::pair<std::string_view, std::string>> params,
                             const std::optional<std::string>& state, std::string_view issuer) {
  std::string location(redirect_uri);
  char separator = location.find('?') == std::string::npos ? '?' : '&';
  if (state) params.emplace_back("state", *state);
  params.emplace_back("iss", std::string(issuer));
  for (const auto& [name, value] : params) {
    location += separator;
    location += name;
    location += '=';
    location += percent_encode(value);
    separator = '&';
  }
  return see_other(std::move(location));
}

std::string_view query_of(const infra::http_request& req) {
  const auto q = req.target.find('?');
  return q == std::string::npos ? std::string_view{} : std::string_view(req.target).substr(q + 1);
}

/// The authorization request's parameters from a query string.
domain::result<oauth::authorization_params, problem> params_of(std::string_view query) {
  auto form = parse_oauth_form(query, 64);
  if (!form) return form.error();
  oauth::authorization_params p;
  p.response_type = form->get("response_type");
  p.client_id = form->get("client_id");
  p.redirect_uri = form->get("redirect_uri");
  p.scope = form->get("scope");
  p.state = form->get("state");
  p.code_challenge = form->get("code_challenge");
  p.code_challenge_method = form->get("code_challenge_method");
  p.resource = form->get("resource");
  p.request_object = form->get("request").has_value() || form->get("request_uri").has_value();
  p.duplicated = form->duplicated;
  return p;
}

class authorize_endpoints {
 public:
  explicit authorize_endpoints(const oauth_routes_dependencies& d)
      : d_(d), sealer_(d.oauth.interactions) {}
  void authorize(call& c);
  void consent(call& c);
  void login(call& c);

 private:
  /// What check_authorization_request decided about `query`: the request, or the answer
  /// already made (an error page, or a redirect with the error).
  std::variant<oauth::authorization_request, http_response> checked(
      std::string_view query, std::string_view request_id) const;
  std::string seal(std::string_view query) const;
  std::optional<std::string> unseal(std::string_view sealed) const;
  /// The step after the request checked out, for a person who is logged in (pool thread).
  http_response for_person(const oauth::authorization_request& request, const principal& who,
                           std::string_view session_id, std::string_view query, std::size_t worker,
                           const request_context& ctx) const;
  http_response issue(const oauth::authorization_request& request, std::string_view user_id,
                      std::string_view workspace_id, std::size_t worker,
                      const request_context& ctx) const;
  /// What our pages post back: the form, the authorization request's query (unsealed) and the
  /// request, checked again (the client may have changed since the page was shown); nullopt
  /// when the post was answered (another origin, an expired or altered page, a bad request).
  struct posted_form {
    oauth_form form;
    std::string query;
    oauth::authorization_request request;
  };
  std::optional<posted_form> opened(call& c) const;
  /// Form posts from our own pages only: Origin (when sent) is the issuer's, and Fetch
  /// Metadata (when sent) does not say cross-site.
  bool same_origin(const infra::http_request& req) const;

  oauth_routes_dependencies d_;
  const infra::response_sealer& sealer_;
};

}  // namespace

std::string authorize_endpoints::seal(std::string_view query) const {
  const auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                           (d_.clock.now() + interaction_lifetime).time_since_epoch())
                           .count();
  return domain::base64url_encode(
      sealer_.seal(std::to_string(expires) + "\n" + std::string(query), interaction_purpose));
}

std::optional<std::string> authorize_endpoints::unseal(std::string_view sealed) const {
  const auto bytes = domain::base64url_decode(sealed);
  if (!bytes) return std::nullopt;
  const auto plain = sealer_.open(*bytes, interaction_purpose);
  if (!plain) return std::nullopt;
  const auto newline = plain->find('\n');
  if (newline == std::string::npos) return std::nullopt;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(d_.clock.now().time_since_epoch()).count();
  try {
    if (std::stoll(plain->substr(0, newline)) <= now) return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
  return plain->substr(newline + 1);
}

std::variant<oauth::authorization_request, http_response> authorize_endpoints::checked(
    std::string_view query, std::string_view request_id) const {
  auto params = params_of(query);
  if (!params) return error_page(params.error(), request_id);
  std::shared_ptr<const oauth::client_state> client;
  if (params->client_id && oauth::valid_client_id(*params->client_id)) {
    client = d_.oauth.clients.find(*params->client_id);
  }
  auto request = oauth::check_authorization_request(params.value(), client.get());
  if (request) return std::move(request.value());
  const auto& f = request.error();
  if (!f.redirect) {
    // Never redirected: the redirect URI is not known to be the client's (RFC 6749 4.1.2.1).
    return error_page(problem::of(problem_kind::invalid, oauth::to_string(f.error), f.description),
                      request_id);
  }
  return back_to_client(
      f.redirect_uri,
      {{"error", std::string(oauth::to_string(f.error))}, {"error_description", f.description}},
      f.state, d_.oauth.settings.issuer);
}

std::optional<authorize_endpoints::posted_form> authorize_endpoints::opened(call& c) const {
  if (!same_origin(c.req)) {
    c.respond(error_page(problem::of(problem_kind::forbidden, "CSRF_FAILED",
                                     "This form was not sent from this site"),
                         c.req.request_id));
    return std::nullopt;
  }
  auto form = parse_oauth_form(c.req.body);
  if (!form) {
    c.respond(error_page(form.error(), c.req.request_id));
    return std::nullopt;
  }
  const auto sealed = form->get("interaction");
  auto query = sealed ? unseal(*sealed) : std::nullopt;
  if (!query) {
    c.respond(error_page(problem::of(problem_kind::invalid, "invalid_request",
                                     "This page has expired: go back to the app and start again"),
                         c.req.request_id));
    return std::nullopt;
  }
  auto request = checked(*query, c.req.request_id);
  if (auto* answer = std::get_if<http_response>(&request)) {
    c.respond(std::move(*answer));
    return std::nullopt;
  }
  return posted_form{std::move(form.value()), std::move(*query),
                     std::get<oauth::authorization_request>(std::move(request))};
}

bool authorize_endpoints::same_origin(const infra::http_request& req) const {
  const auto origin = req.header("origin");
  if (!origin.empty() && origin != origin_of(d_.oauth.settings.issuer)) return false;
  const auto site = req.header("sec-fetch-site");
  return site.empty() || site == "same-origin" || site == "none";
}

http_response authorize_endpoints::issue(const oauth::authorization_request& request,
                                         std::string_view user_id, std::string_view workspace_id,
                                         std::size_t worker, const request_context& ctx) const {
  auto code =
      d_.oauth.authorizations.approve(d_.store_for(worker), request, user_id, workspace_id, ctx);
  if (!code) {
    return back_to_client(
        request.redirect_uri,
        {{"error", std::string(code.error().code)}, {"error_description", code.error().text}},
        request.state, d_.oauth.settings.issuer);
  }
  return back_to_client(request.redirect_uri, {{"code", std::string(code->code.reveal())}},
                        request.state, d_.oauth.settings.issuer);
}

http_response authorize_endpoints::for_person(const oauth::authorization_request& request,
                                              const principal& who, std::string_view session_id,
                                              std::string_view query, std::size_t worker,
                                              const request_context& ctx) const {
  const auto options = d_.oauth.authorizations.workspaces_for(who.user_id, request.scopes);
  if (options.empty()) {
    return back_to_client(
        request.redirect_uri,
        {{"error", "invalid_scope"},
         {"error_description", "none of your workspaces allows all the requested scopes"}},
        request.state, d_.oauth.settings.issuer);
  }
  // A remembered consent for this app and no wider scopes: no page (issue 8).
  if (auto workspace = d_.oauth.authorizations.remembered(who.user_id, request.client_id,
                                                          request.scopes, options)) {
    return issue(request, who.user_id, *workspace, worker, ctx);
  }
  const auto client = d_.oauth.clients.find(request.client_id);
  const auto user = d_.directory.find_user(who.user_id);
  consent_page page;
  page.client_name = client ? std::string_view(client->settings.name) : "";
  page.client_id = request.client_id;
  page.user_email = user ? std::string_view(user->email) : "";
  page.scopes = request.scopes;
  for (const auto& o : options) {
    page.workspaces.push_back(
        {o.workspace_id, o.name, std::string(domain::to_string(o.member_role))});
  }
  const auto sealed = seal(query);
  const auto csrf = d_.users.csrf_token_of(session_id);
  const auto origin = origin_of(request.redirect_uri);
  page.interaction = sealed;
  page.csrf_token = csrf;
  page.redirect_origin = origin;
  return render(page);
}

void authorize_endpoints::authorize(call& c) {
  const std::string query(query_of(c.req));
  auto request = checked(query, c.req.request_id);
  if (auto* answer = std::get_if<http_response>(&request)) return c.respond(std::move(*answer));
  auto req = std::get<oauth::authorization_request>(std::move(request));
  const std::string session(session_cookie(c.req));
  const auto client = d_.oauth.clients.find(req.client_id);
  const auto show_login = [&] {
    const auto sealed = seal(query);
    const auto origin = origin_of(req.redirect_uri);
    return render(
        login_page{client ? std::string_view(client->settings.name) : "", sealed, "", "", origin});
  };
  if (session.empty()) return c.respond(show_login());
  d_.run.blocking(c, [this, respond = c.respond, req = std::move(req), session, query,
                      ctx = context_of(c), login = show_login()](std::size_t worker) {
    const auto who = d_.users.authenticate_session(d_.people_for(worker), d_.directory, session);
    if (!who) return respond(login);
    respond(for_person(req, *who, session, query, worker, ctx));
  });
}

void authorize_endpoints::consent(call& c) {
  auto posted = opened(c);
  if (!posted) return;
  auto& [form, query, req] = *posted;
  const std::string session(session_cookie(c.req));
  const auto csrf = form.get("csrf_token").value_or("");
  if (session.empty() || !d_.users.csrf_valid(session, csrf)) {
    return c.respond(error_page(problem::of(problem_kind::forbidden, "CSRF_FAILED",
                                            "This form does not belong to your session"),
                                c.req.request_id));
  }
  const auto decision = form.get("decision").value_or("");
  if (decision != "allow") {
    // Anything but an explicit allow is a refusal (RFC 6749 4.1.2.1 access_denied).
    return c.respond(back_to_client(
        req.redirect_uri,
        {{"error", "access_denied"}, {"error_description", "the user denied the request"}},
        req.state, d_.oauth.settings.issuer));
  }
  const std::string workspace(form.get("workspace_id").value_or(""));
  d_.run.blocking(c, [this, respond = c.respond, req = std::move(req), session, workspace,
                      ctx = context_of(c), request_id = c.req.request_id](std::size_t worker) {
    const auto who = d_.users.authenticate_session(d_.people_for(worker), d_.directory, session);
    if (!who) {
      return respond(error_page(problem::of(problem_kind::unauthenticated, "UNAUTHORIZED",
                                            "Your session has ended: go back to the app and "
                                            "start again"),
                                request_id));
    }
    auto person_ctx = ctx;
    person_ctx.actor = who->user_id;
    respond(issue(req, who->user_id, workspace, worker, person_ctx));
  });
}

void authorize_endpoints::login(call& c) {
  auto posted = opened(c);
  if (!posted) return;
  const auto& [form, query, req] = *posted;
  const auto client = d_.oauth.clients.find(req.client_id);
  const std::string client_name = client ? client->settings.name : "";
  const std::string email(form.get("email").value_or(""));
  // The password is a secret from here on (wiped when done; never logged, never echoed).
  auto password = std::make_shared<const infra::secret>(std::string(form.get("password").value_or("")));
  d_.run.blocking(
      c, [this, respond = c.respond, query = query, sealed = std::string(form.get("interaction").value_or("")),
          email, password, client_name, origin = origin_of(req.redirect_uri),
          ip = c.client_ip_text](std::size_t worker) {
        // The session is for the person's first workspace; consent chooses the workspace.
        std::string workspace_id;
        const auto user = d_.directory.find_user_by_email(email);
        if (user) {
          const auto memberships = d_.directory.memberships(user->user_id);
          if (!memberships.empty()) workspace_id = memberships.front().first;
        }
        std::chrono::seconds retry_after{0};
        auto session = d_.users.login(d_.people_for(worker), d_.directory, email, *password,
                                      workspace_id, ip, &retry_after);
        if (!session) {
          const bool throttled = session.error() == user_error::throttled;
          if (session.error() == user_error::bad_credentials && user) {
            const auto now_us = d_.clock.now().time_since_epoch().count();
            for (const auto& [member_of, unused] : d_.directory.memberships(user->user_id)) {
              d_.usage.record_failure(member_of, ip, "LOGIN_FAILED", now_us);
            }
          }
          auto r = render(login_page{client_name, sealed, email,
                                     throttled ? "Too many attempts: wait a few minutes"
                                               : "The email or the password is wrong",
                                     origin},
                          throttled ? 429 : 401);
          if (throttled) r.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
          return respond(std::move(r));
        }
        const auto created = std::chrono::microseconds(session->record.created_at_us);
        const auto max_age =
            std::chrono::duration_cast<std::chrono::seconds>(
                domain::timestamp(created) + d_.sessions.absolute_timeout - d_.clock.now())
                .count();
        auto r = see_other("/oauth/authorize?" + query);
        // The session id leaves the process here, once.
        r.headers.emplace_back(
            "Set-Cookie", session_set_cookie(session->session_id.reveal(), d_.loopback_listener,
                                             std::max<std::int64_t>(max_age, 0)));
        respond(std::move(r));
      });
}

void add_authorize_routes(route_table& t, const oauth_routes_dependencies& deps) {
  using E = authorize_endpoints;
  const auto e = std::make_shared<authorize_endpoints>(deps);
  // The query belongs to OAuth (RFC 6749 3.1: unknown parameters are ignored), not the router.
  t.add({"/oauth/authorize",
         {{"GET", {}, "", {}, true, false, bind(e, &E::authorize)},
          {"POST", {}, "", {}, false, false, bind(e, &E::consent)}}});
  t.add({"/oauth/login", {{"POST", {}, "", {}, false, false, bind(e, &E::login)}}});
}

}  // namespace keyledger::services::http
