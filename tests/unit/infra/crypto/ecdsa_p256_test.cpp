// ECDSA P-256/SHA-256 verification of leak reports: GitHub's published example, round trips
// with a fresh key, and everything that must be refused (other keys, tampering, loose DER).

#include "infra/crypto/ecdsa_p256.hpp"

#include <gtest/gtest.h>

#include <string>

#include "domain/encoding.hpp"
#include "tests/support/p256_test_signer.hpp"

namespace keyledger::infra {
namespace {

// The example of GitHub's secret scanning partner program documentation (key identifier
// 90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a): a signature made by
// GitHub's own signer, so this checks interoperability, not only a round trip.
const std::string github_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq\n"
    "kCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==\n"
    "-----END PUBLIC KEY-----\n";
const std::string github_payload =
    R"([{"token":"some_token","type":"some_type","url":"some_url"}])";
const std::string github_signature =
    "MEUCIQDKZokqnCjrRtw0tni+2Ltvl/"
    "uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=";

std::string der(const std::string& base64) { return domain::base64_decode(base64).value(); }

TEST(ecdsa_p256, verifies_the_example_github_documents) {
  const auto key = ecdsa_p256_verifier::from_pem(github_pem);
  ASSERT_TRUE(key.has_value());
  EXPECT_TRUE(key->verify(github_payload, der(github_signature)));
  // One byte more, less or different in the body: refused.
  EXPECT_FALSE(key->verify(github_payload + " ", der(github_signature)));
  EXPECT_FALSE(key->verify(github_payload.substr(1), der(github_signature)));
  std::string changed = github_payload;
  changed[12] = 'T';
  EXPECT_FALSE(key->verify(changed, der(github_signature)));
}

TEST(ecdsa_p256, a_fresh_key_verifies_its_own_signatures_and_no_other_keys) {
  const test_support::p256_test_signer signer;
  const test_support::p256_test_signer other;
  const auto key = ecdsa_p256_verifier::from_pem(signer.public_pem());
  ASSERT_TRUE(key.has_value());
  const std::string body = R"([{"token":"kl_live_x","type":"keyledger_api_key"}])";
  EXPECT_TRUE(key->verify(body, signer.sign(body)));
  EXPECT_TRUE(key->verify("", signer.sign("")));
  EXPECT_FALSE(key->verify(body, other.sign(body)));
  EXPECT_FALSE(key->verify(body, der(github_signature)));
  // Copies share the key.
  const auto copy = *key;
  EXPECT_TRUE(copy.verify(body, signer.sign(body)));
}

TEST(ecdsa_p256, malformed_or_non_canonical_signatures_are_false) {
  const auto key = ecdsa_p256_verifier::from_pem(github_pem);
  ASSERT_TRUE(key.has_value());
  const std::string sig = der(github_signature);
  EXPECT_FALSE(key->verify(github_payload, ""));
  EXPECT_FALSE(key->verify(github_payload, sig + std::string(1, '\0')));  // trailing byte
  EXPECT_FALSE(key->verify(github_payload, sig.substr(0, sig.size() - 1)));
  EXPECT_FALSE(key->verify(github_payload, std::string(64, 'x')));  // raw r||s is not DER
  EXPECT_FALSE(key->verify(github_payload, std::string(4096, '\x30')));
  // A long-form length (0x81 0x45) encodes the same SEQUENCE, but not in DER: refused.
  std::string loose = sig;
  ASSERT_EQ(static_cast<unsigned char>(loose[1]), 0x45u);
  loose.insert(1, 1, '\x81');
  EXPECT_FALSE(key->verify(github_payload, loose));
  std::string flipped = sig;
  flipped[10] = static_cast<char>(flipped[10] ^ 0x01);
  EXPECT_FALSE(key->verify(github_payload, flipped));
}

TEST(ecdsa_p256, only_a_p256_public_key_pem_is_a_key) {
  const char* refused[] = {
      "",
      "not a key",
      // P-384
      "-----BEGIN PUBLIC KEY-----\n"
      "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEpv8HwyHv7leGun4J2ZjWHedmkBgMTLXY\n"
      "6K2k7s5T3XTZnYXdQv8JTn5hftrQcQCdNnFLZjOX9/qcqQhevxPoaptegEBWfaqi\n"
      "Cqmb2HK9MorT85CNnLijCC61hUiS3T5L\n"
      "-----END PUBLIC KEY-----\n",
      // Ed25519
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VwAyEAw2OKsSbzuVc9IL8rd6uz1ADzoPNVDHgqmWcUAZ+ulH8=\n"
      "-----END PUBLIC KEY-----\n",
      // A P-256 private key is not what the operator should hand over.
      "-----BEGIN PRIVATE KEY-----\n"
      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJgDCav5OIt+wauId\n"
      "KorhHYg4FbjBh1eDYa1yzD9GozChRANCAATRiFgB/oQ92YzBDzkKd35SavrTBC6+\n"
      "yYNDyTmVEaESE4nydRLyendQRC8kghEBpeKSFjGAr6Te2sktQ1c3V4UX\n"
      "-----END PRIVATE KEY-----\n",
      // Damaged base64 inside the block.
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq\n"
      "-----END PUBLIC KEY-----\n",
  };
  for (const char* pem : refused) {
    EXPECT_FALSE(ecdsa_p256_verifier::from_pem(pem).has_value()) << pem;
  }
  // Text before the block, or two blocks: refused; surrounding whitespace is fine.
  EXPECT_FALSE(ecdsa_p256_verifier::from_pem("junk\n" + github_pem).has_value());
  EXPECT_FALSE(ecdsa_p256_verifier::from_pem(github_pem + github_pem).has_value());
  EXPECT_TRUE(ecdsa_p256_verifier::from_pem("\n  " + github_pem + "\n\n").has_value());
}

}  // namespace
}  // namespace keyledger::infra
