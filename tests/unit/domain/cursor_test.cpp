#include "domain/cursor.hpp"

#include <gtest/gtest.h>

#include "domain/encoding.hpp"

namespace keyledger::domain {
namespace {

TEST(cursor, round_trips_and_names_its_list) {
  const page_position p{1'795'462'798'120'000, "key_abc"};
  const auto text = encode_page_cursor("requests", p);
  const auto back = decode_page_cursor("requests", text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->at, p.at);
  EXPECT_EQ(back->id, p.id);
  // Another list's cursor, or the key list's, is refused.
  EXPECT_FALSE(decode_page_cursor("deliveries", text));
  EXPECT_FALSE(decode_page_cursor("", text));
  EXPECT_FALSE(decode_page_cursor("requests", encode_page_cursor("", p)));
}

TEST(cursor, the_key_list_keeps_its_unprefixed_form) {
  EXPECT_EQ(encode_page_cursor("", {5, "key_1"}), base64url_encode(std::string_view("5.key_1")));
}

TEST(cursor, only_what_encode_makes_is_accepted) {
  for (std::string_view raw :
       {"+5.key_1", "05.key_1", "5.", ".key_1", "5", "5.key-1", "x.key_1", "5.key_1\n"}) {
    EXPECT_FALSE(decode_page_cursor("", base64url_encode(raw))) << raw;
  }
  EXPECT_FALSE(decode_page_cursor("", "not base64!"));
  EXPECT_FALSE(decode_page_cursor("", std::string(300, 'A')));
  EXPECT_FALSE(decode_page_cursor("", base64url_encode("5." + std::string(65, 'a'))));
}

}  // namespace
}  // namespace keyledger::domain
