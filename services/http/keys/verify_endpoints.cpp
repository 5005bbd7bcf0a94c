// Verification on the I/O thread: POST /v1/keys/verify and the gateway check GET /v1/check.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/keys/api_key.hpp"
#include "services/app/verifier.hpp"
#include "services/http/auth/credentials.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/keys/key_routes.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services::http {
namespace {

bool scopes_acceptable(const std::vector<std::string>& scopes) {
  if (scopes.size() > domain::max_scopes) return false;
  for (const auto& s : scopes) {
    if (!domain::valid_scope(s)) return false;
  }
  return true;
}

/// Splits a space- and/or comma-separated list into `out`.
void split_scopes(std::string_view text, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '\t')) ++i;
    const auto start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != ',' && text[i] != '\t') ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
}

class verify_endpoints {
 public:
  explicit verify_endpoints(const verifier& verify) : verify_(verify) {}
  void verify_key(call& c);
  void check(call& c);

 private:
  const verifier& verify_;
};

}  // namespace

void verify_endpoints::verify_key(call& c) {
  auto body = parse_body(c, {"key", "required_scopes", "ip", "environment"});
  if (!body) return;
  auto invalid = [&](std::string field, std::string message) {
    answer(c, domain::problem::invalid(std::move(field), std::move(message)));
  };
  // Views into the parsed body (which outlives the verification): no copy of the key.
  auto key = body->get_string_view("key");
  auto scopes = body->get_string_array("required_scopes");
  auto ip_text = body->get_string_view("ip");
  auto env_text = body->get_string_view("environment");
  for (const auto* error :
       {key ? nullptr : &key.error(), scopes ? nullptr : &scopes.error(),
        ip_text ? nullptr : &ip_text.error(), env_text ? nullptr : &env_text.error()}) {
    if (error) return invalid("", error->message);
  }
  if (!key.value()) {
    return answer(c, domain::problem::missing("key"));
  }
  std::vector<std::string> required;
  if (scopes.value()) required = std::move(*scopes.value());
  if (!scopes_acceptable(required)) {
    return invalid("required_scopes",
                   "field 'required_scopes' must hold at most 32 scopes of the form "
                   "resource:action");
  }
  verify_request check;
  check.key = *key.value();
  check.required_scopes = required;
  check.ip = c.client_ip;
  if (ip_text.value()) {
    check.ip = domain::parse_ip(*ip_text.value());
    if (!check.ip) return invalid("ip", "field 'ip' must be an IPv4 or IPv6 address");
  }
  if (env_text.value()) {
    check.env = domain::parse_environment(*env_text.value());
    if (!check.env)
      return invalid("environment", "field 'environment' must be \"live\" or \"test\"");
  }
  const auto result = verify_.verify(check);

  infra::json_writer w;
  w.begin_object();
  if (result.valid() && result.key) {
    const key_entry& k = *result.key;
    w.field("valid", true)
        .field("code", to_string(result.code))
        .field("key_id", k.key_id())
        .field("workspace_id", k.workspace_id())
        .field("environment", domain::to_string(k.env()));
    // What the key may do now: its scopes within what its owner's role allows.
    w.key("scopes").begin_array();
    for (const auto& s : k.effective_scopes()) w.string(s);
    w.end_array().key("expires_at");
    if (const auto expires_at = k.expires_at()) {
      w.timestamp(*expires_at);
    } else {
      w.null();
    }
    w.field("name", k.name());
  } else {
    // A refusal describes nothing about the key beyond the reason.
    const auto code = result.valid() ? verify_code::not_found : result.code;
    w.field("valid", false).field("code", to_string(code));
    if (code == verify_code::rate_limited) {
      w.field("retry_after",
              static_cast<std::int64_t>(std::max<std::int64_t>(1, result.retry_after.count())));
    }
  }
  w.end_object();
  c.respond(json_response(200, w.take()));
}

void verify_endpoints::check(call& c) {
  // A gateway must not cache a verdict: a revocation takes effect on the next request. Every
  // answer goes out through `send` (not a wrapped responder: no allocation for the wrapper).
  const auto send = [&c](infra::http_response r) {
    r.headers.emplace_back("Cache-Control", "no-store");
    c.respond(std::move(r));
  };
  const auto& req = c.req;
  const auto& request_id = req.request_id;
  auto invalid = [&](std::string field, std::string message) {
    send(json_error(domain::problem::invalid(std::move(field), std::move(message)), request_id));
  };

  // What the gateway requires: scopes and environment from its headers and/or our query.
  std::vector<std::string> required;
  std::optional<std::string_view> env_header;
  for (const auto& [name, value] : req.headers) {
    if (domain::iequals_ascii(name, "x-keyledger-required-scopes")) split_scopes(value, required);
    if (domain::iequals_ascii(name, "x-keyledger-environment")) {
      if (env_header && *env_header != value) {
        return invalid("X-Keyledger-Environment",
                       "header 'X-Keyledger-Environment' is given twice with different values");
      }
      env_header = value;
    }
  }
  if (auto q = c.query_value("scopes")) split_scopes(*q, required);
  if (!scopes_acceptable(required)) {
    return invalid("scopes",
                   "required scopes (header 'X-Keyledger-Required-Scopes' or query 'scopes') "
                   "must be at most 32 scopes of the form resource:action");
  }
  auto env_text = env_header ? env_header : c.query_value("environment");
  if (env_header && c.query_value("environment") && *c.query_value("environment") != *env_header) {
    return invalid("environment",
                   "header 'X-Keyledger-Environment' and query 'environment' disagree");
  }
  verify_request check;
  if (env_text) {
    check.env = domain::parse_environment(*env_text);
    if (!check.env) {
      return invalid("environment",
                     "the required environment (header 'X-Keyledger-Environment' or query "
                     "'environment') must be live or test");
    }
  }

  const auto key = presented_key(req);
  if (key.empty()) {
    auto r = json_error(domain::problem::of(domain::problem_kind::unauthenticated, "MISSING_KEY"),
                        request_id);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return send(std::move(r));
  }
  check.key = key;
  check.required_scopes = required;
  check.ip = c.client_ip;
  const auto result = verify_.verify(check);
  if (!result.valid() || !result.key) {
    return send(refusal_response(result.valid() ? verify_code::not_found : result.code,
                                 result.retry_after, request_id, true));
  }
  const key_entry& k = *result.key;
  auto r = json_response(200, R"({"valid":true})");
  r.headers.emplace_back("X-Keyledger-Key-Id", k.key_id());
  r.headers.emplace_back("X-Keyledger-Workspace", k.workspace_id());
  r.headers.emplace_back("X-Keyledger-Environment", domain::to_string(k.env()));
  r.headers.emplace_back_joined("X-Keyledger-Scopes", k.effective_scopes(), ' ');
  send(std::move(r));
}

void add_verify_routes(route_table& t, const verifier& verify) {
  using E = verify_endpoints;
  using L = infra::log_level;
  const auto e = std::make_shared<verify_endpoints>(verify);
  t.add(
      {"/v1/keys/verify", {{"POST", {}, "", {}, false, false, bind(e, &E::verify_key)}}, L::debug});
  // Gateways forward the original method (Traefik ForwardAuth, Envoy ext_authz), so the
  // check answers every standard method; a body, if any, is ignored.
  std::vector<operation> check_ops;
  std::vector<operation> envoy_ops;
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    check_ops.push_back({m, {}, "", {"scopes", "environment"}, false, false, bind(e, &E::check)});
    // Envoy's ext_authz HTTP service appends the original path (and query) to its
    // path_prefix: /v1/check/<original path>. That query belongs to the original request.
    envoy_ops.push_back({m, {}, "", {}, true, false, bind(e, &E::check)});
  }
  t.add({"/v1/check", std::move(check_ops), L::debug});
  t.add({"/v1/check/{path}", std::move(envoy_ops), L::debug});
}

}  // namespace keyledger::services::http
