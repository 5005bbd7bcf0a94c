#include "infra/crypto/secret.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace keyledger::infra {
namespace {

TEST(secret, holds_and_reveals_bytes) {
  const secret s(std::string("correct horse battery staple"));
  EXPECT_EQ(s.reveal(), "correct horse battery staple");
  EXPECT_EQ(s.size(), 28u);
  EXPECT_FALSE(s.empty());
}

TEST(secret, default_is_empty) {
  const secret s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.equals(""));
}

TEST(secret, move_construction_empties_the_source) {
  // Both a short (in-object) and a long (heap) string.
  for (const std::string& value : {std::string("short"), std::string(200, 'x')}) {
    secret a(std::string{value});
    secret b(std::move(a));
    EXPECT_EQ(b.reveal(), value);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the wipe is the behaviour tested
    EXPECT_EQ(a.reveal(), "");
  }
}

TEST(secret, move_assignment_replaces_and_empties_the_source) {
  secret a(std::string("first-secret-value"));
  secret b(std::string("second"));
  b = std::move(a);
  EXPECT_EQ(b.reveal(), "first-secret-value");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)

  secret& self = b;
  b = std::move(self);
  EXPECT_EQ(b.reveal(), "first-secret-value");
}

TEST(secret, equals_compares_content_and_length) {
  const secret s(std::string("abcdef"));
  EXPECT_TRUE(s.equals("abcdef"));
  EXPECT_FALSE(s.equals("abcdeg"));
  EXPECT_FALSE(s.equals("Abcdef"));
  EXPECT_FALSE(s.equals("abcde"));
  EXPECT_FALSE(s.equals("abcdefg"));
  EXPECT_FALSE(s.equals(""));
}

TEST(secret, holds_binary_bytes_including_nul) {
  const std::string raw("a\0b\xff", 4);
  const secret s{std::string(raw)};
  EXPECT_EQ(s.size(), 4u);
  EXPECT_TRUE(s.equals(raw));
  EXPECT_FALSE(s.equals(std::string("a\0c\xff", 4)));
}

TEST(constant_time_equal, equal_and_unequal_inputs) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("kl_live_abc", "kl_live_abc"));
  EXPECT_FALSE(constant_time_equal("kl_live_abc", "kl_live_abd"));
  EXPECT_FALSE(constant_time_equal("xl_live_abc", "kl_live_abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

}  // namespace
}  // namespace keyledger::infra
