#pragma once

// Ed25519 signatures (RFC 8032, PureEdDSA over edwards25519) through OpenSSL 3 EVP
// (EVP_PKEY_ED25519), for the signed checkpoints of the audit log (issue 9). Nothing of OpenSSL
// in this header.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "infra/crypto/secret.hpp"

namespace keyledger::infra {

inline constexpr std::size_t ed25519_public_key_bytes = 32;
inline constexpr std::size_t ed25519_seed_bytes = 32;
inline constexpr std::size_t ed25519_signature_bytes = 64;

using ed25519_signature = std::array<std::uint8_t, ed25519_signature_bytes>;

/// An Ed25519 public key. Immutable; copies share the key; thread-safe.
class ed25519_public_key {
 public:
  using bytes_type = std::array<std::uint8_t, ed25519_public_key_bytes>;

  /// The key whose RFC 8032 (5.1.5) encoding is `bytes`. nullopt unless exactly 32 bytes that
  /// OpenSSL takes; a point that does not decode makes every verification fail.
  static std::optional<ed25519_public_key> from_bytes(std::span<const std::uint8_t> bytes);

  /// The 32-byte encoding.
  const bytes_type& bytes() const noexcept;

  /// Whether `signature` is a valid Ed25519 signature of `message` by this key (RFC 8032
  /// 5.1.7). False for a signature of any length but 64. Throws infra::error(errc::internal)
  /// only should OpenSSL fail to start a verification.
  bool verify(std::string_view message, std::span<const std::uint8_t> signature) const;

  /// Same key (same encoding).
  bool operator==(const ed25519_public_key& other) const noexcept;

 private:
  struct impl;
  friend struct ed25519_access;  // ed25519.cpp: builds keys from OpenSSL handles
  explicit ed25519_public_key(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<const impl> impl_;
};

/// An Ed25519 key pair (a signer). Immutable once made; signing is thread-safe. Not copyable (the
/// private key is not duplicated); movable.
class ed25519_key {
 public:
  /// A fresh key pair from OpenSSL's CSPRNG. Throws infra::error(errc::internal) if OpenSSL
  /// fails.
  static ed25519_key generate();

  /// The key pair of the 32-byte private key (RFC 8032's secret key, the seed the signing
  /// scalar and prefix are hashed from). nullopt for any other length.
  static std::optional<ed25519_key> from_seed(const secret& seed);

  /// The 32-byte seed. A secret: sealed before it is stored, never logged.
  secret seed() const;

  /// The public half.
  const ed25519_public_key& public_key() const noexcept;

  /// The 64-byte signature of `message` (RFC 8032 5.1.6; deterministic). Throws
  /// infra::error(errc::internal) if OpenSSL fails.
  ed25519_signature sign(std::string_view message) const;

  ~ed25519_key();
  ed25519_key(ed25519_key&&) noexcept;
  ed25519_key& operator=(ed25519_key&&) noexcept;
  ed25519_key(const ed25519_key&) = delete;
  ed25519_key& operator=(const ed25519_key&) = delete;

 private:
  struct impl;
  friend struct ed25519_access;
  explicit ed25519_key(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra
