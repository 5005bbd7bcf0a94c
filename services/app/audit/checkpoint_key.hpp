#pragma once

// The log's checkpoint key: Ed25519, one per log, created by the first server to start, its
// seed sealed under the server secret in audit_checkpoint_key (schema/007_audit.sql). The
// checkpoints it signs are C2SP signed notes (domain/audit/checkpoint.hpp). docs/audit.md.

#include <optional>
#include <string>
#include <string_view>

#include "domain/audit/checkpoint.hpp"
#include "domain/types.hpp"
#include "infra/core/audit_store.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/ed25519.hpp"
#include "infra/crypto/signed_note.hpp"

namespace keyledger::services {

/// The HKDF info of the key that seals the checkpoint key's seed.
inline constexpr std::string_view checkpoint_key_seal_info = "keyledger/audit-checkpoint-key/v1";

/// The verifier key string of a stored key row (public: no server secret needed), e.g. for
/// `keyledger audit public-key`. nullopt if the row's public key is not 32 bytes.
std::optional<std::string> verifier_key_of(const infra::checkpoint_key_row& row);

/// A default origin for a new log: "keyledger/log/" and 22 random base62 characters.
std::string new_log_origin(domain::random_source& random);

/// Checks signed checkpoints with a verifier key only (what an auditor holds).
class checkpoint_verifier {
 public:
  /// The verifier of a key string "<name>+<key id>+<base64(0x01 || public key)>", if it is one
  /// whose key id matches its name and key.
  static std::optional<checkpoint_verifier> parse(std::string_view verifier_key);

  /// The checkpoint `note` signs, if it is a well-formed signed checkpoint of this log (origin =
  /// the key's name) carrying a valid signature of this key; else why not, in words.
  domain::result<domain::audit::checkpoint, std::string> open(std::string_view note) const;

  const std::string& origin() const noexcept { return verifier_.name(); }

 private:
  explicit checkpoint_verifier(infra::note_verifier v) : verifier_(std::move(v)) {}
  infra::note_verifier verifier_;
};

class checkpoint_key {
 public:
  checkpoint_key(std::string origin, infra::ed25519_key key);

  /// The stored key, or a new one stored under `origin_if_new` if the log has none (the first
  /// server to store wins; every other one loads the winner's). Throws infra::error(errc::config)
  /// when the stored seed does not open with this sealer (another server secret) or does not
  /// match the stored public key.
  static checkpoint_key load_or_create(infra::audit_store& store,
                                       const infra::response_sealer& sealer,
                                       std::string_view origin_if_new);

  /// The log's origin: the first line of every checkpoint, and the key's name.
  const std::string& origin() const noexcept { return origin_; }
  /// "<origin>+<key id>+<base64(0x01 || public key)>", what an auditor verifies with.
  const std::string& verifier_key() const noexcept { return verifier_key_; }
  const infra::ed25519_public_key& public_key() const noexcept { return key_.public_key(); }

  /// The signed note of `c` (whose origin must be origin()).
  std::string sign(const domain::audit::checkpoint& c) const;

 private:
  std::string origin_;
  infra::ed25519_key key_;
  std::string verifier_key_;
};

}  // namespace keyledger::services
