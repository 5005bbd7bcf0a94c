#include "services/http/routes.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "domain/key_format.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/json.hpp"
#include "services/app/key_service.hpp"
#include "services/http/error_table.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {
namespace {

using infra::http_request;
using infra::http_response;
using infra::responder;

constexpr std::string_view keys_read = "keys:read";
constexpr std::string_view keys_write = "keys:write";
constexpr std::string_view keys_prefix = "/v1/keys/";

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

http_response json_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

/// A field name is echoed in an error only when it cannot be a secret (keys are longer).
std::string printable_field(const std::string& name) {
  const bool safe = !name.empty() && name.size() <= 32 &&
                    std::all_of(name.begin(), name.end(), [](unsigned char c) {
                      return std::isalnum(c) || c == '_' || c == '-';
                    });
  return safe ? "'" + name + "'" : "(name not shown)";
}

void write_key_metadata(infra::json_writer& w, const domain::api_key_state& k) {
  w.field("id", k.key_id)
      .field("start", k.start)
      .field("name", k.name)
      .field("environment", domain::to_string(k.env));
  w.key("scopes").begin_array();
  for (const auto& s : k.scopes) w.string(s);
  w.end_array();
  w.field("workspace_id", k.workspace_id)
      .field("status", domain::to_string(k.status))
      .field("created_at", domain::format_timestamp(k.created_at));
}

class api {
 public:
  explicit api(api_dependencies deps) : d_(std::move(deps)) {}

  void handle(http_request&& req, responder respond) {
    const auto path = std::string_view(req.target).substr(0, req.target.find('?'));
    respond = with_access_log(req, route_of(path), std::move(respond));

    if (path == "/v1/keys/verify") {
      if (req.method != "POST") return method_not_allowed(req, respond, "POST");
      return verify(req, respond);
    }
    if (path == "/v1/keys") {
      if (req.method != "POST") return method_not_allowed(req, respond, "POST");
      return create(req, respond);
    }
    if (path.starts_with(keys_prefix)) {
      const auto id = std::string(path.substr(keys_prefix.size()));
      if (req.method == "GET") return get(req, id, respond);
      if (req.method == "DELETE") return revoke(req, id, respond);
      return method_not_allowed(req, respond, "GET, DELETE");
    }
    if (path == "/healthz") {
      if (req.method != "GET") return method_not_allowed(req, respond, "GET");
      return respond(json_response(200, R"({"status":"ok"})"));
    }
    if (path == "/readyz") {
      if (req.method != "GET") return method_not_allowed(req, respond, "GET");
      return ready(req, respond);
    }
    respond(error_response(404, "NOT_FOUND", req.request_id));
  }

 private:
  // ---- plumbing ---------------------------------------------------------------------------

  /// The route a path matched, as logged: a template, never the raw path, because a client
  /// may put a key where an id belongs (GET /v1/keys/kl_live_...).
  static std::string_view route_of(std::string_view path) noexcept {
    for (std::string_view exact : {"/v1/keys/verify", "/v1/keys", "/healthz", "/readyz"}) {
      if (path == exact) return exact;
    }
    if (path.starts_with(keys_prefix)) return "/v1/keys/{id}";
    return "(unmatched)";
  }

  /// A method is a client-chosen token: only standard ones are logged as given.
  static std::string_view method_of(std::string_view method) noexcept {
    for (std::string_view known : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
      if (method == known) return known;
    }
    return "(other)";
  }

  /// Logs method, route, status and duration once the answer is ready; never a header value,
  /// a body or a raw path. Verification (the hot path) logs at debug level only.
  responder with_access_log(const http_request& req, std::string_view route, responder next) {
    const auto level =
        route == "/v1/keys/verify" ? infra::log_level::debug : infra::log_level::info;
    if (!infra::log_enabled(level)) return next;
    return [next = std::move(next), level, method = std::string(method_of(req.method)),
            path = std::string(route), request_id = req.request_id, ip = req.remote_ip,
            start = std::chrono::steady_clock::now()](http_response r) {
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

  void method_not_allowed(const http_request& req, const responder& respond,
                          std::string_view allow) {
    auto r = error_response(405, "METHOD_NOT_ALLOWED", req.request_id);
    r.headers.emplace_back("Allow", std::string(allow));
    respond(std::move(r));
  }

  /// Runs `job(store)` on the blocking pool; storage errors become their public answer.
  template <class Job>
  void on_pool(const http_request& req, const responder& respond, Job job) {
    auto request_id = req.request_id;
    const bool queued = d_.pool.try_submit(
        [this, job = std::move(job), respond, request_id](std::size_t worker) mutable {
          try {
            job(d_.store_for(worker));
          } catch (const infra::error& e) {
            infra::log(infra::log_level::error, "request_failed",
                       {{"request_id", request_id}, {"detail", e.what()}});
            respond(error_response(e.code(), request_id));
          } catch (const std::exception& e) {
            infra::log(infra::log_level::error, "request_failed",
                       {{"request_id", request_id}, {"detail", e.what()}});
            respond(error_response(500, "INTERNAL", request_id));
          }
        });
    if (!queued) respond(error_response(infra::errc::overloaded, request_id));
  }

  /// Checks Content-Type and parses the JSON object body, answering 4xx itself on failure.
  std::optional<infra::json_body> parse_body(const http_request& req, const responder& respond,
                                             std::initializer_list<std::string_view> known) {
    const auto type = req.header("content-type");
    const auto media = type.substr(0, type.find(';'));
    if (!iequals(media.substr(0, media.find_last_not_of(" \t") + 1), "application/json")) {
      respond(error_response(415, "UNSUPPORTED_MEDIA_TYPE", req.request_id));
      return std::nullopt;
    }
    auto body = infra::json_body::parse(req.body);
    if (!body) {
      respond(error_response(400, "INVALID_JSON", body.error().message, req.request_id));
      return std::nullopt;
    }
    if (auto unknown = body->first_unknown_field(known)) {
      respond(error_response(400, "UNKNOWN_FIELD", "unknown field " + printable_field(*unknown),
                             req.request_id));
      return std::nullopt;
    }
    return std::move(body.value());
  }

  /// The key in `Authorization: Bearer <key>` or the bare `Authorization: <key>`, if active.
  std::shared_ptr<const key_entry> authenticate(const http_request& req) const {
    auto header = req.header("authorization");
    if (header.size() > 7 && iequals(header.substr(0, 7), "bearer ")) header.remove_prefix(7);
    while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
    while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
    if (!domain::parse_key(header)) return nullptr;
    auto entry = d_.view.find(d_.hasher.hash(header));
    if (!entry || entry->status != domain::key_status::active) return nullptr;
    return entry;
  }

  /// The caller if authenticated with `scope`; otherwise answers 401/403 and returns null.
  std::shared_ptr<const key_entry> authorize(const http_request& req, const responder& respond,
                                             std::string_view scope) const {
    auto principal = authenticate(req);
    if (!principal) {
      respond(error_response(401, "UNAUTHORIZED", req.request_id));
      return nullptr;
    }
    if (!principal->has_scope(scope)) {
      respond(error_response(403, "FORBIDDEN", req.request_id));
      return nullptr;
    }
    return principal;
  }

  static request_context context_of(const http_request& req, const key_entry& principal) {
    return {principal.key_id, req.request_id, req.remote_ip,
            std::string(req.header("idempotency-key"))};
  }

  /// The Idempotency-Key header is stored in event metadata, so it must be harmless there:
  /// 1-255 printable ASCII characters and never something that parses as an API key.
  static bool acceptable_idempotency_key(const http_request& req, const responder& respond) {
    const auto value = req.header("idempotency-key");
    const bool printable = std::all_of(value.begin(), value.end(), [](unsigned char c) {
      return c > 0x20 && c < 0x7F;
    });
    if (value.size() <= 255 && printable && !domain::parse_key(value)) return true;
    respond(error_response(400, "INVALID_FIELD",
                           "header 'Idempotency-Key' must be 1-255 printable ASCII characters "
                           "and must not be an API key",
                           req.request_id));
    return false;
  }

  /// Blocks the pool thread until this node has applied `seq`; false on timeout.
  bool await_applied(std::uint64_t seq) const {
    return seq == 0 || d_.view.wait_applied(seq, std::chrono::steady_clock::now() + d_.apply_wait);
  }

  static http_response not_applied(std::string_view request_id) {
    return error_response(503, "UNAVAILABLE",
                          "The change was recorded but is not yet in effect on this node; "
                          "retry the read shortly",
                          request_id);
  }

  // ---- endpoints --------------------------------------------------------------------------

  void verify(const http_request& req, const responder& respond) {
    auto body = parse_body(req, respond, {"key"});
    if (!body) return;
    auto key = body->get_string("key");
    if (!key)
      return respond(error_response(400, "INVALID_FIELD", key.error().message, req.request_id));
    if (!key.value()) {
      return respond(
          error_response(400, "MISSING_FIELD", "field 'key' is required", req.request_id));
    }
    const std::string& text = *key.value();

    infra::json_writer w;
    w.begin_object();
    if (!domain::parse_key(text)) {
      w.field("valid", false).field("code", "MALFORMED");
    } else if (auto entry = d_.view.find(d_.hasher.hash(text)); !entry) {
      w.field("valid", false).field("code", "NOT_FOUND");
    } else if (entry->status == domain::key_status::revoked) {
      w.field("valid", false).field("code", "REVOKED");
    } else {
      w.field("valid", true)
          .field("key_id", entry->key_id)
          .field("workspace_id", entry->workspace_id)
          .field("environment", domain::to_string(entry->env));
      w.key("scopes").begin_array();
      for (const auto& s : entry->scopes) w.string(s);
      w.end_array();
    }
    w.end_object();
    respond(json_response(200, w.take()));
  }

  void create(const http_request& req, const responder& respond) {
    auto principal = authorize(req, respond, keys_write);
    if (!principal || !acceptable_idempotency_key(req, respond)) return;
    auto body = parse_body(req, respond, {"name", "environment", "scopes"});
    if (!body) return;

    auto name = body->get_string("name");
    auto env_text = body->get_string("environment");
    auto scopes = body->get_string_array("scopes");
    for (const auto* error :
         {name ? nullptr : &name.error(), env_text ? nullptr : &env_text.error(),
          scopes ? nullptr : &scopes.error()}) {
      if (error)
        return respond(error_response(400, "INVALID_FIELD", error->message, req.request_id));
    }
    if (!name.value()) {
      return respond(
          error_response(400, "MISSING_FIELD", "field 'name' is required", req.request_id));
    }
    if (!env_text.value()) {
      return respond(
          error_response(400, "MISSING_FIELD", "field 'environment' is required", req.request_id));
    }
    auto env = domain::parse_environment(*env_text.value());
    if (!env) {
      return respond(error_response(400, "INVALID_FIELD",
                                    "field 'environment' must be \"live\" or \"test\"",
                                    req.request_id));
    }
    create_key_input input;
    input.workspace_id = principal->workspace_id;
    input.name = std::move(*name.value());
    input.env = *env;
    if (scopes.value()) input.scopes = std::move(*scopes.value());
    if (!domain::valid_key_name(input.name)) {
      return respond(error_response(domain::rejection::invalid_name, req.request_id));
    }
    if (!domain::valid_scopes(input.scopes)) {
      return respond(error_response(domain::rejection::invalid_scopes, req.request_id));
    }
    // A key may hand out management scopes only if it holds them itself: no escalation.
    for (const auto& s : input.scopes) {
      if (s.starts_with("keys:") && !principal->has_scope(s)) {
        return respond(error_response(403, "FORBIDDEN",
                                      "A key cannot grant a keys:* scope it does not hold",
                                      req.request_id));
      }
    }
    auto workspace = d_.view.find_workspace(principal->workspace_id);
    if (!workspace) {
      infra::log(infra::log_level::error, "workspace_missing",
                 {{"workspace_id", principal->workspace_id}, {"request_id", req.request_id}});
      return respond(error_response(500, "INTERNAL", req.request_id));
    }
    input.key_prefix = workspace->key_prefix;

    on_pool(req, respond,
            [this, input = std::move(input), ctx = context_of(req, *principal), respond,
             request_id = req.request_id](infra::event_store& store) {
              auto created = d_.keys.create(store, input, ctx);
              if (!created) return respond(error_response(created.error(), request_id));
              if (!await_applied(created->global_seq)) return respond(not_applied(request_id));
              const auto& k = created->state;
              infra::json_writer w;
              w.begin_object();
              write_key_metadata(w, k);
              // The secret leaves the process here, once.
              w.field("key", created->key.reveal()).end_object();
              auto r = json_response(201, w.take());
              r.headers.emplace_back("Location", "/v1/keys/" + k.key_id);
              r.headers.emplace_back("Cache-Control", "no-store");
              respond(std::move(r));
            });
  }

  void get(const http_request& req, const std::string& id, const responder& respond) {
    auto principal = authorize(req, respond, keys_read);
    if (!principal) return;
    if (!plausible_key_id(id)) return respond(error_response(404, "NOT_FOUND", req.request_id));
    on_pool(req, respond,
            [this, id, workspace_id = principal->workspace_id, respond,
             request_id = req.request_id](infra::event_store& store) {
              auto k = d_.keys.load(store, id);
              // Another workspace's key is indistinguishable from a missing one.
              if (!k.exists || k.workspace_id != workspace_id) {
                return respond(error_response(404, "NOT_FOUND", request_id));
              }
              infra::json_writer w;
              w.begin_object();
              write_key_metadata(w, k);
              w.key("revoked_at");
              if (k.revoked_at) {
                w.string(domain::format_timestamp(*k.revoked_at));
              } else {
                w.null();
              }
              w.end_object();
              respond(json_response(200, w.take()));
            });
  }

  void revoke(const http_request& req, const std::string& id, const responder& respond) {
    auto principal = authorize(req, respond, keys_write);
    if (!principal || !acceptable_idempotency_key(req, respond)) return;
    if (!plausible_key_id(id)) return respond(error_response(404, "NOT_FOUND", req.request_id));
    on_pool(req, respond,
            [this, id, ctx = context_of(req, *principal), workspace_id = principal->workspace_id,
             respond, request_id = req.request_id](infra::event_store& store) {
              auto revoked = d_.keys.revoke(store, id, workspace_id, ctx);
              if (!revoked) return respond(error_response(revoked.error(), request_id));
              if (!await_applied(revoked->global_seq)) return respond(not_applied(request_id));
              http_response r;
              r.status = 204;
              r.content_type.clear();
              respond(std::move(r));
            });
  }

  void ready(const http_request& req, const responder& respond) {
    on_pool(req, respond, [this, respond, request_id = req.request_id](infra::event_store& store) {
      const auto head = store.head_seq();
      if (!d_.view.wait_applied(head, std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
        return respond(error_response(503, "NOT_READY", "The key view is catching up with the log",
                                      request_id));
      }
      infra::json_writer w;
      w.begin_object()
          .field("status", "ready")
          .field("applied_seq", static_cast<std::uint64_t>(d_.view.applied_seq()))
          .end_object();
      respond(json_response(200, w.take()));
    });
  }

  api_dependencies d_;
};

}  // namespace

infra::request_handler make_api_handler(api_dependencies deps) {
  auto shared = std::make_shared<api>(std::move(deps));
  return [shared](http_request&& req, responder respond) {
    shared->handle(std::move(req), std::move(respond));
  };
}

}  // namespace keyledger::services
