// find_keys: well-formed keys in arbitrary text, found offline by their checksum.
#include "domain/keys/key_scan.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "domain/keys/key_format.hpp"
#include "fakes.hpp"

namespace keyledger::domain {
namespace {

class key_scan_test : public ::testing::Test {
 protected:
  std::string key(std::string_view prefix = "kl", environment env = environment::live) {
    return generate_key(prefix, env, random_);
  }
  testing::seeded_random random_{42};
};

TEST_F(key_scan_test, finds_a_key_wherever_it_sits_in_a_line) {
  const auto k = key();
  for (const std::string before : {"", "TOKEN=", "\"", "Bearer ", "x", "MY_", "kl_live_"}) {
    for (const std::string after : {"", "\"", ";", " trailing", "\n"}) {
      const std::string text = before + k + after;
      const auto found = find_keys(text);
      ASSERT_EQ(found.size(), 1u) << text;
      EXPECT_EQ(found[0].offset, before.size()) << text;
      EXPECT_EQ(found[0].length, k.size()) << text;
    }
  }
}

TEST_F(key_scan_test, finds_every_key_of_every_prefix_and_environment_in_order) {
  const auto a = key("kl", environment::live);
  const auto b = key("qg", environment::test);
  const auto c = key("abcdefghij", environment::live);  // the longest prefix
  const std::string text = a + "," + b + " " + c + b;
  const auto found = find_keys(text);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(text.substr(found[0].offset, found[0].length), a);
  EXPECT_EQ(text.substr(found[1].offset, found[1].length), b);
  EXPECT_EQ(text.substr(found[2].offset, found[2].length), c);
  EXPECT_EQ(text.substr(found[3].offset, found[3].length), b);
}

TEST_F(key_scan_test, near_misses_are_not_keys) {
  auto k = key();
  // A bad checksum (one character changed), a truncated key, an unknown environment, a prefix
  // that is not one, no random part.
  std::string typo = k;
  typo[10] = typo[10] == 'A' ? 'B' : 'A';
  std::string env = k;
  env.replace(3, 4, "prod");
  const std::string cases[] = {
      typo,
      k.substr(0, k.size() - 1),
      env,
      "KL" + k.substr(2),
      "kl_live_",
      "_live_",
      "",
      "kl_live_short",
      std::string(200, '_') + "live_",
  };
  for (const auto& text : cases) EXPECT_TRUE(find_keys(text).empty()) << text;
  EXPECT_FALSE(contains_key(typo));
  EXPECT_TRUE(contains_key("see " + k));
}

TEST_F(key_scan_test, a_long_line_of_separators_is_linear_and_finds_nothing) {
  // 160 KB of one environment's separator and none of the other's: the scan once searched the
  // whole rest of the text for the missing one at every separator (6 s in Release, a minute
  // under ASan). Linear, it takes milliseconds even in the sanitizer build.
  for (const std::string_view separator : {"kl_live_", "kl_test_"}) {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += separator;
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(find_keys(text).empty());
    text += key();
    EXPECT_EQ(find_keys(text).size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2)) << separator;
  }
}

}  // namespace
}  // namespace keyledger::domain
