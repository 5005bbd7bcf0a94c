#pragma once

// The verifiable log over HTTP (issue 9), docs/audit.md:
//   GET /v1/audit/public-key                      the checkpoint key (no authentication)
//   GET /v1/audit/checkpoints?from=&limit=        signed checkpoints, by size
//   GET /v1/audit/proofs/inclusion?seq=&size=     an event is in the tree of a size
//   GET /v1/audit/proofs/consistency?from_size=&to_size=   a tree is a prefix of a larger one
//   GET /v1/audit/events?after=&limit=            the caller's workspace's events, exact bytes,
//                                                 each with its inclusion proof
// Everything but the public key takes audit:read (a key's scope, a role's audit.read).

#include <cstddef>
#include <functional>
#include <string>

#include "infra/core/audit_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {

class audit_proofs;

/// The audit parts the composition hands to the HTTP layer. References outlive the router.
struct audit_components {
  const audit_proofs& proofs;
  /// The audit store owned by a pool worker (one connection per worker thread).
  std::function<infra::audit_store&(std::size_t worker)> store_for;
  std::string origin;        ///< the log's origin (first line of each checkpoint)
  std::string verifier_key;  ///< "<origin>+<key id>+<base64(0x01 || public key)>"
  std::string public_key;    ///< the 32 bytes
};

}  // namespace keyledger::services

namespace keyledger::services::http {

void add_audit_routes(route_table& table, const audit_components& audit, const runner& run);

}  // namespace keyledger::services::http
