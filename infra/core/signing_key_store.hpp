#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keyledger::infra {

/// The sealed private keys of the token signing keys, by kid (port). The bytes are opaque here:
/// services seal them (AES-256-GCM under a key derived from the server secret, the kid as
/// associated data) before they arrive and open them after get(). Implementations:
/// pg_signing_key_store (table signing_key_secrets, schema/006) and the in-memory fake in
/// tests/support. Not thread-safe: one instance per thread.
class signing_key_store {
 public:
  virtual ~signing_key_store() = default;

  /// Stores `sealed` under `kid`. A key is written once: putting the same bytes again (a retry)
  /// changes nothing; other bytes under a stored kid throw infra::error(errc::conflict) and
  /// change nothing. A kid that is not "sig_" + 22 base62, or empty bytes: errc::bad_request.
  virtual void put(std::string_view kid, std::string_view sealed) = 0;

  /// The sealed bytes stored under `kid`, or nullopt.
  virtual std::optional<std::string> get(std::string_view kid) = 0;
};

}  // namespace keyledger::infra
