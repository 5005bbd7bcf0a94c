#pragma once

// One request on its way through the router. Free of Beast (requests and responses are
// infra::http_request / http_response).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/net.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/secret.hpp"
#include "infra/http/server.hpp"
#include "services/app/principal.hpp"

namespace keyledger::services {
struct key_entry;
}

namespace keyledger::services::http {

/// The router's last steps on every answer, then the server's responder: Keyledger-Version, no
/// body for HEAD, and one access-log line with method, route template, status and duration;
/// never a header value, a body or a raw path (a client may put a key where an id belongs).
/// A plain value, copied into pool jobs, rather than a callable wrapped around the server's:
/// nothing allocated per request.
class finishing_responder {
 public:
  finishing_responder() = default;
  finishing_responder(infra::responder next, const infra::http_request& req, std::string_view route,
                      infra::log_level level);
  void operator()(infra::http_response r) const;

 private:
  infra::responder next_;
  std::string_view method_;  ///< a static string (method_of), never the client's text
  std::string_view route_;   ///< the route table's template
  infra::log_level level_ = infra::log_level::info;
  bool head_ = false;
  bool logged_ = false;  ///< whether the access log was on at that level when the call began
  std::chrono::steady_clock::time_point start_;
  infra::short_text request_id_;
  infra::short_text remote_ip_;
};

/// What the router established before handing a request to an endpoint. `respond` already
/// stamps Keyledger-Version and writes the access log.
struct call {
  infra::http_request req;
  finishing_responder respond;
  std::string_view route;  ///< the matched template, e.g. "/v1/keys/{id}"
  std::string path_id;     ///< the {id} segment, or ""
  /// The segment of the template's other placeholder (e.g. {delivery_id}), or "".
  std::string path_sub_id;
  /// Decoded query parameters in order (names unique: duplicates are refused).
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<domain::ip_address> client_ip;
  std::string client_ip_text;  ///< canonical, or "" when unknown
  /// Who is acting (a key for its owner, or a person's session); nullopt on unauthenticated
  /// routes. Set by an authenticator.
  std::optional<principal> who;
  /// The authenticating key (null for sessions and unauthenticated routes).
  std::shared_ptr<const key_entry> key;
  /// The session cookie's value when a session authenticated the request (a secret: never
  /// logged, never echoed).
  std::shared_ptr<const infra::secret> session_id;

  /// The decoded value of a query parameter, if given.
  std::optional<std::string_view> query_value(std::string_view name) const;
};

/// A fresh call for the router: one this thread finished with before (reset to a default call,
/// its request's storage kept for a swap with the server's next one), or a new one. With the
/// shared pointer's own block recycled the same way, a call costs no allocation once warm.
/// Bounded: a thread keeps at most 64 finished calls; others are freed.
std::shared_ptr<call> new_call();

}  // namespace keyledger::services::http
