#include "infra/json/event_codec.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace keyledger::infra {
namespace {

using namespace std::chrono_literals;

domain::timestamp at(std::int64_t us) { return domain::timestamp{std::chrono::microseconds{us}}; }

// 2026-11-23T19:36:02.123456Z
const domain::timestamp t1 = at(1795462562123456);

domain::key_created sample_created() {
  domain::key_created e;
  e.key_id = "key_0123456789abcdefghijkl";
  e.workspace_id = "ws_0123456789abcdefghijkl";
  e.name = "ci-deploy";
  e.env = domain::environment::live;
  e.scopes = {"leads:read", "leads:write"};
  e.key_hash = std::string(64, 'a');
  e.start = "kl_live_AbC1";
  e.created_at = t1;
  return e;
}

TEST(event_codec, key_created_has_fixed_member_order) {
  EXPECT_EQ(encode_payload(domain::api_key_event{sample_created()}),
            R"({"key_id":"key_0123456789abcdefghijkl","workspace_id":"ws_0123456789abcdefghijkl",)"
            R"("name":"ci-deploy","environment":"live","scopes":["leads:read","leads:write"],)"
            R"("key_hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
            R"("start":"kl_live_AbC1","created_at":"2026-11-23T19:36:02.123456Z"})");
}

TEST(event_codec, key_revoked_has_fixed_member_order) {
  const domain::key_revoked e{"key_0123456789abcdefghijkl", t1};
  EXPECT_EQ(encode_payload(domain::api_key_event{e}),
            R"({"key_id":"key_0123456789abcdefghijkl",)"
            R"("revoked_at":"2026-11-23T19:36:02.123456Z"})");
}

TEST(event_codec, workspace_created_has_fixed_member_order) {
  const domain::workspace_created e{"ws_0123456789abcdefghijkl", "acme", "qg", t1};
  EXPECT_EQ(encode_payload(domain::workspace_event{e}),
            R"({"workspace_id":"ws_0123456789abcdefghijkl","name":"acme","key_prefix":"qg",)"
            R"("created_at":"2026-11-23T19:36:02.123456Z"})");
}

TEST(event_codec, key_created_round_trips) {
  for (const auto env : {domain::environment::live, domain::environment::test}) {
    domain::key_created e = sample_created();
    e.env = env;
    const std::string payload = encode_payload(domain::api_key_event{e});
    const auto back = decode_api_key_event("KeyCreated", payload);
    ASSERT_TRUE(back.has_value()) << payload;
    ASSERT_TRUE(std::holds_alternative<domain::key_created>(*back));
    EXPECT_EQ(std::get<domain::key_created>(*back), e);
    // Same event, same bytes.
    EXPECT_EQ(encode_payload(*back), payload);
  }
}

TEST(event_codec, key_created_with_no_scopes_and_escaped_text_round_trips) {
  domain::key_created e = sample_created();
  e.scopes.clear();
  e.name = "we\"ird\\na\nme\xc3\xa9";
  e.created_at = at(0);
  const auto back = decode_api_key_event("KeyCreated", encode_payload(domain::api_key_event{e}));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<domain::key_created>(*back), e);
}

TEST(event_codec, key_revoked_round_trips) {
  const domain::key_revoked e{"key_x", t1 + 1s};
  const auto back = decode_api_key_event("KeyRevoked", encode_payload(domain::api_key_event{e}));
  ASSERT_TRUE(back.has_value());
  ASSERT_TRUE(std::holds_alternative<domain::key_revoked>(*back));
  EXPECT_EQ(std::get<domain::key_revoked>(*back), e);
}

TEST(event_codec, workspace_created_round_trips) {
  const domain::workspace_created e{"ws_x", "acme-corp", "qg", t1};
  const auto back =
      decode_workspace_event("WorkspaceCreated", encode_payload(domain::workspace_event{e}));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<domain::workspace_created>(*back), e);
}

TEST(event_codec, unknown_types_do_not_decode) {
  const std::string key_payload = encode_payload(domain::api_key_event{sample_created()});
  EXPECT_FALSE(decode_api_key_event("KeyExploded", key_payload));
  EXPECT_FALSE(decode_api_key_event("keycreated", key_payload));
  EXPECT_FALSE(decode_api_key_event("", key_payload));
  EXPECT_FALSE(decode_api_key_event("WorkspaceCreated", key_payload));
  const domain::workspace_created ws{"ws_x", "acme", "qg", t1};
  EXPECT_FALSE(decode_workspace_event("KeyCreated", encode_payload(domain::workspace_event{ws})));
}

TEST(event_codec, garbage_does_not_decode) {
  using namespace std::string_literals;
  const std::vector<std::string> garbage = {
      "",
      "not json",
      "[]",
      "null",
      "\"KeyRevoked\"",
      "{",
      R"({"key_id":"k","revoked_at":"2026-11-23T19:36:02Z"} trailing)",
      "{\"key_id\":\"k\",\"revoked_at\":\"2026-11-23T19:36:02Z\"}\0{}"s,
      "{\"key_id\":\"\xff\",\"revoked_at\":\"2026-11-23T19:36:02Z\"}",
      std::string(100000, '['),
  };
  for (const auto& g : garbage) {
    EXPECT_FALSE(decode_api_key_event("KeyRevoked", g)) << g.substr(0, 80);
    EXPECT_FALSE(decode_api_key_event("KeyCreated", g)) << g.substr(0, 80);
    EXPECT_FALSE(decode_workspace_event("WorkspaceCreated", g)) << g.substr(0, 80);
  }
}

TEST(event_codec, known_fields_are_strict) {
  const char* bad[] = {
      R"({"key_id":"k"})",                                                   // missing field
      R"({"revoked_at":"2026-11-23T19:36:02Z"})",                            // missing field
      R"({"key_id":7,"revoked_at":"2026-11-23T19:36:02Z"})",                 // wrong type
      R"({"key_id":null,"revoked_at":"2026-11-23T19:36:02Z"})",              // null
      R"({"key_id":"k","revoked_at":"yesterday"})",                          // bad timestamp
      R"({"key_id":"k","revoked_at":1795462562})",                           // number timestamp
      R"({"key_id":"k","key_id":"j","revoked_at":"2026-11-23T19:36:02Z"})",  // repeated
  };
  for (const char* p : bad) EXPECT_FALSE(decode_api_key_event("KeyRevoked", p)) << p;

  std::string created = encode_payload(domain::api_key_event{sample_created()});
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = created;
    const auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
  };
  EXPECT_FALSE(decode_api_key_event("KeyCreated", with("\"live\"", "\"prod\"")));
  EXPECT_FALSE(decode_api_key_event("KeyCreated", with("\"live\"", "\"LIVE\"")));
  EXPECT_FALSE(decode_api_key_event("KeyCreated", with("\"leads:write\"", "7")));
  EXPECT_FALSE(
      decode_api_key_event("KeyCreated", with(R"(["leads:read","leads:write"])", "\"leads\"")));
  EXPECT_FALSE(decode_api_key_event("KeyCreated", with("\"start\":", "\"begin\":")));
}

TEST(event_codec, extra_members_are_tolerated) {
  // A newer writer may add optional members; an older reader ignores them.
  const auto back = decode_api_key_event(
      "KeyRevoked",
      R"({"reason":"leaked","key_id":"k","revoked_at":"2026-11-23T19:36:02Z","by":{"x":[1]}})");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<domain::key_revoked>(*back).key_id, "k");
  const auto ws = decode_workspace_event(
      "WorkspaceCreated",
      R"({"workspace_id":"w","name":"n","key_prefix":"qg","created_at":"2026-11-23T19:36:02Z",)"
      R"("plan":"pro"})");
  ASSERT_TRUE(ws.has_value());
  EXPECT_EQ(std::get<domain::workspace_created>(*ws).key_prefix, "qg");
}

TEST(event_codec, member_order_does_not_matter_on_decode) {
  const auto back = decode_api_key_event(
      "KeyRevoked", R"( { "revoked_at" : "2026-11-23T19:36:02.123456Z" , "key_id" : "k" } )");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<domain::key_revoked>(*back), (domain::key_revoked{"k", t1}));
}

TEST(event_codec, metadata_in_fixed_order_with_empty_members_omitted) {
  EXPECT_EQ(encode_metadata({}), "{}");
  EXPECT_EQ(encode_metadata({"key_a", "req_b", "127.0.0.1", "idem-1"}),
            R"({"actor":"key_a","request_id":"req_b","source_ip":"127.0.0.1",)"
            R"("idempotency_key":"idem-1"})");
  EXPECT_EQ(encode_metadata({"", "req_b", "", "idem\"1"}),
            R"({"request_id":"req_b","idempotency_key":"idem\"1"})");
  EXPECT_EQ(encode_metadata({"key_a", "", "::1", ""}), R"({"actor":"key_a","source_ip":"::1"})");
}

}  // namespace
}  // namespace keyledger::infra
