#include "infra/crypto/aead.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"

namespace keyledger::infra {
namespace {

std::string hex_of(std::string_view bytes) {
  return to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                              bytes.size()));
}

std::string bytes_of(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  EXPECT_TRUE(from_hex(
      hex, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), out.size())));
  return out;
}

response_sealer sealer_for(std::string_view info) {
  return response_sealer(derive_key("server secret of 32 bytes or more", info));
}

// ---- derive_key (HKDF-SHA256, empty salt) ---------------------------------------------------

TEST(derive_key, rfc5869_test_case_3) {
  // RFC 5869 A.3: SHA-256, IKM = 22 x 0x0b, salt and info empty, L = 42.
  const secret okm = derive_key(std::string(22, '\x0b'), "", 42);
  EXPECT_EQ(hex_of(okm.reveal()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(derive_key, with_info) {
  // Computed independently (Python hmac/hashlib, RFC 5869 extract-then-expand, salt = 32 zeros).
  EXPECT_EQ(hex_of(derive_key(std::string(22, '\x0b'), "keyledger/idempotency/v1").reveal()),
            "8b703099ef8dcd1967a959b3a44256d86ba8368516268f696b8820d7c75f0ed3");
  EXPECT_EQ(hex_of(derive_key("server-secret", "keyledger/idempotency/v1").reveal()),
            "1c702bcaec8178a312b81882b4b59d5946ef595964cdd391da9a94570cbf8ff2");
}

TEST(derive_key, different_info_gives_independent_keys) {
  const secret a = derive_key("server-secret", "keyledger/idempotency/v1");
  const secret b = derive_key("server-secret", "keyledger/other/v1");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_FALSE(a.equals(b.reveal()));
  // A shorter output is a prefix of the longer one (HKDF-Expand), so length is not a domain
  // separator: each purpose needs its own info.
  EXPECT_EQ(derive_key("server-secret", "x", 16).reveal(),
            derive_key("server-secret", "x", 32).reveal().substr(0, 16));
}

TEST(derive_key, refuses_impossible_lengths_and_an_empty_secret) {
  EXPECT_THROW(derive_key("server-secret", "x", 0), error);
  EXPECT_THROW(derive_key("server-secret", "x", 255 * 32 + 1), error);
  EXPECT_EQ(derive_key("server-secret", "x", 255 * 32).size(), 255u * 32u);
  EXPECT_THROW(derive_key("", "x"), error);
}

// ---- response_sealer (AES-256-GCM) ----------------------------------------------------------

TEST(response_sealer, opens_the_gcm_specification_vector) {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV,
  // associated data, 60-byte plaintext), laid out as nonce || ciphertext || tag.
  const response_sealer sealer(
      secret(bytes_of("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")));
  const std::string sealed = bytes_of(
      "cafebabefacedbaddecaf888"
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056"
      "828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  const auto opened = sealer.open(sealed, bytes_of("feedfacedeadbeeffeedfacedeadbeefabaddad2"));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(hex_of(*opened),
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e"
            "2449a6b525b16aedf5aa0de657ba637b39");
}

TEST(response_sealer, round_trip) {
  const auto sealer = sealer_for("keyledger/idempotency/v1");
  const std::string body = "{\"id\":\"key_1\",\"key\":\"kl_live_secret\"}";
  const std::string sealed = sealer.seal(body, "key_admin\nidem-1");
  EXPECT_EQ(sealed.size(), 12 + body.size() + 16);
  EXPECT_EQ(sealed.find("kl_live_secret"), std::string::npos);
  EXPECT_EQ(sealer.open(sealed, "key_admin\nidem-1"), body);
}

TEST(response_sealer, empty_plaintext_and_empty_associated_data) {
  const auto sealer = sealer_for("keyledger/idempotency/v1");
  const std::string sealed = sealer.seal("", "");
  EXPECT_EQ(sealed.size(), 28u);
  EXPECT_EQ(sealer.open(sealed, ""), std::string());
  EXPECT_EQ(sealer.open(sealer.seal("body", ""), ""), "body");
  EXPECT_EQ(sealer.open(sealed, "x"), std::nullopt);
}

TEST(response_sealer, any_flipped_bit_is_refused) {
  const auto sealer = sealer_for("keyledger/idempotency/v1");
  const std::string sealed = sealer.seal("a stored response", "scope\nkey");
  // Every byte: nonce, ciphertext and tag.
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (const unsigned char bit : {0x01, 0x80}) {
      std::string tampered = sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ bit);
      EXPECT_EQ(sealer.open(tampered, "scope\nkey"), std::nullopt) << "byte " << i;
    }
  }
  EXPECT_EQ(sealer.open(sealed, "scope\nkey"), "a stored response");
}

TEST(response_sealer, wrong_associated_data_is_refused) {
  const auto sealer = sealer_for("keyledger/idempotency/v1");
  const std::string sealed = sealer.seal("response", "key_a\nidem-1");
  EXPECT_EQ(sealer.open(sealed, "key_b\nidem-1"), std::nullopt);
  EXPECT_EQ(sealer.open(sealed, "key_a\nidem-2"), std::nullopt);
  EXPECT_EQ(sealer.open(sealed, ""), std::nullopt);
  EXPECT_EQ(sealer.open(sealed, "key_a\nidem-1\n"), std::nullopt);
}

TEST(response_sealer, wrong_key_is_refused) {
  const std::string sealed = sealer_for("keyledger/idempotency/v1").seal("response", "ad");
  EXPECT_EQ(sealer_for("keyledger/idempotency/v2").open(sealed, "ad"), std::nullopt);
  const response_sealer other(
      derive_key("another server secret entirely", "keyledger/idempotency/v1"));
  EXPECT_EQ(other.open(sealed, "ad"), std::nullopt);
}

TEST(response_sealer, truncated_or_extended_is_refused) {
  const auto sealer = sealer_for("keyledger/idempotency/v1");
  const std::string sealed = sealer.seal("response", "ad");
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_EQ(sealer.open(sealed.substr(0, n), "ad"), std::nullopt) << "length " << n;
  }
  EXPECT_EQ(sealer.open(sealed + '\0', "ad"), std::nullopt);
  // Dropping the first byte shifts nonce, body and tag.
  EXPECT_EQ(sealer.open(sealed.substr(1), "ad"), std::nullopt);
}

TEST(response_sealer, nonces_differ) {
  const auto sealer = sealer_for("keyledger/idempotency/v1");
  std::set<std::string> nonces;
  std::set<std::string> sealed;
  for (int i = 0; i < 1000; ++i) {
    const std::string s = sealer.seal("same plaintext", "same ad");
    nonces.insert(s.substr(0, 12));
    sealed.insert(s);
  }
  EXPECT_EQ(nonces.size(), 1000u);
  EXPECT_EQ(sealed.size(), 1000u);
}

TEST(response_sealer, refuses_a_key_that_is_not_32_bytes) {
  EXPECT_THROW(response_sealer(secret(std::string(16, 'k'))), error);
  EXPECT_THROW(response_sealer{secret{}}, error);
}

TEST(response_sealer, is_usable_from_several_threads) {
  const auto sealer = sealer_for("keyledger/idempotency/v1");
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string body = "thread " + std::to_string(t) + " message " + std::to_string(i);
        const std::string ad = std::to_string(t);
        if (sealer.open(sealer.seal(body, ad), ad) != body) ++failures[t];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace keyledger::infra
