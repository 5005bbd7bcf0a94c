#include "infra/json/user_codec.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace keyledger::infra {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;

// 2026-11-23T19:36:02.123456Z
domain::timestamp t0() {
  using namespace std::chrono;
  return domain::timestamp{sys_days{year{2026} / 11 / 23}} + hours{19} + minutes{36} + seconds{2} +
         microseconds{123456};
}

const std::string usr = "usr_0123456789ABCDEFGHIJKL";
const std::string usr2 = "usr_abcdefghijklmnopqrstuv";
const std::string ws = "ws_8Jd2kP0qLm4nR7sT1vXy9b";

// ---- exact bytes and round trips ----------------------------------------------------------

TEST(user_codec, user_registered_exact_payload_and_round_trip) {
  const domain::user_event e =
      domain::user_registered{usr, "alice@example.com", "Alice \"Al\" M\xc3\xbcller", t0()};
  const std::string payload = encode_payload(e);
  EXPECT_EQ(payload,
            "{\"user_id\":\"usr_0123456789ABCDEFGHIJKL\",\"email\":\"alice@example.com\","
            "\"display_name\":\"Alice \\\"Al\\\" M\xc3\xbcller\","
            "\"registered_at\":\"2026-11-23T19:36:02.123456Z\"}");
  EXPECT_EQ(decode_user_event("UserRegistered", payload), e);
}

TEST(user_codec, user_password_set_exact_payload_and_round_trip) {
  const domain::user_event e = domain::user_password_set{usr, t0()};
  const std::string payload = encode_payload(e);
  EXPECT_EQ(payload,
            "{\"user_id\":\"usr_0123456789ABCDEFGHIJKL\","
            "\"set_at\":\"2026-11-23T19:36:02.123456Z\"}");
  EXPECT_EQ(decode_user_event("UserPasswordSet", payload), e);
}

TEST(user_codec, user_display_name_changed_exact_payload_and_round_trip) {
  const domain::user_event e = domain::user_display_name_changed{usr, "Al", t0() + 1s};
  const std::string payload = encode_payload(e);
  EXPECT_EQ(payload,
            "{\"user_id\":\"usr_0123456789ABCDEFGHIJKL\",\"display_name\":\"Al\","
            "\"changed_at\":\"2026-11-23T19:36:03.123456Z\"}");
  EXPECT_EQ(decode_user_event("UserDisplayNameChanged", payload), e);
}

TEST(user_codec, member_invited_with_and_without_invite_expiry) {
  const domain::member_event with =
      domain::member_invited{ws, usr2, domain::role::admin, usr, t0(), t0() + 72h};
  const std::string payload = encode_payload(with);
  EXPECT_EQ(
      payload,
      "{\"workspace_id\":\"ws_8Jd2kP0qLm4nR7sT1vXy9b\",\"user_id\":\"usr_abcdefghijklmnopqrstuv\","
      "\"role\":\"admin\",\"invited_by\":\"usr_0123456789ABCDEFGHIJKL\","
      "\"invited_at\":\"2026-11-23T19:36:02.123456Z\","
      "\"invite_expires_at\":\"2026-11-26T19:36:02.123456Z\"}");
  EXPECT_EQ(decode_member_event("MemberInvited", payload), with);

  const domain::member_event without =
      domain::member_invited{ws, usr, domain::role::owner, "bootstrap", t0(), std::nullopt};
  const std::string payload2 = encode_payload(without);
  EXPECT_EQ(
      payload2,
      "{\"workspace_id\":\"ws_8Jd2kP0qLm4nR7sT1vXy9b\",\"user_id\":\"usr_0123456789ABCDEFGHIJKL\","
      "\"role\":\"owner\",\"invited_by\":\"bootstrap\","
      "\"invited_at\":\"2026-11-23T19:36:02.123456Z\",\"invite_expires_at\":null}");
  EXPECT_EQ(decode_member_event("MemberInvited", payload2), without);
}

TEST(user_codec, member_role_changed_exact_payload_and_round_trip) {
  const domain::member_event e =
      domain::member_role_changed{ws, usr2, domain::role::member, domain::role::auditor, usr, t0()};
  const std::string payload = encode_payload(e);
  EXPECT_EQ(
      payload,
      "{\"workspace_id\":\"ws_8Jd2kP0qLm4nR7sT1vXy9b\",\"user_id\":\"usr_abcdefghijklmnopqrstuv\","
      "\"from\":\"member\",\"to\":\"auditor\",\"changed_by\":\"usr_0123456789ABCDEFGHIJKL\","
      "\"changed_at\":\"2026-11-23T19:36:02.123456Z\"}");
  EXPECT_EQ(decode_member_event("MemberRoleChanged", payload), e);
}

TEST(user_codec, member_removed_exact_payload_and_round_trip) {
  const domain::member_event e = domain::member_removed{ws, usr2, usr, t0()};
  const std::string payload = encode_payload(e);
  EXPECT_EQ(
      payload,
      "{\"workspace_id\":\"ws_8Jd2kP0qLm4nR7sT1vXy9b\",\"user_id\":\"usr_abcdefghijklmnopqrstuv\","
      "\"removed_by\":\"usr_0123456789ABCDEFGHIJKL\","
      "\"removed_at\":\"2026-11-23T19:36:02.123456Z\"}");
  EXPECT_EQ(decode_member_event("MemberRemoved", payload), e);
}

TEST(user_codec, every_role_round_trips) {
  for (const auto r : domain::all_roles) {
    const domain::member_event e = domain::member_role_changed{ws, usr2, r, r, usr, t0()};
    EXPECT_EQ(decode_member_event("MemberRoleChanged", encode_payload(e)), e)
        << domain::to_string(r);
  }
}

// ---- what does not decode -----------------------------------------------------------------

TEST(user_codec, unknown_types_and_the_other_streams_types_do_not_decode) {
  const std::string user_payload = encode_payload(domain::user_password_set{usr, t0()});
  const std::string member_payload = encode_payload(domain::member_removed{ws, usr2, usr, t0()});
  EXPECT_FALSE(decode_user_event("MemberRemoved", member_payload).has_value());
  EXPECT_FALSE(decode_member_event("UserPasswordSet", user_payload).has_value());
  EXPECT_FALSE(decode_user_event("userpasswordset", user_payload).has_value());
  EXPECT_FALSE(decode_user_event("", user_payload).has_value());
  EXPECT_FALSE(decode_member_event("KeyCreated", member_payload).has_value());
}

TEST(user_codec, malformed_payloads_do_not_decode) {
  const std::string ok = R"({"user_id":"u","set_at":"2026-11-23T19:36:02Z"})";
  ASSERT_TRUE(decode_user_event("UserPasswordSet", ok).has_value());
  for (const std::string& bad : {
           ""s, "null"s, "[]"s, R"(["user_id"])"s,
           R"({"user_id":"u"})"s,                                                // missing
           R"({"set_at":"2026-11-23T19:36:02Z"})"s,                              // missing
           R"({"user_id":"u","user_id":"v","set_at":"2026-11-23T19:36:02Z"})"s,  // repeated
           R"({"user_id":7,"set_at":"2026-11-23T19:36:02Z"})"s,                  // wrong type
           R"({"user_id":null,"set_at":"2026-11-23T19:36:02Z"})"s,               // null
           R"({"user_id":"u","set_at":"yesterday"})"s,                           // bad timestamp
           R"({"user_id":"u","set_at":"2026-11-23T19:36:02+01:00"})"s,           // not UTC 'Z'
           R"({"user_id":"u","set_at":1764000000})"s,                            // a number
           ok + "x",                                                             // trailing bytes
           ok + "{}", ok.substr(0, ok.size() - 1),                               // truncated
           R"({"user_id":"u)"
           "\0"s
           R"(","set_at":"2026-11-23T19:36:02Z"})"s,  // NUL
           R"({"user_id":"u)"
           "\xff"s
           R"(","set_at":"2026-11-23T19:36:02Z"})"s,  // bad UTF-8
       }) {
    EXPECT_FALSE(decode_user_event("UserPasswordSet", bad).has_value()) << bad;
  }
  // Trailing whitespace is fine (it is not data).
  EXPECT_TRUE(decode_user_event("UserPasswordSet", ok + " \n").has_value());
}

TEST(user_codec, bad_roles_and_invite_expiries_do_not_decode) {
  const std::string head = R"({"workspace_id":"w","user_id":"u","invited_by":"b",)"
                           R"("invited_at":"2026-11-23T19:36:02Z",)";
  ASSERT_TRUE(
      decode_member_event("MemberInvited", head + R"("role":"member","invite_expires_at":null})")
          .has_value());
  for (const std::string& tail : {
           R"("role":"Member","invite_expires_at":null})"s,
           R"("role":"superuser","invite_expires_at":null})"s,
           R"("role":null,"invite_expires_at":null})"s,
           R"("role":1,"invite_expires_at":null})"s,
           R"("role":"member"})"s,  // expiry member missing
           R"("role":"member","invite_expires_at":"soon"})"s,
           R"("role":"member","invite_expires_at":0})"s,
       }) {
    EXPECT_FALSE(decode_member_event("MemberInvited", head + tail).has_value()) << tail;
  }
  EXPECT_FALSE(decode_member_event("MemberRoleChanged",
                                   R"({"workspace_id":"w","user_id":"u","from":"owner",)"
                                   R"("to":"god","changed_by":"c",)"
                                   R"("changed_at":"2026-11-23T19:36:02Z"})")
                   .has_value());
}

TEST(user_codec, members_a_type_does_not_define_are_ignored) {
  const auto e = decode_member_event(
      "MemberRemoved", R"({"workspace_id":"w","user_id":"u","removed_by":"r",)"
                       R"("removed_at":"2026-11-23T19:36:02Z","reason":{"a":[1,2]}})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::get<domain::member_removed>(*e).removed_by, "r");
}

TEST(user_codec, deeply_nested_input_does_not_crash) {
  std::string deep = R"({"user_id":"u","set_at":"2026-11-23T19:36:02Z","x":)";
  deep += std::string(100000, '[');
  deep += std::string(100000, ']');
  deep += "}";
  // Iterative parsing: no recursion, so no stack overflow; extra members are ignored.
  EXPECT_TRUE(decode_user_event("UserPasswordSet", deep).has_value());
  EXPECT_FALSE(decode_user_event("UserPasswordSet", std::string(100000, '[')).has_value());
}

}  // namespace
}  // namespace keyledger::infra
