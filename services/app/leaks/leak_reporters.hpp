#pragma once

// Who may report leaked keys: the public keys KEYLEDGER_LEAK_REPORTER_KEYS names, each under
// its identifier, and the check of a report's signature (GitHub secret scanning's
// Github-Public-Key-Identifier / Github-Public-Key-Signature).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "infra/core/config.hpp"
#include "infra/crypto/ecdsa_p256.hpp"

namespace keyledger::services {

/// The outcome of checking a report's signature.
enum class reporter_check {
  ok,
  unknown_key,    ///< no configured key has that identifier
  bad_signature,  ///< not standard base64, not DER, or not a signature of the body by that key
};

/// The configured reporter keys. Immutable once loaded; thread-safe.
class leak_reporters {
 public:
  leak_reporters() = default;

  /// Loads every configured key: an inline PEM as given, a path by reading the file. Throws
  /// infra::error(errc::config) naming the key id (never the PEM) when a file cannot be read or
  /// its text is not a P-256 public key (ecdsa_p256_verifier::from_pem).
  static leak_reporters load(const std::vector<infra::leak_reporter_key>& configured);

  /// Adds a key. Precondition: no key with that id yet.
  void add(std::string key_id, infra::ecdsa_p256_verifier key);

  bool empty() const noexcept { return keys_.empty(); }
  std::size_t size() const noexcept { return keys_.size(); }

  /// Whether `signature_base64` (standard base64 of a DER ECDSA signature) signs exactly `body`
  /// under the key named `key_id`.
  reporter_check check(std::string_view key_id, std::string_view signature_base64,
                       std::string_view body) const;

 private:
  std::vector<std::pair<std::string, infra::ecdsa_p256_verifier>> keys_;
};

}  // namespace keyledger::services
