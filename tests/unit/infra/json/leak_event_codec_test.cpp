// The payloads leak reports added: KeyLeaked, and on_leak in WorkspaceSettingsChanged - fixed
// encodings, byte-for-byte round trips, older events, strict decoding.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "infra/json/event_codec.hpp"

namespace keyledger::infra {
namespace {

// 2026-11-23T19:36:02.123456Z
const domain::timestamp t1{std::chrono::microseconds{1795462562123456}};

domain::key_leaked a_leak() {
  return {"key_x", "https://github.com/o/r/blob/1/a.txt", "content", domain::leak_response::revoked,
          t1};
}

std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(leak_event_codec, key_leaked_has_a_fixed_encoding_and_round_trips) {
  const domain::api_key_event e{a_leak()};
  EXPECT_EQ(domain::event_type(e), "KeyLeaked");
  const auto payload = encode_payload(e);
  EXPECT_EQ(payload,
            R"({"key_id":"key_x","url":"https://github.com/o/r/blob/1/a.txt","source":"content",)"
            R"("action":"revoked","reported_at":"2026-11-23T19:36:02.123456Z"})");
  for (const auto action : {domain::leak_response::revoked, domain::leak_response::disabled,
                            domain::leak_response::none}) {
    auto leak = a_leak();
    leak.action = action;
    leak.url = "";
    const auto text = encode_payload(domain::api_key_event{leak});
    const auto back = decode_api_key_event("KeyLeaked", text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(std::get<domain::key_leaked>(*back), leak);
    EXPECT_EQ(encode_payload(*back), text);
  }
}

TEST(leak_event_codec, key_leaked_is_strict_about_its_members) {
  const auto p = encode_payload(domain::api_key_event{a_leak()});
  ASSERT_TRUE(decode_api_key_event("KeyLeaked", p));
  const std::pair<std::string, std::string> bad[] = {
      {R"("action":"revoked")", R"("action":"revoke")"},
      {R"("action":"revoked")", R"("action":null)"},
      {R"(,"action":"revoked")", ""},
      {R"("url":"https://github.com/o/r/blob/1/a.txt",)", ""},
      {R"("source":"content")", R"("source":1)"},
      {R"("reported_at":"2026-11-23T19:36:02.123456Z")", R"("reported_at":"now")"},
      {R"("key_id":"key_x",)", ""},
  };
  for (const auto& [from, to] : bad) {
    const auto payload = with(p, from, to);
    EXPECT_FALSE(decode_api_key_event("KeyLeaked", payload)) << payload;
  }
}

TEST(leak_event_codec, on_leak_is_written_last_only_when_it_changed) {
  domain::workspace_settings_changed e;
  e.workspace_id = "ws_x";
  e.changed_by = "usr_x";
  e.changed_at = t1;
  const auto unchanged = encode_payload(domain::workspace_event{e});
  EXPECT_EQ(unchanged.find("on_leak"), std::string::npos) << unchanged;
  e.on_leak = domain::leak_action::disable;
  const auto payload = encode_payload(domain::workspace_event{e});
  EXPECT_EQ(payload, R"({"workspace_id":"ws_x","changed_by":"usr_x",)"
                     R"("changed_at":"2026-11-23T19:36:02.123456Z","on_leak":"disable"})");
  const auto back = decode_workspace_event("WorkspaceSettingsChanged", payload);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<domain::workspace_settings_changed>(*back), e);
  EXPECT_EQ(encode_payload(*back), payload);
  // Stored before leak reports: no on_leak, nothing changed about it.
  const auto old = decode_workspace_event("WorkspaceSettingsChanged", unchanged);
  ASSERT_TRUE(old.has_value());
  EXPECT_FALSE(std::get<domain::workspace_settings_changed>(*old).on_leak.has_value());
  for (const char* bad : {R"("on_leak":"delete")", R"("on_leak":null)", R"("on_leak":1)"}) {
    const auto text = with(payload, R"("on_leak":"disable")", bad);
    EXPECT_FALSE(decode_workspace_event("WorkspaceSettingsChanged", text)) << text;
  }
}

}  // namespace
}  // namespace keyledger::infra
