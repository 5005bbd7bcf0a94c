#pragma once

// ECDSA P-256 with SHA-256 over a message, the signature in DER (X9.62 ECDSA-Sig-Value), the
// public key as a PEM SubjectPublicKeyInfo: what GitHub's secret scanning partner program signs
// its leak reports with ("ECDSA-NIST-P256V1-SHA256"). OpenSSL 3 EVP behind a pimpl.

#include <memory>
#include <optional>
#include <string_view>

namespace keyledger::infra {

/// A P-256 public key that checks signatures. Immutable; copies share the key; thread-safe.
class ecdsa_p256_verifier {
 public:
  /// Reads one PEM "PUBLIC KEY" block (SubjectPublicKeyInfo) holding a P-256 point; text around
  /// the block is not allowed beyond whitespace. nullopt for anything else: another curve,
  /// another key type (RSA, Ed25519), a private key, a certificate, garbage.
  static std::optional<ecdsa_p256_verifier> from_pem(std::string_view pem);

  /// Whether `der_signature` is a valid ECDSA signature of SHA-256(`message`) under this key.
  /// Strict DER (no trailing bytes); anything malformed is simply false. Never throws but
  /// std::bad_alloc.
  bool verify(std::string_view message, std::string_view der_signature) const;

 private:
  struct impl;
  explicit ecdsa_p256_verifier(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<const impl> impl_;
};

}  // namespace keyledger::infra
