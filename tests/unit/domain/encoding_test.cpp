#include "domain/encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace keyledger::domain {
namespace {

TEST(encoding, base64url_matches_rfc4648_test_vectors_without_padding) {
  // RFC 4648 section 10, in the URL-safe alphabet and without '='.
  EXPECT_EQ(base64url_encode(std::string_view("")), "");
  EXPECT_EQ(base64url_encode(std::string_view("f")), "Zg");
  EXPECT_EQ(base64url_encode(std::string_view("fo")), "Zm8");
  EXPECT_EQ(base64url_encode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(base64url_encode(std::string_view("foob")), "Zm9vYg");
  EXPECT_EQ(base64url_encode(std::string_view("fooba")), "Zm9vYmE");
  EXPECT_EQ(base64url_encode(std::string_view("foobar")), "Zm9vYmFy");
  // The two characters that differ from base64: '-' and '_'.
  EXPECT_EQ(base64url_encode(std::string_view("\xfb\xff", 2)), "-_8");
}

TEST(encoding, base64url_round_trips_every_byte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 17) {
    const auto text = base64url_encode(std::string_view(all).substr(0, n));
    EXPECT_EQ(base64url_decode(text), all.substr(0, n));
  }
}

TEST(encoding, base64url_decode_refuses_what_encode_never_writes) {
  EXPECT_EQ(base64url_decode("Zm9v="), std::nullopt);  // padding
  EXPECT_EQ(base64url_decode("Zm+v"), std::nullopt);   // base64, not base64url
  EXPECT_EQ(base64url_decode("Zm9vY"), std::nullopt);  // impossible length
  EXPECT_EQ(base64url_decode("Zh"), std::nullopt);     // "f" is Zg: stray low bits
  EXPECT_EQ(base64url_decode("Zm9"), std::nullopt);    // "fo" is Zm8
  EXPECT_EQ(base64url_decode("Zg"), std::string("f"));
}

TEST(encoding, hex_and_case_helpers) {
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  EXPECT_EQ(hex_value('g'), -1);
  EXPECT_EQ(base64url_value('_'), 63);
  EXPECT_EQ(base64url_value('='), -1);
  EXPECT_TRUE(iequals_ascii("Content-Type", "content-type"));
  EXPECT_FALSE(iequals_ascii("Content-Type", "content-typ"));
  EXPECT_FALSE(iequals_ascii("\xC3\x89", "\xC3\xA9"));  // ASCII only
}

TEST(encoding, base64_decodes_the_standard_alphabet_with_padding_only) {
  EXPECT_EQ(base64_decode("Y2xpX2E6a2xjc18rLw=="), std::optional<std::string>("cli_a:klcs_+/"));
  EXPECT_EQ(base64_decode("Pz8/"), std::optional<std::string>("???"));
  EXPECT_EQ(base64_decode("Zg=="), std::optional<std::string>("f"));
  EXPECT_EQ(base64_decode("Zm8="), std::optional<std::string>("fo"));
  EXPECT_EQ(base64_decode("Zg"), std::nullopt) << "padding is required";
  EXPECT_EQ(base64_decode("Zg="), std::nullopt);
  EXPECT_EQ(base64_decode("Z==="), std::nullopt);
  EXPECT_EQ(base64_decode("Pz8_"), std::nullopt) << "not the url-safe alphabet";
  EXPECT_EQ(base64_decode("Zh=="), std::nullopt) << "non-zero trailing bits";
  EXPECT_EQ(base64_decode("Zm 8="), std::nullopt);
}

TEST(encoding, base64_matches_rfc4648_test_vectors_with_padding) {
  EXPECT_EQ(base64_encode(std::string_view("")), "");
  EXPECT_EQ(base64_encode(std::string_view("f")), "Zg==");
  EXPECT_EQ(base64_encode(std::string_view("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(std::string_view("foob")), "Zm9vYg==");
  EXPECT_EQ(base64_encode(std::string_view("fooba")), "Zm9vYmE=");
  EXPECT_EQ(base64_encode(std::string_view("foobar")), "Zm9vYmFy");
  // The two characters that differ from base64url: '+' and '/'.
  EXPECT_EQ(base64_encode(std::string_view("\xfb\xff", 2)), "+/8=");
  const std::uint8_t bytes[] = {0xfb, 0xef, 0xbe};
  EXPECT_EQ(base64_encode(std::span<const std::uint8_t>(bytes)), "++++");
}

TEST(encoding, base64_round_trips_every_byte_and_length) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const auto text = base64_encode(std::string_view(all).substr(0, n));
    EXPECT_EQ(text.size() % 4, 0u);
    EXPECT_EQ(base64_decode(text), all.substr(0, n));
  }
}

TEST(encoding, a_keyed_hash_is_64_lowercase_hex_characters) {
  EXPECT_TRUE(is_keyed_hash(std::string(32, '0') + std::string(32, 'f')));
  EXPECT_FALSE(is_keyed_hash(std::string(63, 'a')));
  EXPECT_FALSE(is_keyed_hash(std::string(65, 'a')));
  EXPECT_FALSE(is_keyed_hash(std::string(63, 'a') + "A"));  // uppercase: not as hashers write
  EXPECT_FALSE(is_keyed_hash(std::string(63, 'a') + "g"));
  EXPECT_FALSE(is_keyed_hash(""));
}

}  // namespace
}  // namespace keyledger::domain
