#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "infra/crypto/secret.hpp"

namespace keyledger::infra {

/// HKDF-SHA256 (RFC 5869) with an empty salt: `length` bytes of key material for `info`
/// derived from the server secret. Each use of the server secret gets its own `info`, so
/// keys for different purposes are independent.
secret derive_key(std::string_view server_secret, std::string_view info, std::size_t length = 32);

/// AES-256-GCM with a random 96-bit nonce per message. Used to keep the stored response of an
/// idempotent request (which may hold a newly created key) unreadable at rest. Thread-safe.
class response_sealer {
 public:
  /// key: 32 bytes, e.g. derive_key(server_secret, "keyledger/idempotency/v1").
  explicit response_sealer(secret key);

  /// nonce (12 bytes) || ciphertext || tag (16 bytes). `associated_data` is authenticated, not
  /// stored (the caller passes the same value to open: e.g. scope + "\n" + idempotency key).
  std::string seal(std::string_view plaintext, std::string_view associated_data) const;

  /// The plaintext, or nullopt if the bytes were altered, truncated, or sealed for other
  /// associated data or under another key.
  std::optional<std::string> open(std::string_view sealed,
                                  std::string_view associated_data) const;

 private:
  secret key_;
};

}  // namespace keyledger::infra
