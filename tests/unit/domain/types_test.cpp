#include "domain/types.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fakes.hpp"

namespace keyledger::domain {
namespace {

using namespace std::chrono;
using namespace std::string_literals;
using testing::fixed_clock;
using testing::fixed_instant;
using testing::scripted_random;
using testing::seeded_random;

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// ---- environment ---------------------------------------------------------------------------

TEST(environment_text, given_each_environment_when_printed_then_parses_back) {
  for (const auto env : {environment::live, environment::test}) {
    const auto parsed = parse_environment(to_string(env));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, env);
  }
  EXPECT_EQ(to_string(environment::live), "live");
  EXPECT_EQ(to_string(environment::test), "test");
}

TEST(environment_text, given_anything_else_when_parsed_then_refused) {
  for (const std::string_view bad :
       {"", "LIVE", "Live", "live ", " test", "prod", "tes", "testt", "li ve"}) {
    EXPECT_FALSE(parse_environment(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_environment("live\0"s).has_value());
}

// ---- timestamps ----------------------------------------------------------------------------

TEST(format_timestamp, given_a_fixed_instant_when_formatted_then_rfc3339_utc_with_micros) {
  // Given the fixed clock's instant
  const fixed_clock clock{fixed_instant()};
  // When formatted, then six fraction digits and 'Z'
  EXPECT_EQ(format_timestamp(clock.now()), "2026-11-23T19:36:02.123456Z");
}

TEST(format_timestamp, given_the_epoch_and_whole_seconds_then_fraction_is_zero_padded) {
  EXPECT_EQ(format_timestamp(timestamp{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(timestamp{sys_days{year{2000} / 2 / 29}} + microseconds{7}),
            "2000-02-29T00:00:00.000007Z");
}

TEST(format_timestamp, given_an_instant_before_1970_then_floors_to_the_right_second) {
  EXPECT_EQ(format_timestamp(timestamp{microseconds{-1}}), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(timestamp{sys_days{year{1} / 1 / 1}}), "0001-01-01T00:00:00.000000Z");
}

TEST(parse_timestamp, given_formatted_instants_when_parsed_then_round_trip_exactly) {
  // Given instants spread over years 0000-9999 (deterministic)
  seeded_random random{42};
  const auto lo = timestamp{sys_days{year{0} / 1 / 1}}.time_since_epoch().count();
  const auto hi =
      timestamp{sys_days{year{9999} / 12 / 31}}.time_since_epoch().count() + 86'400'000'000LL - 1;
  for (int i = 0; i < 5000; ++i) {
    std::uint64_t r = 0;
    random.fill({reinterpret_cast<std::uint8_t*>(&r), sizeof r});
    const auto t = timestamp{
        microseconds{lo + static_cast<std::int64_t>(r % static_cast<std::uint64_t>(hi - lo + 1))}};
    // When formatted and parsed back
    const std::string text = format_timestamp(t);
    const auto back = parse_timestamp(text);
    // Then the same instant
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, t) << text;
  }
  // And the extremes
  for (const auto t : {timestamp{microseconds{lo}}, timestamp{microseconds{hi}}, timestamp{}}) {
    EXPECT_EQ(parse_timestamp(format_timestamp(t)), t);
  }
}

TEST(parse_timestamp, given_fractions_of_zero_to_six_digits_then_scaled_to_micros) {
  const auto base =
      timestamp{sys_days{year{2026} / 11 / 23}} + hours{19} + minutes{36} + seconds{2};
  EXPECT_EQ(parse_timestamp("2026-11-23T19:36:02Z"), base);
  EXPECT_EQ(parse_timestamp("2026-11-23T19:36:02.1Z"), base + microseconds{100000});
  EXPECT_EQ(parse_timestamp("2026-11-23T19:36:02.12Z"), base + microseconds{120000});
  EXPECT_EQ(parse_timestamp("2026-11-23T19:36:02.000001Z"), base + microseconds{1});
  EXPECT_EQ(parse_timestamp("2026-11-23T19:36:02.123456Z"), fixed_instant());
  EXPECT_EQ(parse_timestamp("2024-02-29T23:59:59.999999Z"),
            timestamp{sys_days{year{2024} / 3 / 1}} - microseconds{1});
}

TEST(parse_timestamp, given_anything_outside_the_format_then_refused) {
  const std::string_view bad[] = {
      "",
      "2026-11-23",
      "2026-11-23T19:36:02",           // no zone
      "2026-11-23T19:36:02.Z",         // empty fraction
      "2026-11-23T19:36:02.1234567Z",  // seven fraction digits
      "2026-11-23t19:36:02.123456Z",   // lowercase t
      "2026-11-23T19:36:02.123456z",   // lowercase z
      "2026-11-23 19:36:02.123456Z",   // space separator
      "2026-11-23T19:36:02.123456+00:00",
      "2026-11-23T19:36:02+00:00",
      "2026-11-23T19:36:02.123456",
      " 2026-11-23T19:36:02.123456Z",
      "2026-11-23T19:36:02.123456Z ",
      "2026-11-23T19:36:02.123456ZZ",
      "+2026-11-23T19:36:02.123456Z",
      "-0001-11-23T19:36:02.123456Z",
      "12026-11-23T19:36:02.123456Z",
      "2026-1-23T19:36:02.123456Z",
      "2026-11-3T19:36:02.123456Z",
      "2026-11-23T9:36:02.123456Z",
      "2026-11-2aT19:36:02.123456Z",
      "2026-11-23T19:36:0xZ",
      "2026-11-23T19:36:02,123456Z",  // comma fraction
      "2026-11-23T19:36:02.12345aZ",
      "2026-11-23T19:36:02.-12345Z",
      "2026-00-23T19:36:02.123456Z",
      "2026-13-23T19:36:02.123456Z",
      "2026-11-00T19:36:02.123456Z",
      "2026-11-31T19:36:02.123456Z",
      "2025-02-29T19:36:02.123456Z",  // not a leap year
      "1900-02-29T00:00:00Z",         // not a leap year either
      "2026-11-23T24:00:00.000000Z",
      "2026-11-23T23:60:00.000000Z",
      "2026-11-23T23:59:60.000000Z",  // leap seconds are not representable
      "2026/11/23T19:36:02.123456Z",
      "2026-11-23T19-36-02.123456Z",
      "\xef\xbc\x92"
      "026-11-23T19:36:02Z",  // full-width digit
      "garbage",
  };
  for (const auto text : bad) EXPECT_FALSE(parse_timestamp(text).has_value()) << text;
  // And an embedded NUL anywhere
  const std::string good = "2026-11-23T19:36:02.123456Z";
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string with_nul = good;
    with_nul[i] = '\0';
    EXPECT_FALSE(parse_timestamp(with_nul).has_value()) << i;
  }
  EXPECT_FALSE(parse_timestamp(good + '\0').has_value());
}

TEST(parse_timestamp, is_noexcept) { static_assert(noexcept(parse_timestamp(""))); }

// ---- ids -----------------------------------------------------------------------------------

TEST(new_id, given_a_tag_then_tag_underscore_and_22_base62_characters) {
  seeded_random random{1};
  const std::string id = new_id("key", random);
  ASSERT_EQ(id.size(), 3 + 1 + 22u);
  EXPECT_EQ(id.substr(0, 4), "key_");
  for (const char c : id.substr(4)) EXPECT_TRUE(is_base62(c)) << id;
}

TEST(new_id, given_one_source_when_called_repeatedly_then_all_different) {
  seeded_random random{2};
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(new_id("ws", random));
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(new_id, given_bytes_of_248_and_above_then_they_are_skipped_not_folded) {
  // Given a source that cycles through bytes that must be rejected (>= 248) and accepted ones
  scripted_random random{{248, 0, 255, 61, 62, 250, 247}};
  // When an id is drawn
  const std::string id = new_id("req", random);
  // Then only 0 -> '0', 61 -> 'z', 62 -> '0', 247 -> 'z' were used, in order
  EXPECT_EQ(id, "req_0z0z0z0z0z0z0z0z0z0z0z");
}

TEST(valid_id, given_what_new_id_makes_then_valid_and_any_other_shape_refused) {
  seeded_random random{3};
  const std::string id = new_id("grt", random);
  EXPECT_TRUE(valid_id("grt", id));
  EXPECT_FALSE(valid_id("rtf", id));                                 // another tag
  EXPECT_FALSE(valid_id("gr", id));                                  // a prefix of the tag
  EXPECT_FALSE(valid_id("grt", id.substr(0, id.size() - 1)));        // 21 characters
  EXPECT_FALSE(valid_id("grt", id + "a"));                           // 23 characters
  EXPECT_FALSE(valid_id("grt", "grt-" + id.substr(4)));              // not an underscore
  EXPECT_FALSE(valid_id("grt", id.substr(0, id.size() - 1) + "-"));  // not base62
  EXPECT_FALSE(valid_id("grt", ""));
}

TEST(new_uuid, given_any_bytes_then_version_4_and_rfc4122_variant) {
  for (const std::uint8_t fill : {std::uint8_t{0x00}, std::uint8_t{0xFF}, std::uint8_t{0x5A}}) {
    scripted_random random{{fill}};
    const auto u = new_uuid(random);
    EXPECT_EQ(u[6] >> 4, 4) << int{fill};
    EXPECT_EQ(u[8] >> 6, 2) << int{fill};
    // Other bytes come straight from the source
    EXPECT_EQ(u[0], fill);
    EXPECT_EQ(u[15], fill);
    EXPECT_EQ(u[6] & 0x0F, fill & 0x0F);
    EXPECT_EQ(u[8] & 0x3F, fill & 0x3F);
  }
  seeded_random random{3};
  EXPECT_NE(new_uuid(random), new_uuid(random));
}

}  // namespace
}  // namespace keyledger::domain
