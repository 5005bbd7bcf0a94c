#pragma once

// Internal to services/http: the request handler's state and the helpers its endpoint files
// share. Free of Beast (requests and responses are infra::http_request / http_response).

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/api_key.hpp"
#include "domain/net.hpp"
#include "infra/core/telemetry_store.hpp"
#include "infra/crypto/secret.hpp"
#include "infra/http/server.hpp"
#include "infra/json/json.hpp"
#include "services/app/key_service.hpp"
#include "services/app/principal.hpp"
#include "services/app/user_service.hpp"
#include "services/http/routes.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services::http {

using key_entry_ptr = std::shared_ptr<const key_entry>;

/// One request on its way through the API: what the dispatcher established before handing it
/// to an endpoint. `respond` already stamps Keyledger-Version and writes the access log.
struct call {
  infra::http_request req;
  infra::responder respond;
  std::string_view route;  ///< the matched template, e.g. "/v1/keys/{id}"
  std::string path_id;     ///< the {id} segment, or ""
  /// Decoded query parameters in order (names unique: duplicates are refused).
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<domain::ip_address> client_ip;
  std::string client_ip_text;  ///< canonical, or "" when unknown
  /// Who is acting (a key for its owner, or a person's session); nullopt on unauthenticated
  /// routes.
  std::optional<principal> who;
  key_entry_ptr key;  ///< the authenticating key (null for sessions and unauthenticated routes)
  /// The session cookie's value when a session authenticated the request (a secret: never
  /// logged, never echoed).
  std::shared_ptr<const infra::secret> session_id;

  /// The decoded value of a query parameter, if given.
  std::optional<std::string_view> query_value(std::string_view name) const;
};

/// What a command job hands back: its answer and the global position its node must apply
/// before the answer goes out (0: nothing was appended).
struct command_result {
  infra::http_response response;
  std::uint64_t seq = 0;
  /// Not kept for Idempotency-Key replays: a retry may succeed (409 CONFLICT).
  bool transient = false;
};

using read_job = std::function<infra::http_response(std::size_t worker)>;
using command_job = std::function<command_result(std::size_t worker)>;

/// The key in `Authorization: Bearer <key>` or the bare `Authorization: <key>` (surrounding
/// blanks trimmed); "" when there is none. A view into the request.
std::string_view presented_key(const infra::http_request& req);

/// JSON response with `status` and `body`.
infra::http_response json_response(unsigned status, std::string body);

/// A name that may be echoed in an error message ('name'), or "(name not shown)".
std::string printable_name(std::string_view name);

/// What a key's owner allows it now: effective scopes and whether the owner was removed.
struct key_standing {
  std::vector<std::string> effective_scopes;
  bool owner_removed = false;
};

/// The key object of docs/api.md; `last` the key's last use, if any. Leaves the object open,
/// so that create and rotate can add "key".
void write_key_fields(infra::json_writer& w, const domain::api_key_state& k,
                      const key_standing& standing, domain::timestamp now,
                      const infra::last_use* last);

/// The session cookie (keyledger_session) of a request: the first value of the right form
/// (domain::valid_session_token), or "" when there is none. A view into the request.
std::string_view session_cookie(const infra::http_request& req);

// ---- authorization (authorization.cpp) ---------------------------------------------------

/// May `p` see a key owned by `owner` at all (keys.read_any, or keys.read_own on its own key)?
/// Decided by the role alone: a key that may not be seen is 404, as if it did not exist.
bool may_see_key(const principal& p, std::string_view owner) noexcept;

/// A 403 FORBIDDEN for `p` refused `a` (message: the role, or the key's scope, says no).
infra::http_response forbidden(const principal& p, domain::action a, std::string_view request_id);

/// The handler: the route table and the endpoints. Lives as long as the request handler.
class api {
 public:
  explicit api(api_dependencies deps);

  void handle(infra::http_request&& req, infra::responder respond);

  // ---- plumbing (api_support.cpp) -----------------------------------------------------------

  /// Checks Content-Type and parses the JSON object body; answers 4xx itself on failure.
  /// `allow_empty`: an empty body (any Content-Type) is an empty object.
  std::optional<infra::json_body> parse_body(const call& c,
                                             std::initializer_list<std::string_view> known,
                                             bool allow_empty = false) const;

  /// Runs a read on the blocking pool; infra errors become their public answer.
  void run_read(const call& c, read_job job) const;

  /// Runs a command on the blocking pool under the request's Idempotency-Key (if any): claims
  /// it, runs `job`, keeps the answer sealed for replays (not 5xx, not transient), waits for
  /// this node to apply the command's events, then answers. idempotency.cpp.
  void run_command(const call& c, command_job job) const;

  /// The caller's workspace (policy, prefix); answers 500 itself when the view lacks it.
  std::optional<workspace_entry> workspace_of(const call& c) const;

  request_context context_of(const call& c) const;

  /// The key's standing from the directory and the workspace's catalog (as the key view
  /// computes it).
  key_standing standing_of(const domain::api_key_state& k, const workspace_entry& ws) const;

  /// A principal for an authenticated key: its owner, the owner's role now, its effective
  /// scopes.
  principal principal_of(const key_entry& key) const;

  /// Blocks the pool thread until this node has applied `seq`; false on timeout.
  bool await_applied(std::uint64_t seq) const;

  /// Last uses of these keys (telemetry), by key id order of `ids`.
  std::vector<infra::last_use> last_uses(std::size_t worker,
                                         std::span<const std::string> ids) const;

  // ---- endpoints ----------------------------------------------------------------------------

  // key_routes.cpp
  void create_key(call& c);
  void list_keys(call& c);
  void get_key(call& c);
  void update_key(call& c);
  void rotate_key(call& c);
  void revoke_key(call& c);
  void get_self(call& c);
  void key_requests(call& c);
  void auth_failures(call& c);
  // user_routes.cpp
  void list_users(call& c);
  void invite_user(call& c);
  void get_user(call& c);
  void update_user(call& c);
  void remove_user(call& c);
  void set_password(call& c);
  // session_routes.cpp
  void login(call& c);
  void current_session(call& c);
  void logout(call& c);
  // workspace_routes.cpp
  void get_workspace(call& c);
  void update_workspace(call& c);
  // verify_routes.cpp
  void verify_key(call& c);
  void check(call& c);
  // routes.cpp
  void healthz(call& c);
  void readyz(call& c);
  void openapi(call& c);

  const api_dependencies& deps() const noexcept { return d_; }

 private:
  api_dependencies d_;
};

}  // namespace keyledger::services::http
