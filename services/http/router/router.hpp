#pragma once

// The router: route tables per capability, matching, 404/405, Keyledger-Version, query
// parsing, the client address, pluggable authenticators and the access log. Endpoint groups
// (services/http/keys, people, workspace, system; later oauth, audit, webhooks, console) each
// add their own table; the router knows none of them.

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "domain/net.hpp"
#include "infra/core/log.hpp"
#include "infra/http/server.hpp"
#include "services/http/router/call.hpp"

namespace keyledger::services::http {

/// A kind of credential. An operation lists those it accepts in order of precedence: the
/// first one the request presents authenticates it (a key in Authorization wins over a session
/// cookie: a script's key is not a browser's session).
enum class credential {
  api_key,  ///< Authorization: Bearer <key> (or the bare key)
  session,  ///< the keyledger_session cookie (+ X-CSRF-Token on writes)
};

/// What an endpoint does with a routed, authenticated call.
using handler = std::function<void(call&)>;

/// One method of one path. The methods of a path are exactly those docs/openapi.json lists
/// (routes_test checks it): a 405 answer's Allow header is built from the table.
struct operation {
  std::string_view method;
  /// Accepted credentials, in precedence order; empty: no authentication.
  std::vector<credential> accepts;
  /// The scope the API-key authenticator requires of a key ("" = none at authentication: the
  /// endpoint decides, e.g. audit:read OR keys:read). The role is checked by the endpoint.
  std::string_view scope;
  std::vector<std::string_view> query;  ///< known query parameters
  bool query_opaque = false;            ///< the query is not ours: not parsed, not checked
  bool idempotent = false;              ///< a command: Idempotency-Key applies
  handler handle;
};

struct route {
  /// Template: literal segments, "{id}" (one segment: call::path_id), one other "{name}" (one
  /// segment: call::path_sub_id), "{path}" (the rest).
  std::string_view path;
  std::vector<operation> operations;
  infra::log_level log_level = infra::log_level::info;
};

/// The routes of every group, matched in the order they were added (a literal path must come
/// before a template that would also match it: /v1/users/set-password before /v1/users/{id}).
class route_table {
 public:
  /// Adds a path with its operations. Precondition: the path is not in the table yet.
  void add(route r);
  const std::vector<route>& routes() const noexcept { return routes_; }

 private:
  std::vector<route> routes_;
};

/// Binds a member function of a group's shared endpoint object to a handler.
template <class T>
handler bind(std::shared_ptr<T> self, void (T::*fn)(call&)) {
  return [self = std::move(self), fn](call& c) { ((*self).*fn)(c); };
}

/// Establishes who is calling (call::who) from one kind of credential.
class authenticator {
 public:
  virtual ~authenticator() = default;
  virtual credential kind() const noexcept = 0;
  /// Whether the request carries this kind of credential at all (it may still be invalid).
  virtual bool presented(const infra::http_request& req) const = 0;
  /// Checks the credential for `op`. On success sets c->who (and what else it knows) and calls
  /// `next` - on this thread or on a pool thread; on failure answers through c->respond itself.
  virtual void authenticate(const std::shared_ptr<call>& c, const operation& op,
                            std::function<void()> next) const = 0;
};

/// Routes requests to the operations of a table. Thread-safe once constructed (immutable).
class router {
 public:
  /// `trusted_proxies`: peers whose X-Forwarded-For is believed (client_ip_of).
  router(route_table table, std::vector<std::unique_ptr<authenticator>> authenticators,
         std::vector<domain::cidr> trusted_proxies);

  void handle(infra::http_request&& req, infra::responder respond) const;

 private:
  const authenticator* authenticator_for(credential kind) const noexcept;

  route_table table_;
  std::vector<std::unique_ptr<authenticator>> authenticators_;
  std::vector<domain::cidr> trusted_proxies_;
};

}  // namespace keyledger::services::http
