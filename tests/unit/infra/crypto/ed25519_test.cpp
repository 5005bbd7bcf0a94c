// Ed25519 through OpenSSL: the RFC 8032 section 7.1 vectors, round trips, and refusals.

#include "infra/crypto/ed25519.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "infra/crypto/crypto.hpp"

namespace keyledger::infra {
namespace {

std::string unhex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  EXPECT_TRUE(from_hex(hex, std::span(reinterpret_cast<std::uint8_t*>(out.data()), out.size())));
  return out;
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct rfc8032_vector {
  const char* name;
  std::string secret_key;  // the 32-byte seed
  std::string public_key;
  std::string message;
  std::string signature;
};

// RFC 8032 section 7.1, TEST 1 (empty message), TEST 2 (one byte), TEST 3 (two bytes).
const std::vector<rfc8032_vector> vectors = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(ed25519, the_rfc8032_vectors_give_their_public_keys_and_signatures) {
  for (const auto& v : vectors) {
    // Given the seed of the vector
    const auto key = ed25519_key::from_seed(secret(unhex(v.secret_key)));
    ASSERT_TRUE(key.has_value()) << v.name;
    // Then its public key and its (deterministic) signature are the RFC's
    EXPECT_EQ(to_hex(key->public_key().bytes()), v.public_key) << v.name;
    const std::string message = unhex(v.message);
    EXPECT_EQ(to_hex(key->sign(message)), v.signature) << v.name;
    // And the RFC's signature verifies under the RFC's public key alone
    const auto pub = ed25519_public_key::from_bytes(as_bytes(unhex(v.public_key)));
    ASSERT_TRUE(pub.has_value());
    EXPECT_TRUE(pub->verify(message, as_bytes(unhex(v.signature)))) << v.name;
    EXPECT_EQ(*pub, key->public_key());
    // And the seed comes back out as it went in
    EXPECT_TRUE(key->seed().equals(unhex(v.secret_key))) << v.name;
  }
}

TEST(ed25519, a_signature_does_not_verify_for_another_message_key_or_byte) {
  const auto& v = vectors[1];
  const auto pub = *ed25519_public_key::from_bytes(as_bytes(unhex(v.public_key)));
  const std::string message = unhex(v.message);
  const std::string signature = unhex(v.signature);
  ASSERT_TRUE(pub.verify(message, as_bytes(signature)));
  EXPECT_FALSE(pub.verify("", as_bytes(signature)));
  EXPECT_FALSE(pub.verify(message + message, as_bytes(signature)));
  EXPECT_FALSE(pub.verify("\x73", as_bytes(signature)));
  const auto other = *ed25519_public_key::from_bytes(as_bytes(unhex(vectors[0].public_key)));
  EXPECT_FALSE(other.verify(message, as_bytes(signature)));
  for (std::size_t i = 0; i < signature.size(); ++i) {
    std::string spoiled = signature;
    spoiled[i] = static_cast<char>(spoiled[i] ^ 0x01);
    EXPECT_FALSE(pub.verify(message, as_bytes(spoiled))) << "byte " << i;
  }
}

TEST(ed25519, a_signature_of_the_wrong_length_is_refused) {
  const auto& v = vectors[1];
  const auto pub = *ed25519_public_key::from_bytes(as_bytes(unhex(v.public_key)));
  const std::string signature = unhex(v.signature);
  EXPECT_FALSE(pub.verify(unhex(v.message), {}));
  EXPECT_FALSE(pub.verify(unhex(v.message), as_bytes(signature.substr(0, 63))));
  EXPECT_FALSE(pub.verify(unhex(v.message), as_bytes(signature + '\0')));
}

TEST(ed25519, a_public_key_or_seed_of_the_wrong_length_is_refused) {
  for (const std::size_t n : {0u, 31u, 33u, 64u}) {
    const std::string bytes(n, '\x01');
    EXPECT_FALSE(ed25519_public_key::from_bytes(as_bytes(bytes)).has_value()) << n;
    EXPECT_FALSE(ed25519_key::from_seed(secret(bytes)).has_value()) << n;
  }
}

TEST(ed25519, garbage_key_bytes_verify_nothing_and_throw_nothing) {
  // OpenSSL takes any 32 bytes as a raw Ed25519 public key and decodes the point only when it
  // verifies: garbage (a point off the curve, a non-canonical y) fails there, quietly.
  const auto& v = vectors[1];
  for (const char fill : {'\x00', '\x02', '\xff'}) {
    const auto pub = ed25519_public_key::from_bytes(as_bytes(std::string(32, fill)));
    ASSERT_TRUE(pub.has_value());
    EXPECT_FALSE(pub->verify(unhex(v.message), as_bytes(unhex(v.signature))));
  }
}

TEST(ed25519, generated_keys_are_fresh_and_sign_what_they_verify) {
  const auto a = ed25519_key::generate();
  const auto b = ed25519_key::generate();
  EXPECT_NE(a.public_key(), b.public_key());
  EXPECT_FALSE(a.seed().equals(b.seed().reveal()));
  const auto sig = a.sign("checkpoint");
  EXPECT_TRUE(a.public_key().verify("checkpoint", sig));
  EXPECT_FALSE(b.public_key().verify("checkpoint", sig));
  // The seed is the whole private key: it makes the same key again.
  const auto again = ed25519_key::from_seed(a.seed());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->public_key(), a.public_key());
  EXPECT_EQ(again->sign("checkpoint"), sig);
}

TEST(ed25519, a_moved_key_still_signs) {
  auto key = ed25519_key::generate();
  const auto pub = key.public_key();
  ed25519_key moved = std::move(key);
  EXPECT_TRUE(pub.verify("m", moved.sign("m")));
}

}  // namespace
}  // namespace keyledger::infra
