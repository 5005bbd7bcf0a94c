#include "domain/keys/key_format.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fakes.hpp"

namespace keyledger::domain {
namespace {

using namespace std::string_literals;
using testing::scripted_random;
using testing::seeded_random;

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// An independent encoding of the checksum, written from the spec rather than shared with the
// implementation: 6 base62 digits, most significant first.
std::string checksum_text(std::uint32_t crc) {
  std::string out(6, '0');
  std::uint64_t v = crc;
  for (int i = 5; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = base62_alphabet[v % 62];
    v /= 62;
  }
  return out;
}

// Builds "<prefix>_<env>_<random>" plus its correct checksum, whatever the parts contain.
std::string with_checksum(const std::string& head) { return head + checksum_text(crc32(head)); }

const std::string random32 =
    "AbC1"
    "0123456789"
    "ABCDEFGHIJ"
    "uvwxyzXY";  // 32 base62 chars

std::string valid_key() { return with_checksum("kl_live_" + random32); }

key_format_error error_of(std::string_view key) {
  const auto r = parse_key(key);
  EXPECT_FALSE(r.ok()) << "accepted: " << key;
  return r.ok() ? key_format_error::empty : r.error();
}

// ---- crc32 ---------------------------------------------------------------------------------

TEST(crc32, given_the_standard_check_input_then_cbf43926) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926U);
}

TEST(crc32, given_known_vectors_then_matches_zlib) {
  EXPECT_EQ(crc32(""), 0x00000000U);
  EXPECT_EQ(crc32("a"), 0xE8B7BE43U);
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339U);
  EXPECT_EQ(crc32("\0"s), 0xD202EF8DU);
  EXPECT_EQ(crc32("\xff\xff\xff\xff"s), 0xFFFFFFFFU);
}

// ---- prefixes ------------------------------------------------------------------------------

TEST(valid_key_prefix, given_lowercase_letter_then_2_to_10_alnum_then_accepted) {
  for (const std::string_view ok : {"kl", "qg", "a1", "abcdefghij", "x0y1z2", "kl9"}) {
    EXPECT_TRUE(valid_key_prefix(ok)) << ok;
  }
}

TEST(valid_key_prefix, given_anything_else_then_refused) {
  for (const std::string_view bad : {"", "k", "abcdefghijk", "KL", "Kl", "kL", "1k", "k_", "k-l",
                                     "k l", "k.l", "_kl", "kl\n", "k\xc3\xa9"}) {
    EXPECT_FALSE(valid_key_prefix(bad)) << bad;
  }
  EXPECT_FALSE(valid_key_prefix("k\0l"s));
}

// ---- generation ----------------------------------------------------------------------------

TEST(generate_key, given_prefix_and_env_then_prefix_env_and_38_base62_body) {
  // Given a deterministic source
  seeded_random random{7};
  for (const auto env : {environment::live, environment::test}) {
    // When a key is generated
    const std::string key = generate_key("kl", env, random);
    const std::string head = "kl_"s + std::string(to_string(env)) + "_";
    // Then it has the documented shape
    ASSERT_EQ(key.size(), head.size() + key_body_length);
    EXPECT_EQ(key.substr(0, head.size()), head);
    for (const char c : key.substr(head.size())) EXPECT_TRUE(is_base62(c)) << key;
    // And parses back to its parts
    const auto parsed = parse_key(key);
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
    EXPECT_EQ(parsed->prefix, "kl");
    EXPECT_EQ(parsed->env, env);
    EXPECT_EQ(parsed->body, key.substr(head.size()));
  }
}

TEST(generate_key, given_a_key_then_its_last_six_characters_are_the_crc_of_the_rest) {
  seeded_random random{8};
  for (int i = 0; i < 200; ++i) {
    const std::string key = generate_key("qg", environment::test, random);
    const std::string head = key.substr(0, key.size() - 6);
    EXPECT_EQ(key.substr(key.size() - 6), checksum_text(crc32(head))) << key;
  }
}

TEST(generate_key, given_one_source_when_called_repeatedly_then_keys_all_differ) {
  seeded_random random{9};
  std::set<std::string> keys;
  for (int i = 0; i < 5000; ++i) keys.insert(generate_key("kl", environment::live, random));
  EXPECT_EQ(keys.size(), 5000u);
}

TEST(generate_key, given_many_keys_then_every_base62_character_is_roughly_equally_likely) {
  // Given 4000 keys = 128000 random characters, about 2065 expected per character
  seeded_random random{10};
  std::array<int, 256> counts{};
  for (int i = 0; i < 4000; ++i) {
    const std::string key = generate_key("kl", environment::live, random);
    for (const char c : key.substr(8, key_random_length)) ++counts[static_cast<std::uint8_t>(c)];
  }
  // Then every alphabet character appears, none far from the mean (a modulo bias of 256 % 62
  // would make the first 8 characters ~25% more frequent), and nothing else appears
  int total = 0;
  for (const char c : base62_alphabet) {
    const int n = counts[static_cast<std::uint8_t>(c)];
    EXPECT_GT(n, 1800) << c;
    EXPECT_LT(n, 2330) << c;
    total += n;
  }
  EXPECT_EQ(total, 4000 * 32);
}

TEST(generate_key, given_bytes_of_248_and_above_then_they_are_rejected_not_folded) {
  // Given a source whose only acceptable byte is 61 (every other is >= 248)
  scripted_random random{{248, 249, 250, 251, 252, 253, 254, 255, 61}};
  const std::string key = generate_key("kl", environment::test, random);
  // Then every random character is 'z', and the key is still valid
  EXPECT_EQ(key.substr(8, key_random_length), std::string(key_random_length, 'z'));
  EXPECT_TRUE(parse_key(key).ok());
}

TEST(generate_key, given_byte_247_and_0_then_they_map_to_last_and_first_characters) {
  scripted_random random{{247, 0}};
  const std::string key = generate_key("kl", environment::test, random);
  std::string expected;
  for (int i = 0; i < 16; ++i) expected += "z0";
  EXPECT_EQ(key.substr(8, key_random_length), expected);
}

TEST(generate_key, given_a_ten_character_prefix_then_the_key_has_the_maximum_length) {
  seeded_random random{11};
  const std::string key = generate_key("abcdefghij", environment::live, random);
  EXPECT_EQ(key.size(), key_max_length);
  EXPECT_TRUE(parse_key(key).ok());
}

TEST(generate_key, given_an_invalid_prefix_then_throws_instead_of_minting_a_bad_key) {
  seeded_random random{12};
  for (const std::string_view bad : {"", "K", "KL", "a_b", "abcdefghijk"}) {
    EXPECT_THROW(generate_key(bad, environment::live, random), std::invalid_argument) << bad;
  }
}

TEST(visible_start, given_a_parsed_key_then_prefix_env_and_four_body_characters) {
  const std::string key = valid_key();
  const auto parsed = parse_key(key);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(visible_start(parsed.value()), "kl_live_AbC1");
}

// ---- parsing: every error kind -------------------------------------------------------------

TEST(parse_key, is_noexcept) { static_assert(noexcept(parse_key(""))); }

TEST(parse_key, given_a_correct_key_then_accepted_with_views_into_it) {
  const std::string key = valid_key();
  const auto parsed = parse_key(key);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->prefix.data(), key.data());
  EXPECT_EQ(parsed->env, environment::live);
  EXPECT_EQ(parsed->body.size(), key_body_length);
  EXPECT_EQ(parsed->body.data(), key.data() + 8);
}

TEST(parse_key, given_nothing_then_empty) { EXPECT_EQ(error_of(""), key_format_error::empty); }

TEST(parse_key, given_more_than_the_maximum_length_then_too_long) {
  EXPECT_EQ(error_of(std::string(key_max_length + 1, 'a')), key_format_error::too_long);
  EXPECT_EQ(error_of(valid_key() + std::string(20, 'A')), key_format_error::too_long);
  EXPECT_EQ(error_of(std::string(100000, '_')), key_format_error::too_long);
  // An 11-character prefix with a full body cannot fit in any well-formed key
  EXPECT_EQ(error_of(with_checksum("abcdefghijk_live_" + random32)), key_format_error::too_long);
}

TEST(parse_key, given_not_three_underscore_separated_parts_then_bad_structure) {
  const std::string key = valid_key();
  EXPECT_EQ(error_of("klliveAbC1"), key_format_error::bad_structure);
  EXPECT_EQ(error_of("kl_live"), key_format_error::bad_structure);
  EXPECT_EQ(error_of("kl_liveAbC1"), key_format_error::bad_structure);
  EXPECT_EQ(error_of("kl_live_AbC1_x"), key_format_error::bad_structure);
  EXPECT_EQ(error_of("___"), key_format_error::bad_structure);
  EXPECT_EQ(error_of("_"), key_format_error::bad_structure);
  // An extra '_' anywhere in a real key
  for (std::size_t i = 0; i <= key.size(); ++i) {
    std::string extra = key;
    extra.insert(i, 1, '_');
    EXPECT_EQ(error_of(extra), key_format_error::bad_structure) << extra;
  }
}

TEST(parse_key, given_an_invalid_prefix_then_bad_prefix) {
  // Checksums are made correct, so only the prefix rule can refuse these
  EXPECT_EQ(error_of(with_checksum("KL_live_" + random32)), key_format_error::bad_prefix);
  EXPECT_EQ(error_of(with_checksum("Kl_live_" + random32)), key_format_error::bad_prefix);
  EXPECT_EQ(error_of(with_checksum("k_live_" + random32)), key_format_error::bad_prefix);
  EXPECT_EQ(error_of(with_checksum("1k_live_" + random32)), key_format_error::bad_prefix);
  EXPECT_EQ(error_of(with_checksum("k-l_live_" + random32)), key_format_error::bad_prefix);
  EXPECT_EQ(error_of(with_checksum("_live_" + random32)), key_format_error::bad_prefix);
  EXPECT_EQ(error_of("abcdefghijk_live_AbC1"), key_format_error::bad_prefix);
  EXPECT_EQ(error_of("__"), key_format_error::bad_prefix);
}

TEST(parse_key, given_an_unknown_environment_then_bad_environment) {
  for (const std::string env : {"prod", "LIVE", "Test", "tes", "lives", "", "l1ve"}) {
    EXPECT_EQ(error_of(with_checksum("kl_" + env + "_" + random32)),
              key_format_error::bad_environment)
        << env;
  }
}

TEST(parse_key, given_a_body_of_wrong_length_or_alphabet_then_bad_body) {
  EXPECT_EQ(error_of("kl_live_"), key_format_error::bad_body);
  EXPECT_EQ(error_of(with_checksum("kl_live_" + random32.substr(1))), key_format_error::bad_body);
  EXPECT_EQ(error_of(with_checksum("kl_live_" + random32 + "A")), key_format_error::bad_body);
  for (const char c : {'-', '+', '/', '=', ' ', '\t', '\n', '.', '\0', '\x7f', '\x80', '\xff'}) {
    std::string key = valid_key();
    key[20] = c;
    EXPECT_EQ(error_of(key), key_format_error::bad_body) << int{c};
  }
}

TEST(parse_key, given_a_wrong_checksum_then_bad_checksum) {
  std::string key = valid_key();
  key.back() = key.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(error_of(key), key_format_error::bad_checksum);
  // Six digits above 2^32 never match
  EXPECT_EQ(error_of("kl_live_" + random32 + "zzzzzz"), key_format_error::bad_checksum);
  // A checksum valid for another environment
  std::string swapped = with_checksum("kl_test_" + random32);
  swapped.replace(3, 4, "live");
  EXPECT_EQ(error_of(swapped), key_format_error::bad_checksum);
}

TEST(key_format_error, every_value_has_a_distinct_name) {
  std::set<std::string_view> names;
  for (const auto e :
       {key_format_error::empty, key_format_error::too_long, key_format_error::bad_structure,
        key_format_error::bad_prefix, key_format_error::bad_environment, key_format_error::bad_body,
        key_format_error::bad_checksum}) {
    EXPECT_NE(to_string(e), "unknown");
    names.insert(to_string(e));
  }
  EXPECT_EQ(names.size(), 7u);
  EXPECT_EQ(to_string(key_format_error::bad_checksum), "bad_checksum");
}

// ---- parsing: corruption -------------------------------------------------------------------

TEST(parse_key, given_any_single_byte_replaced_anywhere_then_refused) {
  // Given real keys (a minimal and a maximal prefix)
  seeded_random random{13};
  for (const std::string& key : {valid_key(), generate_key("abcdefghij", environment::test, random),
                                 generate_key("kl", environment::live, random)}) {
    ASSERT_TRUE(parse_key(key).ok());
    // When any one byte becomes any other byte value, then the key is refused
    for (std::size_t i = 0; i < key.size(); ++i) {
      for (int b = 0; b < 256; ++b) {
        if (static_cast<char>(b) == key[i]) continue;
        std::string corrupt = key;
        corrupt[i] = static_cast<char>(b);
        ASSERT_FALSE(parse_key(corrupt).ok()) << "position " << i << " byte " << b;
      }
    }
  }
}

TEST(parse_key, given_a_truncated_key_or_a_dropped_character_then_refused) {
  const std::string key = valid_key();
  for (std::size_t n = 0; n < key.size(); ++n) {
    EXPECT_FALSE(parse_key(std::string_view(key).substr(0, n)).ok()) << n;
    EXPECT_FALSE(parse_key(std::string_view(key).substr(n + 1)).ok()) << n;
    std::string dropped = key;
    dropped.erase(n, 1);
    EXPECT_FALSE(parse_key(dropped).ok()) << n;
  }
}

TEST(parse_key, given_two_adjacent_characters_swapped_then_refused) {
  const std::string key = valid_key();
  for (std::size_t i = 0; i + 1 < key.size(); ++i) {
    if (key[i] == key[i + 1]) continue;
    std::string swapped = key;
    std::swap(swapped[i], swapped[i + 1]);
    EXPECT_FALSE(parse_key(swapped).ok()) << i;
  }
}

TEST(parse_key, given_surrounding_whitespace_or_nul_then_refused) {
  const std::string key = valid_key();
  for (const std::string& around : {" "s, "\t"s, "\n"s, "\r\n"s, "\0"s}) {
    EXPECT_FALSE(parse_key(around + key).ok());
    EXPECT_FALSE(parse_key(key + around).ok());
  }
  EXPECT_EQ(error_of("Bearer " + key), key_format_error::bad_prefix);
}

TEST(parse_key, given_non_ascii_bytes_then_refused) {
  // UTF-8 lookalikes of base62 letters, in place of one character
  for (const std::string& glyph : {"\xc3\xa9"s, "\xd0\x90"s /* Cyrillic A */,
                                   "\xef\xbc\xa1"s /* full-width A */, "\xe2\x80\x8b"s}) {
    std::string key = valid_key();
    key.replace(20, 1, glyph);
    EXPECT_FALSE(parse_key(key).ok());
    std::string prefix = valid_key();
    prefix.replace(0, 1, glyph);
    EXPECT_FALSE(parse_key(prefix).ok());
  }
}

TEST(parse_key, given_every_string_of_a_few_characters_then_never_accepted) {
  // Short inputs over the structural characters: total and quiet, never accepted
  const std::string_view chars("_a1Zl\0", 6);
  std::string s;
  for (std::size_t len = 1; len <= 4; ++len) {
    std::size_t combos = 1;
    for (std::size_t i = 0; i < len; ++i) combos *= 6;
    for (std::size_t n = 0; n < combos; ++n) {
      s.clear();
      for (std::size_t i = 0, v = n; i < len; ++i, v /= 6) s.push_back(chars[v % 6]);
      EXPECT_FALSE(parse_key(s).ok()) << s;
    }
  }
}

}  // namespace
}  // namespace keyledger::domain
