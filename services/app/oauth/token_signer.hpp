#pragma once

// The port through which OAuth signs and checks access tokens: the application layer needs
// "a JWT over these claims" and "the claims of one of our JWTs", not the keys. Implemented by
// the signing-key ring (ES256 keys from the signing_keys aggregate, infra/crypto/jws).

#include <optional>
#include <string>
#include <string_view>

namespace keyledger::services {

class access_token_signer {
 public:
  virtual ~access_token_signer() = default;
  /// A compact JWS over `claims_json`: header {"alg":"ES256","typ":"at+jwt","kid":<active>}.
  /// Throws infra::error (errc::unavailable) when no key is active yet. Thread-safe.
  virtual std::string sign(std::string_view claims_json) const = 0;
  /// The payload of a token signed by one of the published keys with typ at+jwt and alg ES256;
  /// nullopt for anything else (alg none, HS256, an unknown or retired kid, a bad signature, a
  /// malformed token). Claims are not checked. Thread-safe.
  virtual std::optional<std::string> verify(std::string_view token) const = 0;
  /// Whether sign() would now run without blocking on I/O (the active key's private half is in
  /// memory): then an I/O thread may call it. Thread-safe.
  virtual bool signs_without_io() const { return false; }
};

}  // namespace keyledger::services
