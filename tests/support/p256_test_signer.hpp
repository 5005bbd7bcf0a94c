#pragma once

// A P-256 key pair for tests that play GitHub's secret scanning: signs a body as GitHub does
// (ECDSA P-256 with SHA-256, DER) and hands out the public key as PEM. Tests only: keyledger
// itself never signs with ECDSA.

#include <memory>
#include <string>
#include <string_view>

namespace keyledger::test_support {

class p256_test_signer {
 public:
  /// A fresh key pair from OpenSSL's CSPRNG.
  p256_test_signer();
  ~p256_test_signer();
  p256_test_signer(p256_test_signer&&) noexcept;
  p256_test_signer& operator=(p256_test_signer&&) noexcept;

  /// The public key, a PEM "PUBLIC KEY" block (SubjectPublicKeyInfo).
  std::string public_pem() const;
  /// The DER signature of SHA-256(message).
  std::string sign(std::string_view message) const;
  /// sign() in standard base64, as the Github-Public-Key-Signature header carries it.
  std::string sign_base64(std::string_view message) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::test_support
