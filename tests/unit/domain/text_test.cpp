#include "domain/text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keyledger::domain {
namespace {

std::vector<char32_t> decode_all(std::string_view s) {
  std::vector<char32_t> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto cp = decode_utf8(s, pos);
    if (!cp) return {};
    out.push_back(*cp);
  }
  return out;
}

TEST(text, given_valid_utf8_then_each_code_point_is_decoded) {
  EXPECT_EQ(decode_all("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x94\x91"),
            (std::vector<char32_t>{U'a', U'\u00E9', U'\u20AC', U'\U0001F511'}));
}

TEST(text, given_malformed_utf8_then_nothing_is_decoded) {
  for (std::string bad : {std::string("\xC0\xAF"),          // overlong '/'
                          std::string("\xED\xA0\x80"),      // a surrogate
                          std::string("\xF4\x90\x80\x80"),  // above U+10FFFF
                          std::string("\xE2\x82"),          // truncated
                          std::string("\x80"),              // a lone continuation byte
                          std::string("\xFF")}) {
    std::size_t pos = 0;
    EXPECT_FALSE(decode_utf8(bad, pos).has_value()) << bad.size();
  }
}

TEST(text, given_character_classes_then_the_boundaries_hold) {
  EXPECT_TRUE(is_control(0x1F));
  EXPECT_FALSE(is_control(0x20));
  EXPECT_TRUE(is_control(0x7F));
  EXPECT_TRUE(is_control(0x9F));
  EXPECT_FALSE(is_control(0xA0));
  EXPECT_TRUE(is_invisible_format(0x200B));
  EXPECT_TRUE(is_invisible_format(0x202E));
  EXPECT_TRUE(is_invisible_format(0xFEFF));
  EXPECT_FALSE(is_invisible_format(0x2010));
  EXPECT_TRUE(is_noncharacter(0xFDD0));
  EXPECT_TRUE(is_noncharacter(0x1FFFF));
  EXPECT_FALSE(is_noncharacter(0xFFFD));
}

TEST(text, given_ascii_whitespace_at_the_ends_then_trim_removes_only_that) {
  EXPECT_EQ(trim_ascii(" \t\r\n name \v\f"), "name");
  EXPECT_EQ(trim_ascii("a b"), "a b");
  EXPECT_EQ(trim_ascii("   "), "");
  EXPECT_EQ(trim_ows(" \t value \t"), "value");
  EXPECT_EQ(trim_ows("\r\nvalue"), "\r\nvalue");    // only spaces and tabs
  EXPECT_EQ(trim_ascii("\xC2\xA0x"), "\xC2\xA0x");  // a no-break space is not ASCII space
}

TEST(text, given_a_client_chosen_name_then_only_short_plain_ones_are_echoed) {
  EXPECT_EQ(echoable_name("rate_limit.limit"), "'rate_limit.limit'");
  EXPECT_EQ(echoable_name("<script>"), "(name not shown)");
  EXPECT_EQ(echoable_name(""), "(name not shown)");
  // A key is longer than 32 characters of the same alphabet: never repeated back.
  EXPECT_FALSE(is_echoable_name("kl_live_2x8Qd0Vb7mN4pR6sT1uW3yZ5aC9eG"));
  EXPECT_TRUE(is_echoable_name(std::string(32, 'a')));
  EXPECT_FALSE(is_echoable_name(std::string(33, 'a')));
}

}  // namespace
}  // namespace keyledger::domain
