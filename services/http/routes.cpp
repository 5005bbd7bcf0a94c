// The dispatcher: route table, 404/405, Keyledger-Version, query parsing, client address,
// authentication, access log; then the endpoint (key_routes.cpp, verify_routes.cpp, below).
#include "services/http/routes.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "domain/key_format.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/json/json.hpp"
#include "services/app/user_service.hpp"
#include "services/app/verifier.hpp"
#include "services/http/api.hpp"
#include "services/http/error_table.hpp"
#include "services/http/openapi_document.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {
namespace http {
namespace {

using infra::http_request;
using infra::http_response;
using infra::responder;

enum class auth {
  none,          ///< no credentials (verification, probes, the document, login)
  key_only,      ///< an API key only (GET /v1/keys/self)
  session_only,  ///< a session cookie only (/v1/sessions/current)
  principal,     ///< an API key (Authorization wins) or a session cookie
};

/// One method of one path. The methods of a path are exactly those docs/openapi.json lists
/// (routes_test checks it): a 405 answer's Allow header is built from this table.
struct operation {
  std::string_view method;
  auth needs;
  /// The scope the verifier requires of a key ("" = none at authentication: the endpoint
  /// decides, e.g. audit:read OR keys:read). The role is checked by the endpoint.
  std::string_view scope;
  std::vector<std::string_view> query;  ///< known query parameters
  bool query_opaque;                    ///< the query is not ours: not parsed, not checked
  bool idempotent;                      ///< a command: Idempotency-Key applies
  void (api::*handler)(call&);
};

struct route {
  std::string_view path;  ///< template: literal segments, "{id}" (one segment), "{path}" (rest)
  std::vector<operation> operations;
  infra::log_level log_level = infra::log_level::info;
};

const std::vector<route>& route_table() {
  using L = infra::log_level;
  constexpr auto P = auth::principal;
  static const std::vector<route> table = [] {
    std::vector<route> t;
    t.push_back({"/v1/keys/verify",
                 {{"POST", auth::none, "", {}, false, false, &api::verify_key}},
                 L::debug});
    t.push_back({"/v1/keys/self", {{"GET", auth::key_only, "", {}, false, false, &api::get_self}}});
    t.push_back({"/v1/keys",
                 {{"GET",
                   P,
                   "keys:read",
                   {"name", "environment", "status", "limit", "cursor"},
                   false,
                   false,
                   &api::list_keys},
                  {"POST", P, "keys:write", {}, false, true, &api::create_key}}});
    t.push_back({"/v1/keys/{id}",
                 {{"GET", P, "keys:read", {}, false, false, &api::get_key},
                  {"PATCH", P, "keys:write", {}, false, true, &api::update_key},
                  {"DELETE", P, "keys:write", {}, false, true, &api::revoke_key}}});
    t.push_back(
        {"/v1/keys/{id}/rotate", {{"POST", P, "keys:write", {}, false, true, &api::rotate_key}}});
    // Request logs and failed attempts: audit:read. The endpoint checks it (after the key's
    // visibility: someone else's key is 404 to a member, not 403).
    t.push_back({"/v1/keys/{id}/requests",
                 {{"GET", P, "", {"limit", "cursor"}, false, false, &api::key_requests}}});
    t.push_back(
        {"/v1/auth-failures",
         {{"GET", P, "audit:read", {"since", "limit"}, false, false, &api::auth_failures}}});
    // Users. set-password carries a secret (the token and the password): never kept for
    // Idempotency-Key replays. It is matched before /v1/users/{id}.
    t.push_back({"/v1/users/set-password",
                 {{"POST", auth::none, "", {}, false, false, &api::set_password}}});
    t.push_back({"/v1/users",
                 {{"GET", P, "users:read", {}, false, false, &api::list_users},
                  {"POST", P, "users:write", {}, false, true, &api::invite_user}}});
    t.push_back({"/v1/users/{id}",
                 {{"GET", P, "users:read", {}, false, false, &api::get_user},
                  {"PATCH", P, "users:write", {}, false, true, &api::update_user},
                  {"DELETE", P, "users:write", {}, false, true, &api::remove_user}}});
    // Sessions: a password goes in, a session id comes out; neither is kept for replays.
    t.push_back({"/v1/sessions", {{"POST", auth::none, "", {}, false, false, &api::login}}});
    t.push_back({"/v1/sessions/current",
                 {{"GET", auth::session_only, "", {}, false, false, &api::current_session},
                  {"DELETE", auth::session_only, "", {}, false, false, &api::logout}}});
    // Workspace: reading needs keys:read or workspace:admin (the endpoint checks).
    t.push_back({"/v1/workspace",
                 {{"GET", P, "", {}, false, false, &api::get_workspace},
                  {"PATCH", P, "workspace:admin", {}, false, true, &api::update_workspace}}});
    // Gateways forward the original method (Traefik ForwardAuth, Envoy ext_authz), so the
    // check answers every standard method; a body, if any, is ignored.
    std::vector<operation> check_ops;
    std::vector<operation> envoy_ops;
    for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
      check_ops.push_back(
          {m, auth::none, "", {"scopes", "environment"}, false, false, &api::check});
      // Envoy's ext_authz HTTP service appends the original path (and query) to its
      // path_prefix: /v1/check/<original path>. That query belongs to the original request.
      envoy_ops.push_back({m, auth::none, "", {}, true, false, &api::check});
    }
    t.push_back({"/v1/check", std::move(check_ops), L::debug});
    t.push_back({"/v1/check/{path}", std::move(envoy_ops), L::debug});
    t.push_back({"/healthz", {{"GET", auth::none, "", {}, false, false, &api::healthz}}});
    t.push_back({"/readyz", {{"GET", auth::none, "", {}, false, false, &api::readyz}}});
    t.push_back({"/openapi.json", {{"GET", auth::none, "", {}, false, false, &api::openapi}}});
    return t;
  }();
  return table;
}

/// Matches `path` against a template; on success sets `id` to the {id} segment.
bool matches(std::string_view tmpl, std::string_view path, std::string& id) {
  while (!tmpl.empty()) {
    if (path.empty() || tmpl.front() != '/' || path.front() != '/') return false;
    tmpl.remove_prefix(1);
    path.remove_prefix(1);
    const auto t_end = std::min(tmpl.find('/'), tmpl.size());
    const auto p_end = std::min(path.find('/'), path.size());
    const auto t_seg = tmpl.substr(0, t_end);
    const auto p_seg = path.substr(0, p_end);
    if (t_seg == "{path}") return !path.empty();  // the rest, one or more segments
    if (t_seg == "{id}") {
      if (p_seg.empty()) return false;
      id = std::string(p_seg);
    } else if (t_seg != p_seg) {
      return false;
    }
    tmpl.remove_prefix(t_end);
    path.remove_prefix(p_end);
  }
  return path.empty();
}

/// A method is a client-chosen token: only standard ones are logged as given.
std::string_view method_of(std::string_view method) noexcept {
  for (std::string_view known :
       {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"}) {
    if (method == known) return known;
  }
  return "(other)";
}

/// The final steps of every answer: Keyledger-Version, no body for HEAD, and one access-log
/// line with method, route template, status and duration; never a header value, a body or a
/// raw path (a client may put a key where an id belongs).
responder finishing(const http_request& req, std::string_view route, infra::log_level level,
                    responder next) {
  const bool head = req.method == "HEAD";
  if (!infra::log_enabled(level)) {
    return [next = std::move(next), head](http_response r) {
      stamp_version(r);
      if (head) r.body.clear();
      next(std::move(r));
    };
  }
  return [next = std::move(next), head, level, method = std::string(method_of(req.method)),
          path = std::string(route), request_id = req.request_id, ip = req.remote_ip,
          start = std::chrono::steady_clock::now()](http_response r) {
    stamp_version(r);
    if (head) r.body.clear();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    infra::log(level, "request",
               {{"method", method},
                {"route", path},
                {"status", std::to_string(r.status)},
                {"duration_us", std::to_string(us)},
                {"request_id", request_id},
                {"remote_ip", ip}});
    next(std::move(r));
  };
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// application/x-www-form-urlencoded decoding ('+' is a space); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

constexpr std::size_t max_query_parameters = 16;

/// Parses the query string into `out`; on failure answers 400 itself and returns false.
bool parse_query(std::string_view query, const std::vector<std::string_view>& known, call& c) {
  const auto& request_id = c.req.request_id;
  while (!query.empty()) {
    const auto end = std::min(query.find('&'), query.size());
    const auto part = query.substr(0, end);
    query.remove_prefix(std::min(end + 1, query.size()));
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : percent_decode(part.substr(eq + 1));
    if (!name || !value) {
      c.respond(error_response(400, "INVALID_FIELD",
                               "the query string is not correctly percent-encoded", request_id));
      return false;
    }
    if (std::find(known.begin(), known.end(), *name) == known.end()) {
      c.respond(error_response(400, "UNKNOWN_FIELD",
                               "unknown query parameter " + printable_name(*name), request_id));
      return false;
    }
    for (const auto& [seen, unused] : c.query) {
      if (seen == *name) {
        c.respond(error_response(
            400, "INVALID_FIELD",
            "query parameter " + printable_name(*name) + " is given more than once", request_id));
        return false;
      }
    }
    const bool control = std::any_of(value->begin(), value->end(),
                                     [](unsigned char ch) { return ch < 0x20 || ch == 0x7F; });
    if (control) {
      c.respond(error_response(
          400, "INVALID_FIELD",
          "query parameter " + printable_name(*name) + " contains control characters", request_id));
      return false;
    }
    if (c.query.size() >= max_query_parameters) {
      c.respond(error_response(400, "INVALID_FIELD", "too many query parameters", request_id));
      return false;
    }
    c.query.emplace_back(std::move(*name), std::move(*value));
  }
  return true;
}

/// Keyledger-Version, when present, must name a version this server speaks.
bool version_accepted(const http_request& req) {
  for (const auto& [name, value] : req.headers) {
    if (name.size() == 17 &&
        std::equal(name.begin(), name.end(), "keyledger-version",
                   [](unsigned char a, unsigned char b) { return std::tolower(a) == b; })) {
      if (value != api_version) return false;
    }
  }
  return true;
}

/// The Idempotency-Key header is stored (event metadata, idempotency table), so it must be
/// harmless there: 1-255 printable ASCII characters and never something that parses as an API
/// key. Absent is fine.
bool idempotency_key_acceptable(std::string_view value) {
  const bool printable = std::all_of(value.begin(), value.end(),
                                     [](unsigned char ch) { return ch > 0x20 && ch < 0x7F; });
  return value.size() <= 255 && printable && !domain::parse_key(value);
}

/// The steps after authentication: the query, the Idempotency-Key header, the endpoint.
void proceed(api& a, call& c, const operation& op, const std::string& query_text) {
  if (!parse_query(query_text, op.query, c)) return;
  if (op.idempotent && !idempotency_key_acceptable(c.req.header("idempotency-key"))) {
    return c.respond(error_response(400, "INVALID_FIELD",
                                    "header 'Idempotency-Key' must be 1-255 printable ASCII "
                                    "characters and must not be an API key",
                                    c.req.request_id));
  }
  (a.*(op.handler))(c);
}

}  // namespace

api::api(api_dependencies deps) : d_(std::move(deps)) {}

void api::handle(http_request&& req, responder respond) {
  const std::string_view target = req.target;
  const auto question = target.find('?');
  const auto path = target.substr(0, question);
  const auto query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  // Route.
  std::string id;
  const route* matched = nullptr;
  for (const auto& r : route_table()) {
    id.clear();
    if (matches(r.path, path, id)) {
      matched = &r;
      break;
    }
  }
  if (matched == nullptr) {
    respond = finishing(req, "(unmatched)", infra::log_level::info, std::move(respond));
    return respond(error_response(404, "NO_ROUTE", req.request_id));
  }
  respond = finishing(req, matched->path, matched->log_level, std::move(respond));
  const operation* op = nullptr;
  for (const auto& o : matched->operations) {
    if (o.method == req.method) op = &o;
  }
  if (op == nullptr) {
    std::string allow;
    for (const auto& o : matched->operations) {
      if (!allow.empty()) allow += ", ";
      allow += o.method;
    }
    auto r = error_response(405, "METHOD_NOT_ALLOWED", req.request_id);
    r.headers.emplace_back("Allow", std::move(allow));
    return respond(std::move(r));
  }
  if (!version_accepted(req)) {
    return respond(error_response(400, "UNSUPPORTED_VERSION", req.request_id));
  }

  auto c = std::make_shared<call>();
  c->route = matched->path;
  c->path_id = std::move(id);
  c->respond = std::move(respond);
  c->client_ip = client_ip_of(req, d_.trusted_proxies);
  if (c->client_ip) c->client_ip_text = domain::to_string(*c->client_ip);
  c->req = std::move(req);
  const std::string query_text(op->query_opaque ? std::string_view{} : query);

  if (op->needs == auth::none) return proceed(*this, *c, *op, query_text);

  // A key in Authorization wins over a cookie (a script's key is not a browser's session).
  const auto presented = presented_key(c->req);
  if (op->needs == auth::key_only || (op->needs == auth::principal && !presented.empty())) {
    if (presented.empty()) {
      return c->respond(error_response(401, "UNAUTHORIZED", c->req.request_id));
    }
    // The verifier checks the key with the client's address and the route's scope.
    std::array<std::string, 1> scope{std::string(op->scope)};
    verify_request check;
    check.key = presented;
    if (!op->scope.empty()) check.required_scopes = scope;
    check.ip = c->client_ip;
    const auto result = d_.verify.verify(check);
    if (!result.valid() || !result.key) {
      return c->respond(refusal_response(result.valid() ? verify_code::not_found : result.code,
                                         result.retry_after, c->req.request_id, false));
    }
    c->key = result.key;
    c->who = principal_of(*result.key);
    return proceed(*this, *c, *op, query_text);
  }

  // A session: looking it up touches Postgres, so the rest of this request runs on the pool.
  const auto cookie = session_cookie(c->req);
  if (cookie.empty()) return c->respond(error_response(401, "UNAUTHORIZED", c->req.request_id));
  c->session_id = std::make_shared<const infra::secret>(std::string(cookie));
  const bool queued = d_.pool.try_submit([this, c, op, query_text](std::size_t worker) {
    const auto& request_id = c->req.request_id;
    try {
      auto who = d_.users.authenticate_session(d_.people_for(worker), d_.directory,
                                               c->session_id->reveal());
      if (!who) return c->respond(error_response(401, "UNAUTHORIZED", request_id));
      // Double submit bound to the session: a cross-site form cannot read the token.
      const bool write = c->req.method != "GET" && c->req.method != "HEAD";
      if (write && !d_.users.csrf_valid(c->session_id->reveal(), c->req.header("x-csrf-token"))) {
        return c->respond(error_response(403, "CSRF_FAILED", request_id));
      }
      c->who = std::move(*who);
      proceed(*this, *c, *op, query_text);
    } catch (const infra::error& e) {
      infra::log(infra::log_level::error, "request_failed",
                 {{"request_id", request_id}, {"detail", e.what()}});
      c->respond(error_response(e.code(), request_id));
    } catch (const std::exception& e) {
      infra::log(infra::log_level::error, "request_failed",
                 {{"request_id", request_id}, {"detail", e.what()}});
      c->respond(error_response(500, "INTERNAL", request_id));
    }
  });
  if (!queued) c->respond(error_response(infra::errc::overloaded, c->req.request_id));
}

void api::healthz(call& c) { c.respond(json_response(200, R"({"status":"ok"})")); }

void api::readyz(call& c) {
  run_read(c, [this, request_id = c.req.request_id](std::size_t worker) {
    const auto head = d_.store_for(worker).head_seq();
    if (!d_.view.wait_applied(head, std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
      return error_response(503, "NOT_READY", "The key view is catching up with the log",
                            request_id);
    }
    infra::json_writer w;
    w.begin_object()
        .field("status", "ready")
        .field("applied_seq", static_cast<std::uint64_t>(d_.view.applied_seq()))
        .end_object();
    return json_response(200, w.take());
  });
}

void api::openapi(call& c) { c.respond(json_response(200, std::string(openapi_document()))); }

}  // namespace http

infra::request_handler make_api_handler(api_dependencies deps) {
  auto shared = std::make_shared<http::api>(std::move(deps));
  return [shared](infra::http_request&& req, infra::responder respond) {
    shared->handle(std::move(req), std::move(respond));
  };
}

}  // namespace keyledger::services
