// The router: match the route and method, check the version, find the client address,
// authenticate, parse the query, check Idempotency-Key, then hand the call to its endpoint.
// Every answer goes out through `finishing` (Keyledger-Version, HEAD, one access-log line).
#include "services/http/router/router.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include "domain/encoding.hpp"
#include "domain/keys/key_format.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/router/client_address.hpp"
#include "services/http/router/form.hpp"
#include "services/http/support/respond.hpp"

namespace keyledger::services::http {
namespace {

using domain::problem;
using domain::problem_kind;
using infra::http_request;
using infra::http_response;
using infra::responder;

/// Matches `path` against a template; on success sets `id` to the {id} segment and `sub_id` to
/// the segment of another named placeholder ({delivery_id}).
bool matches(std::string_view tmpl, std::string_view path, std::string& id, std::string& sub_id) {
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
    } else if (t_seg.size() > 2 && t_seg.front() == '{' && t_seg.back() == '}') {
      if (p_seg.empty()) return false;
      sub_id = std::string(p_seg);
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

/// Keyledger-Version, when present, must name a version this server speaks.
bool version_accepted(const http_request& req) {
  for (const auto& [name, value] : req.headers) {
    if (domain::iequals_ascii(name, "keyledger-version") && value != api_version) return false;
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
void proceed(call& c, const operation& op, std::string_view query_text) {
  auto query = parse_form(query_text, op.query, form_source::query);
  if (!query) return answer(c, query.error());
  c.query = std::move(query.value());
  if (op.idempotent && !idempotency_key_acceptable(c.req.header("idempotency-key"))) {
    return answer(c, problem::invalid("Idempotency-Key",
                                      "header 'Idempotency-Key' must be 1-255 printable ASCII "
                                      "characters and must not be an API key"));
  }
  op.handle(c);
}

}  // namespace

finishing_responder::finishing_responder(responder next, const http_request& req,
                                         std::string_view route, infra::log_level level)
    : next_(std::move(next)),
      method_(method_of(req.method)),
      route_(route),
      level_(level),
      head_(req.method == "HEAD"),
      logged_(infra::log_enabled(level)) {
  if (!logged_) return;
  start_ = std::chrono::steady_clock::now();
  request_id_ = req.request_id;
  remote_ip_ = req.remote_ip;
}

void finishing_responder::operator()(http_response r) const {
  stamp_version(r);
  if (head_) r.body.clear();
  if (logged_) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start_)
                        .count();
    char status[8];
    char duration[24];
    const auto status_end = std::to_chars(status, status + sizeof status, r.status).ptr;
    const auto duration_end = std::to_chars(duration, duration + sizeof duration, us).ptr;
    infra::log(level_, "request",
               {{"method", method_},
                {"route", route_},
                {"status", std::string_view(status, status_end - status)},
                {"duration_us", std::string_view(duration, duration_end - duration)},
                {"request_id", request_id_},
                {"remote_ip", remote_ip_}});
  }
  next_(std::move(r));
}

std::optional<std::string_view> call::query_value(std::string_view name) const {
  for (const auto& [n, v] : query) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

void route_table::add(route r) {
  for (const auto& existing : routes_) {
    if (existing.path == r.path) {
      throw std::logic_error("route_table: path added twice: " + std::string(r.path));
    }
  }
  routes_.push_back(std::move(r));
}

router::router(route_table table, std::vector<std::unique_ptr<authenticator>> authenticators,
               std::vector<domain::cidr> trusted_proxies)
    : table_(std::move(table)),
      authenticators_(std::move(authenticators)),
      trusted_proxies_(std::move(trusted_proxies)) {
  // Every credential an operation names must have its authenticator.
  for (const auto& r : table_.routes()) {
    for (const auto& op : r.operations) {
      for (const auto kind : op.accepts) {
        if (authenticator_for(kind) == nullptr) {
          throw std::logic_error("router: no authenticator for a credential of " +
                                 std::string(r.path));
        }
      }
    }
  }
}

const authenticator* router::authenticator_for(credential kind) const noexcept {
  for (const auto& a : authenticators_) {
    if (a->kind() == kind) return a.get();
  }
  return nullptr;
}

void router::handle(http_request&& req, responder respond) const {
  const std::string_view target = req.target;
  const auto question = target.find('?');
  const auto path = target.substr(0, question);
  const auto query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  // Route.
  std::string id;
  std::string sub_id;
  const route* matched = nullptr;
  for (const auto& r : table_.routes()) {
    id.clear();
    sub_id.clear();
    if (matches(r.path, path, id, sub_id)) {
      matched = &r;
      break;
    }
  }
  if (matched == nullptr) {
    const finishing_responder finish(std::move(respond), req, "(unmatched)",
                                     infra::log_level::info);
    return finish(json_error(problem::of(problem_kind::not_found, "NO_ROUTE"), req.request_id));
  }
  finishing_responder finish(std::move(respond), req, matched->path, matched->log_level);
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
    auto r = json_error(problem::of(problem_kind::method_not_allowed, "METHOD_NOT_ALLOWED"),
                        req.request_id);
    r.headers.emplace_back("Allow", std::move(allow));
    return finish(std::move(r));
  }
  if (!version_accepted(req)) {
    return finish(
        json_error(problem::of(problem_kind::invalid, "UNSUPPORTED_VERSION"), req.request_id));
  }

  auto c = new_call();
  c->route = matched->path;
  c->path_id = std::move(id);
  c->path_sub_id = std::move(sub_id);
  c->respond = std::move(finish);
  c->client_ip = client_ip_of(req, trusted_proxies_);
  if (c->client_ip) c->client_ip_text = domain::to_string(*c->client_ip);
  // The server's request object gets back the storage of a request finished before (it reads
  // its next request into it); the call takes this one.
  std::swap(c->req, req);
  std::string query_text(op->query_opaque ? std::string_view{} : query);

  if (op->accepts.empty()) return proceed(*c, *op, query_text);

  // The first accepted credential the request presents decides; none presented is 401.
  for (const auto kind : op->accepts) {
    const auto* a = authenticator_for(kind);
    if (!a->presented(c->req)) continue;
    return a->authenticate(
        c, *op, [c, op, query_text = std::move(query_text)] { proceed(*c, *op, query_text); });
  }
  answer(*c, problem::of(problem_kind::unauthenticated, "UNAUTHORIZED"));
}

}  // namespace keyledger::services::http
