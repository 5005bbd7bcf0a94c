#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/types.hpp"
#include "infra/core/config.hpp"
#include "infra/core/event_store.hpp"
#include "infra/crypto/secret.hpp"

namespace keyledger::infra {

/// OpenSSL's CSPRNG (RAND_bytes). Aborts the process if the CSPRNG fails: predictable bytes
/// are never returned. Thread-safe.
class openssl_random_source final : public domain::random_source {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

/// OpenSSL's CSPRNG read ahead in blocks of 256 bytes, one block per thread: for identifiers
/// that must be unique and unguessable but are not secrets (a JWT's jti). One RAND_bytes call
/// (its lock and fork check) per 256 bytes instead of per identifier. Never for secrets: the
/// rest of a block waits in memory. Bytes handed out are wiped from the block; a request of
/// more than 64 bytes goes to RAND_bytes directly. Thread-safe.
class identifier_random_source final : public domain::random_source {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

/// The real clock. Thread-safe.
class system_clock final : public domain::clock {
 public:
  domain::timestamp now() const override;
};

/// One-shot SHA-256.
sha256_digest sha256(std::string_view data);

/// Incremental SHA-256 (EVP, RAII). Not thread-safe.
class sha256_hasher {
 public:
  sha256_hasher();
  ~sha256_hasher();
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;
  void update(std::string_view data);
  void update(std::span<const std::uint8_t> data);
  sha256_digest finish();  ///< then the hasher may not be used again

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL headers stay in the .cpp
};

/// Lowercase hex.
std::string to_hex(std::span<const std::uint8_t> bytes);
/// Decodes exactly `out.size()` bytes from 2*out.size() hex characters (either case).
bool from_hex(std::string_view hex, std::span<std::uint8_t> out) noexcept;

/// HMAC-SHA256(server secret, key): the only form in which a key is stored. Thread-safe; the
/// hot path (verification) calls it once per request, so the keyed state is precomputed.
class hmac_key_hasher {
 public:
  explicit hmac_key_hasher(secret server_secret);
  ~hmac_key_hasher();
  hmac_key_hasher(const hmac_key_hasher&) = delete;
  hmac_key_hasher& operator=(const hmac_key_hasher&) = delete;

  sha256_digest hash(std::string_view key) const;
  std::string hash_hex(std::string_view key) const;

 private:
  // The two SHA-256 states keyed with the secret (hmac_key_hasher.cpp); opaque so that
  // OpenSSL's headers stay in the .cpp. The secret itself is not kept: the constructor's copy
  // is wiped when it returns.
  void* template_ctx_;
};

/// The server secret: read from cfg.secret_file if set (must exist, be a regular file, have no
/// group/other permission bits (mode & 077 == 0), at least 32 bytes), else from
/// <data_dir>/server.secret, which is created on first run with 32 CSPRNG bytes (written as 64
/// lowercase hex characters, mode 0600; data_dir made with 0700 if missing) and checked the same
/// way afterwards. The secret is the file's content with one trailing newline removed (for a
/// created file: the 64 hex characters). Creation is atomic (complete file linked into place),
/// so concurrent first starts agree on one secret. Throws infra::error(errc::config) naming the
/// path and the problem, never the content.
secret load_or_create_server_secret(const config& cfg);

/// The server secret as load_or_create_server_secret reads it, but never created: a missing file
/// is infra::error(errc::config). For operator commands whose output only the servers' own secret
/// can use (a sealed signing key): a wrong data dir must fail, not mint a secret of its own.
secret load_server_secret(const config& cfg);

}  // namespace keyledger::infra
