// The token endpoint (RFC 6749 3.2, 4.1.3, 4.4, 6), introspection (RFC 7662), revocation
// (RFC 7009) and the authorization server's metadata (RFC 8414).
#include <string>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/oauth/access_token.hpp"
#include "domain/text.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/json/json.hpp"
#include "services/app/oauth/introspection.hpp"
#include "services/app/oauth/token_service.hpp"
#include "services/app/verifier.hpp"
#include "services/http/auth/credentials.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/oauth/client_authentication.hpp"
#include "services/http/oauth/oauth_form.hpp"
#include "services/http/oauth/oauth_routes.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services::http {
namespace {

using infra::http_response;

/// RFC 6749 5.1 and RFC 7662 2.2: answers with tokens or about them are never cached.
http_response no_store_json(std::string body) {
  auto r = json_response(200, std::move(body));
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

http_response token_response(const issued_tokens& t) {
  infra::json_writer w;
  w.begin_object()
      .field("access_token", t.access_token)
      .field("token_type", "Bearer")
      .field("expires_in", static_cast<std::int64_t>(t.expires_in.count()))
      .field("scope", domain::join(t.scopes, " "));
  if (!t.refresh_token.reveal().empty()) w.field("refresh_token", t.refresh_token.reveal());
  w.end_object();
  return no_store_json(w.take());
}

/// A refusal as the answer, with the position of what it appended (a revoked family): the
/// answer waits until this node has applied it, like every answer that appended.
std::pair<http_response, std::uint64_t> refusal(const token_refusal& r) {
  return {oauth_error(r.problem), r.global_seq};
}

/// The form of a POST to an OAuth endpoint: application/x-www-form-urlencoded only (RFC 6749
/// 3.2, RFC 7009 2.1, RFC 7662 2.1).
domain::result<oauth_form, domain::problem> read_form(const infra::http_request& req) {
  auto type = req.header("content-type");
  type = type.substr(0, type.find(';'));
  if (!domain::iequals_ascii(domain::trim_ows(type), "application/x-www-form-urlencoded")) {
    return oauth_problem("invalid_request", "the body must be application/x-www-form-urlencoded");
  }
  return parse_oauth_form(req.body);
}

/// Server trouble as an OAuth answer: 503 temporarily_unavailable or 500 server_error; the
/// detail goes to the log only.
http_response oauth_failure(const std::exception& e, std::string_view request_id) {
  const auto* err = dynamic_cast<const infra::error*>(&e);
  const bool transient =
      err != nullptr &&
      (err->code() == infra::errc::unavailable || err->code() == infra::errc::overloaded ||
       err->code() == infra::errc::deadline_exceeded || err->code() == infra::errc::conflict);
  infra::log(infra::log_level::error, "oauth_request_failed",
             {{"request_id", std::string(request_id)}, {"detail", e.what()}});
  return oauth_error(
      transient ? domain::problem::of(domain::problem_kind::unavailable, "temporarily_unavailable")
                : domain::problem::of(domain::problem_kind::internal, "server_error"));
}

class token_endpoints {
 public:
  explicit token_endpoints(const oauth_routes_dependencies& d) : d_(d) {}
  void token(call& c);
  void introspect(call& c);
  void revoke(call& c);
  void metadata(call& c);

 private:
  /// Runs `job` on the pool; its answer waits until this node has applied what it appended.
  void on_pool(call& c, std::function<domain::result<std::pair<http_response, std::uint64_t>,
                                                     domain::problem>(std::size_t)>
                            job);
  oauth_routes_dependencies d_;
};

}  // namespace

void token_endpoints::on_pool(
    call& c, std::function<domain::result<std::pair<http_response, std::uint64_t>, domain::problem>(
                 std::size_t)>
                 job) {
  // The call ends when its handler returns: the job keeps what it needs by value.
  d_.run.blocking(c, [this, respond = c.respond, request_id = c.req.request_id,
                      job = std::move(job)](std::size_t worker) {
    http_response answer;
    try {
      auto done = job(worker);
      if (!done) {
        answer = oauth_error(done.error());
      } else {
        answer = std::move(done->first);
        if (auto lagging = d_.run.settle(done->second, request_id)) answer = *lagging;
      }
    } catch (const std::exception& e) {
      answer = oauth_failure(e, request_id);
    }
    respond(std::move(answer));
  });
}

void token_endpoints::token(call& c) {
  auto form = read_form(c.req);
  if (!form) return c.respond(oauth_error(form.error()));
  auto client = authenticate_client(c.req, form.value(), d_.oauth.clients, d_.oauth.client_admin);
  if (!client) return c.respond(oauth_error(client.error()));
  for (const char* name : {"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token",
                           "scope", "resource"}) {
    if (form->twice(name)) {
      return c.respond(oauth_error(
          oauth_problem("invalid_request", std::string(name) + " was sent more than once")));
    }
  }
  const auto grant_type = form->get("grant_type");
  if (!grant_type) {
    return c.respond(oauth_error(oauth_problem("invalid_request", "grant_type is missing")));
  }
  const auto& tokens = d_.oauth.tokens;
  if (*grant_type == "client_credentials") {
    // Nothing is stored: with the active key in memory, one HMAC and one ECDSA signature on
    // the I/O thread. The first signature with a new key loads its sealed private half from
    // the database: that one goes to the pool. (A key activated between the check and the
    // signature is loaded on this thread, once per rotation: one short read.)
    if (tokens.signs_without_io()) {
      try {
        auto issued = tokens.client_credentials(*client->client, form->get("scope"),
                                                form->get("resource"));
        return c.respond(issued ? token_response(issued.value()) : oauth_error(issued.error()));
      } catch (const std::exception& e) {
        return c.respond(oauth_failure(e, c.req.request_id));
      }
    }
    return on_pool(
        c,
        [this, client = std::move(client->client), form = std::move(form.value())](std::size_t)
            -> domain::result<std::pair<http_response, std::uint64_t>, domain::problem> {
          auto issued =
              d_.oauth.tokens.client_credentials(*client, form.get("scope"), form.get("resource"));
          if (!issued) return issued.error();
          return std::pair{token_response(issued.value()), std::uint64_t{0}};
        });
  }
  auto ctx = context_of(c);
  ctx.actor = client->client->client_id;
  if (*grant_type == "authorization_code") {
    const auto code = form->get("code");
    if (!code) return c.respond(oauth_error(oauth_problem("invalid_request", "code is missing")));
    return on_pool(c,
                   [this, client = std::move(client->client), form = std::move(form.value()),
                    code = std::string(*code), ctx](std::size_t worker)
                       -> domain::result<std::pair<http_response, std::uint64_t>, domain::problem> {
                     auto issued = d_.oauth.tokens.exchange_code(
                         d_.store_for(worker), *client, code, form.get("redirect_uri"),
                         form.get("code_verifier"), form.get("resource"), ctx);
                     if (!issued) return refusal(issued.error());
                     return std::pair{token_response(issued.value()), issued->global_seq};
                   });
  }
  if (*grant_type == "refresh_token") {
    const auto refresh = form->get("refresh_token");
    if (!refresh) {
      return c.respond(oauth_error(oauth_problem("invalid_request", "refresh_token is missing")));
    }
    return on_pool(c,
                   [this, client = std::move(client->client), form = std::move(form.value()),
                    refresh = std::string(*refresh), ctx](std::size_t worker)
                       -> domain::result<std::pair<http_response, std::uint64_t>, domain::problem> {
                     auto issued =
                         d_.oauth.tokens.refresh(d_.store_for(worker), *client, refresh,
                                                 form.get("scope"), form.get("resource"), ctx);
                     if (!issued) return refusal(issued.error());
                     return std::pair{token_response(issued.value()), issued->global_seq};
                   });
  }
  c.respond(oauth_error(oauth_problem("unsupported_grant_type",
                                      "grant_type must be authorization_code, refresh_token or "
                                      "client_credentials")));
}

void token_endpoints::introspect(call& c) {
  auto form = read_form(c.req);
  if (!form) return c.respond(oauth_error(form.error()));
  introspection_caller caller;
  const auto authorization = c.req.header("authorization");
  if (authorization.size() > 7 && domain::iequals_ascii(authorization.substr(0, 7), "bearer ")) {
    // A resource server's API key with the introspection scope.
    const std::string required[] = {std::string(introspect_scope)};
    verify_request check;
    check.key = presented_key(c.req);
    check.required_scopes = required;
    check.ip = c.client_ip;
    const auto verified = d_.verify.verify(check);
    if (!verified.valid() || !verified.key) {
      return c.respond(oauth_error(oauth_problem(
          "invalid_client", "The API key is not valid for introspection (oauth:introspect)")));
    }
    caller.workspace_id = verified.key->workspace_id();
  } else {
    auto client = authenticate_client(c.req, form.value(), d_.oauth.clients, d_.oauth.client_admin);
    if (!client) return c.respond(oauth_error(client.error()));
    caller.client_id = client->client->client_id;
    caller.workspace_id = client->client->workspace_id;
  }
  if (form->twice("token")) {
    return c.respond(
        oauth_error(oauth_problem("invalid_request", "token was sent more than once")));
  }
  const auto token = form->get("token");
  if (!token) return c.respond(oauth_error(oauth_problem("invalid_request", "token is missing")));
  const auto answer = d_.oauth.introspection.introspect(*token, caller);
  infra::json_writer w;
  w.begin_object().field("active", answer.active);
  if (answer.active) {
    w.field("token_type", answer.token_type).field("scope", domain::join(answer.scopes, " "));
    const std::pair<const char*, const std::string*> members[] = {
        {"client_id", &answer.client_id},
        {"key_id", &answer.key_id},
        {"sub", &answer.subject},
        {"workspace_id", &answer.workspace_id},
        {"environment", &answer.environment},
        {"iss", &answer.issuer},
        {"aud", &answer.audience},
        {"jti", &answer.jti}};
    for (const auto& [name, value] : members) {
      if (!value->empty()) w.field(name, *value);
    }
    const auto seconds = [](domain::timestamp t) {
      return static_cast<std::int64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
    };
    if (answer.issued_at) w.field("iat", seconds(*answer.issued_at));
    if (answer.expires_at) w.field("exp", seconds(*answer.expires_at));
  }
  w.end_object();
  c.respond(no_store_json(w.take()));
}

void token_endpoints::revoke(call& c) {
  auto form = read_form(c.req);
  if (!form) return c.respond(oauth_error(form.error()));
  auto client = authenticate_client(c.req, form.value(), d_.oauth.clients, d_.oauth.client_admin);
  if (!client) return c.respond(oauth_error(client.error()));
  if (form->twice("token")) {
    return c.respond(
        oauth_error(oauth_problem("invalid_request", "token was sent more than once")));
  }
  const auto token = form->get("token");
  if (!token) return c.respond(oauth_error(oauth_problem("invalid_request", "token is missing")));
  auto ctx = context_of(c);
  ctx.actor = client->client->client_id;
  // token_type_hint is only a hint (RFC 7009 2.1): the token says what it is.
  on_pool(c,
          [this, client = std::move(client->client), token = std::string(*token), ctx](std::size_t worker)
              -> domain::result<std::pair<http_response, std::uint64_t>, domain::problem> {
            auto revoked = d_.oauth.tokens.revoke(d_.store_for(worker), *client, token, ctx);
            if (!revoked) return revoked.error();
            http_response r;
            r.status = 200;
            r.headers.emplace_back("Cache-Control", "no-store");
            return std::pair{std::move(r), revoked.value()};
          });
}

void token_endpoints::metadata(call& c) {
  const auto& iss = d_.oauth.settings.issuer;
  const auto list = [](infra::json_writer& w, std::string_view name,
                       std::initializer_list<std::string_view> values) {
    w.key(name).begin_array();
    for (const auto v : values) w.string(v);
    w.end_array();
  };
  infra::json_writer w;
  w.begin_object()
      .field("issuer", iss)
      .field("authorization_endpoint", iss + "/oauth/authorize")
      .field("token_endpoint", iss + "/oauth/token")
      .field("jwks_uri", iss + "/oauth/jwks")
      .field("introspection_endpoint", iss + "/oauth/introspect")
      .field("revocation_endpoint", iss + "/oauth/revoke");
  list(w, "response_types_supported", {"code"});
  list(w, "response_modes_supported", {"query"});
  list(w, "grant_types_supported", {"authorization_code", "refresh_token", "client_credentials"});
  list(w, "token_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "none"});
  list(w, "introspection_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "bearer"});
  list(w, "revocation_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "none"});
  list(w, "code_challenge_methods_supported", {"S256"});
  w.field("authorization_response_iss_parameter_supported", true);
  w.field("service_documentation",
          "https://github.com/keyledger/keyledger/blob/main/docs/oauth.md");
  w.end_object();
  auto r = json_response(200, w.take());
  r.headers.emplace_back("Cache-Control", "public, max-age=300");
  c.respond(std::move(r));
}

void add_token_routes(route_table& t, const oauth_routes_dependencies& deps) {
  using E = token_endpoints;
  const auto e = std::make_shared<token_endpoints>(deps);
  // No router authentication: the endpoints authenticate clients (and keys) themselves.
  t.add({"/oauth/token", {{"POST", {}, "", {}, false, false, bind(e, &E::token)}}});
  t.add({"/oauth/introspect", {{"POST", {}, "", {}, false, false, bind(e, &E::introspect)}}});
  t.add({"/oauth/revoke", {{"POST", {}, "", {}, false, false, bind(e, &E::revoke)}}});
  t.add({"/.well-known/oauth-authorization-server",
         {{"GET", {}, "", {}, false, false, bind(e, &E::metadata)}}});
}

}  // namespace keyledger::services::http
