#include "infra/json/event_codec.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace keyledger::infra {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

domain::timestamp at(std::int64_t us) { return domain::timestamp{std::chrono::microseconds{us}}; }

// 2026-11-23T19:36:02.123456Z
const domain::timestamp t1 = at(1795462562123456);

// A KeyCreated as written before the lifecycle issue: only the first release's members.
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

// A KeyCreated with every lifecycle member set away from its default.
domain::key_created full_created() {
  domain::key_created e = sample_created();
  e.expires_at = t1 + 90 * 24h;
  e.allowed_cidrs = {"10.0.0.0/8", "2001:db8::/32"};
  e.postback_url = "https://example.com/hooks";
  e.off_the_record = true;
  e.enabled = false;
  e.limit = domain::rate_limit{100, 60};
  e.rotated_from = "key_OLD3456789abcdefghijkl";
  return e;
}

const std::string old_key_created_payload =
    R"({"key_id":"key_0123456789abcdefghijkl","workspace_id":"ws_0123456789abcdefghijkl",)"
    R"("name":"ci-deploy","environment":"live","scopes":["leads:read","leads:write"],)"
    R"("key_hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
    R"("start":"kl_live_AbC1","created_at":"2026-11-23T19:36:02.123456Z"})";

const std::string old_workspace_created_payload =
    R"({"workspace_id":"ws_0123456789abcdefghijkl","name":"acme","key_prefix":"qg",)"
    R"("created_at":"2026-11-23T19:36:02.123456Z"})";

// Replaces the first `from` in `payload` with `to` (the test fails if `from` is absent).
std::string with(std::string payload, const std::string& from, const std::string& to) {
  const auto pos = payload.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos == std::string::npos) return payload;
  return payload.replace(pos, from.size(), to);
}

// ---- exact encodings ---------------------------------------------------------------------------

TEST(event_codec, key_created_writes_every_member_in_a_fixed_order) {
  EXPECT_EQ(encode_payload(domain::api_key_event{full_created()}),
            R"({"key_id":"key_0123456789abcdefghijkl","workspace_id":"ws_0123456789abcdefghijkl",)"
            R"("name":"ci-deploy","environment":"live","scopes":["leads:read","leads:write"],)"
            R"("key_hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
            R"("start":"kl_live_AbC1","created_at":"2026-11-23T19:36:02.123456Z",)"
            R"("expires_at":"2027-02-21T19:36:02.123456Z",)"
            R"("allowed_cidrs":["10.0.0.0/8","2001:db8::/32"],)"
            R"("postback_url":"https://example.com/hooks","off_the_record":true,"enabled":false,)"
            R"("limit":{"limit":100,"window_seconds":60},)"
            R"("rotated_from":"key_OLD3456789abcdefghijkl"})");
}

TEST(event_codec, key_created_writes_null_for_settings_that_are_not_set) {
  EXPECT_EQ(encode_payload(domain::api_key_event{sample_created()}),
            old_key_created_payload.substr(0, old_key_created_payload.size() - 1) +
                R"(,"expires_at":null,"allowed_cidrs":[],"postback_url":null,)"
                R"("off_the_record":false,"enabled":true,"limit":null,"rotated_from":null})");
}

TEST(event_codec, key_updated_writes_only_present_members) {
  domain::key_updated e;
  e.key_id = "key_x";
  e.updated_at = t1;
  EXPECT_EQ(encode_payload(domain::api_key_event{e}),
            R"({"key_id":"key_x","updated_at":"2026-11-23T19:36:02.123456Z"})");
  e.name = "renamed";
  e.limit = std::optional<domain::rate_limit>{};
  EXPECT_EQ(encode_payload(domain::api_key_event{e}),
            R"({"key_id":"key_x","name":"renamed","limit":null,)"
            R"("updated_at":"2026-11-23T19:36:02.123456Z"})");
  e.scopes = std::vector<std::string>{};
  e.allowed_cidrs = std::vector<std::string>{"::1/128"};
  e.postback_url = "";
  e.off_the_record = false;
  e.limit = std::optional<domain::rate_limit>{{5, 1}};
  EXPECT_EQ(encode_payload(domain::api_key_event{e}),
            R"({"key_id":"key_x","name":"renamed","scopes":[],"allowed_cidrs":["::1/128"],)"
            R"("postback_url":null,"off_the_record":false,"limit":{"limit":5,"window_seconds":1},)"
            R"("updated_at":"2026-11-23T19:36:02.123456Z"})");
}

TEST(event_codec, small_events_have_fixed_encodings) {
  const std::pair<domain::api_key_event, std::string> cases[] = {
      {domain::key_revoked{"key_x", t1},
       R"({"key_id":"key_x","revoked_at":"2026-11-23T19:36:02.123456Z"})"},
      {domain::key_disabled{"key_x", t1},
       R"({"key_id":"key_x","disabled_at":"2026-11-23T19:36:02.123456Z"})"},
      {domain::key_enabled{"key_x", t1},
       R"({"key_id":"key_x","enabled_at":"2026-11-23T19:36:02.123456Z"})"},
      {domain::key_rotated{"key_x", "key_y", t1, t1 + 24h},
       R"({"key_id":"key_x","rotated_to":"key_y","rotated_at":"2026-11-23T19:36:02.123456Z",)"
       R"("grace_until":"2026-11-24T19:36:02.123456Z"})"},
      {domain::key_expired{"key_x", t1},
       R"({"key_id":"key_x","expired_at":"2026-11-23T19:36:02.123456Z"})"},
      {domain::key_expiry_approaching{"key_x", t1},
       R"({"key_id":"key_x","expires_at":"2026-11-23T19:36:02.123456Z","days_before":14})"},
      {domain::key_expiry_approaching{"key_x", t1, 1},
       R"({"key_id":"key_x","expires_at":"2026-11-23T19:36:02.123456Z","days_before":1})"},
  };
  for (const auto& [e, payload] : cases) EXPECT_EQ(encode_payload(e), payload);
}

TEST(event_codec, an_expiry_warning_stored_before_the_last_warning_is_the_fourteen_day_one) {
  const auto e = decode_api_key_event("KeyExpiryApproaching",
                                      R"({"key_id":"key_x","expires_at":"2026-11-23T19:36:02Z"})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::get<domain::key_expiry_approaching>(*e).days_before, 14);
  for (const char* bad :
       {R"({"key_id":"k","expires_at":"2026-11-23T19:36:02Z","days_before":0})",
        R"({"key_id":"k","expires_at":"2026-11-23T19:36:02Z","days_before":"1"})",
        R"({"key_id":"k","expires_at":"2026-11-23T19:36:02Z","days_before":null})",
        R"({"key_id":"k","expires_at":"2026-11-23T19:36:02Z","days_before":1.5})"}) {
    EXPECT_FALSE(decode_api_key_event("KeyExpiryApproaching", bad)) << bad;
  }
}

TEST(event_codec, workspace_created_writes_the_key_policy) {
  domain::workspace_created e{"ws_0123456789abcdefghijkl", "acme", "qg", t1, {}, {}};
  e.policy.allow_no_expiry = true;
  e.policy.names_allow_spaces = false;
  e.policy.default_lifespan = std::chrono::days{30};
  EXPECT_EQ(encode_payload(domain::workspace_event{e}),
            old_workspace_created_payload.substr(0, old_workspace_created_payload.size() - 1) +
                R"(,"key_policy":{"default_lifespan_days":30,"max_lifespan_days":365,)"
                R"("allow_no_expiry":true,"names_allow_spaces":false}})");
}

// ---- round trips
// ---------------------------------------------------------------------------------

std::vector<domain::api_key_event> every_kind_of_key_event() {
  std::vector<domain::api_key_event> out;
  out.emplace_back(sample_created());
  out.emplace_back(full_created());
  {
    auto e = full_created();
    e.env = domain::environment::test;
    e.expires_at.reset();
    e.limit = domain::rate_limit{1'000'000, 86'400};
    e.scopes.clear();
    e.name = "we\"ird\\na\nme\xc3\xa9 \xf0\x9f\x94\x91";
    e.created_at = at(0);
    out.emplace_back(e);
  }
  domain::key_updated u;
  u.key_id = "key_x";
  u.updated_at = t1;
  out.emplace_back(u);  // nothing changed (never decided, but must still encode)
  u.name = "renamed";
  out.emplace_back(u);
  u.limit = std::optional<domain::rate_limit>{};
  u.postback_url = "";
  out.emplace_back(u);
  u.scopes = std::vector<std::string>{"a:b", "c:d"};
  u.allowed_cidrs = std::vector<std::string>{};
  u.postback_url = "http://127.0.0.1:9000/h";
  u.off_the_record = true;
  u.limit = std::optional<domain::rate_limit>{{7, 3600}};
  out.emplace_back(u);
  out.emplace_back(domain::key_disabled{"key_x", t1 + 1s});
  out.emplace_back(domain::key_enabled{"key_x", t1 + 2s});
  out.emplace_back(domain::key_rotated{"key_x", "key_y", t1, t1});
  out.emplace_back(domain::key_rotated{"key_x", "key_y", t1, t1 + 30 * 24h});
  out.emplace_back(domain::key_revoked{"key_x", t1 + 1s});
  out.emplace_back(domain::key_expired{"key_x", t1});
  out.emplace_back(domain::key_expiry_approaching{"key_x", t1 + 14 * 24h});
  out.emplace_back(domain::key_expiry_approaching{"key_x", t1 + 24h, 1});
  return out;
}

TEST(event_codec, every_key_event_round_trips_byte_for_byte) {
  for (const auto& e : every_kind_of_key_event()) {
    const std::string type(domain::event_type(e));
    const std::string payload = encode_payload(e);
    const auto back = decode_api_key_event(type, payload);
    ASSERT_TRUE(back.has_value()) << type << " " << payload;
    EXPECT_EQ(*back, e) << payload;
    // Same event, same bytes (the log hash-chains the exact bytes).
    EXPECT_EQ(encode_payload(*back), payload);
  }
}

TEST(event_codec, workspace_created_round_trips) {
  domain::workspace_created e{"ws_x", "acme-corp", "qg", t1, {}, {}};
  for (const bool flag : {false, true}) {
    e.policy.allow_no_expiry = flag;
    e.policy.names_allow_spaces = !flag;
    e.policy.default_lifespan = std::chrono::days{flag ? 1 : 3650};
    e.policy.max_lifespan = std::chrono::days{3650};
    const std::string payload = encode_payload(domain::workspace_event{e});
    const auto back = decode_workspace_event("WorkspaceCreated", payload);
    ASSERT_TRUE(back.has_value()) << payload;
    EXPECT_EQ(std::get<domain::workspace_created>(*back), e);
    EXPECT_EQ(encode_payload(*back), payload);
  }
}

// ---- payloads written before the lifecycle issue ------------------------------------------------

TEST(event_codec, an_old_key_created_decodes_with_the_documented_defaults) {
  const auto back = decode_api_key_event("KeyCreated", old_key_created_payload);
  ASSERT_TRUE(back.has_value());
  const auto& e = std::get<domain::key_created>(*back);
  EXPECT_EQ(e, sample_created());
  EXPECT_FALSE(e.expires_at.has_value());  // old keys never expired
  EXPECT_TRUE(e.allowed_cidrs.empty());    // anywhere
  EXPECT_EQ(e.postback_url, "");
  EXPECT_FALSE(e.off_the_record);
  EXPECT_TRUE(e.enabled);
  EXPECT_FALSE(e.limit.has_value());
  EXPECT_EQ(e.rotated_from, "");
}

TEST(event_codec, an_old_workspace_created_decodes_with_the_default_policy) {
  const auto back = decode_workspace_event("WorkspaceCreated", old_workspace_created_payload);
  ASSERT_TRUE(back.has_value());
  const auto& e = std::get<domain::workspace_created>(*back);
  EXPECT_EQ(e.key_prefix, "qg");
  EXPECT_EQ(e.policy, domain::key_policy{});
  EXPECT_EQ(e.policy.default_lifespan, std::chrono::days{90});
  EXPECT_EQ(e.policy.max_lifespan, std::chrono::days{365});
}

// ---- absent versus null
// --------------------------------------------------------------------------

TEST(event_codec, key_created_reads_null_as_not_set) {
  std::string p = encode_payload(domain::api_key_event{full_created()});
  p = with(p, R"("expires_at":"2027-02-21T19:36:02.123456Z")", R"("expires_at":null)");
  p = with(p, R"("postback_url":"https://example.com/hooks")", R"("postback_url":null)");
  p = with(p, R"("limit":{"limit":100,"window_seconds":60})", R"("limit":null)");
  p = with(p, R"("rotated_from":"key_OLD3456789abcdefghijkl")", R"("rotated_from":null)");
  const auto back = decode_api_key_event("KeyCreated", p);
  ASSERT_TRUE(back.has_value()) << p;
  const auto& e = std::get<domain::key_created>(*back);
  EXPECT_FALSE(e.expires_at);
  EXPECT_EQ(e.postback_url, "");
  EXPECT_FALSE(e.limit);
  EXPECT_EQ(e.rotated_from, "");
  EXPECT_TRUE(e.off_the_record);  // the others are untouched
}

TEST(event_codec, key_updated_absent_means_unchanged_and_null_means_removed) {
  const auto absent =
      decode_api_key_event("KeyUpdated", R"({"key_id":"k","updated_at":"2026-11-23T19:36:02Z"})");
  ASSERT_TRUE(absent.has_value());
  const auto& a = std::get<domain::key_updated>(*absent);
  EXPECT_FALSE(a.postback_url.has_value());
  EXPECT_FALSE(a.limit.has_value());
  EXPECT_FALSE(a.name.has_value());

  const auto removed = decode_api_key_event(
      "KeyUpdated",
      R"({"key_id":"k","postback_url":null,"limit":null,"updated_at":"2026-11-23T19:36:02Z"})");
  ASSERT_TRUE(removed.has_value());
  const auto& r = std::get<domain::key_updated>(*removed);
  ASSERT_TRUE(r.postback_url.has_value());
  EXPECT_EQ(*r.postback_url, "");
  ASSERT_TRUE(r.limit.has_value());
  EXPECT_FALSE(r.limit->has_value());

  // "" is read as removed too (the domain's spelling of "no URL").
  const auto empty = decode_api_key_event(
      "KeyUpdated", R"({"key_id":"k","postback_url":"","updated_at":"2026-11-23T19:36:02Z"})");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(std::get<domain::key_updated>(*empty).postback_url, "");
}

// ---- refusals
// --------------------------------------------------------------------------------------

TEST(event_codec, unknown_types_do_not_decode) {
  const std::string key_payload = encode_payload(domain::api_key_event{sample_created()});
  EXPECT_FALSE(decode_api_key_event("KeyExploded", key_payload));
  EXPECT_FALSE(decode_api_key_event("keycreated", key_payload));
  EXPECT_FALSE(decode_api_key_event("", key_payload));
  EXPECT_FALSE(decode_api_key_event("WorkspaceCreated", key_payload));
  EXPECT_FALSE(decode_api_key_event("KeyCreated\0"s, key_payload));
  EXPECT_FALSE(decode_workspace_event("KeyCreated", old_workspace_created_payload));
  EXPECT_FALSE(decode_workspace_event("workspacecreated", old_workspace_created_payload));
}

TEST(event_codec, garbage_does_not_decode_as_any_type) {
  const std::vector<std::string> garbage = {
      "",
      "not json",
      "[]",
      "null",
      "\"KeyRevoked\"",
      "{",
      "{}",
      R"({"key_id":"k","revoked_at":"2026-11-23T19:36:02Z"} trailing)",
      "{\"key_id\":\"k\",\"revoked_at\":\"2026-11-23T19:36:02Z\"}\0{}"s,
      "{\"key_id\":\"\xff\",\"revoked_at\":\"2026-11-23T19:36:02Z\"}",
      std::string(100000, '['),
      std::string(100000, '{'),
  };
  const char* types[] = {"KeyCreated", "KeyUpdated", "KeyDisabled", "KeyEnabled",
                         "KeyRotated", "KeyRevoked", "KeyExpired",  "KeyExpiryApproaching"};
  for (const auto& g : garbage) {
    for (const char* type : types) EXPECT_FALSE(decode_api_key_event(type, g)) << type;
    EXPECT_FALSE(decode_workspace_event("WorkspaceCreated", g)) << g.substr(0, 80);
  }
}

TEST(event_codec, small_events_are_strict_about_their_members) {
  const std::pair<const char*, const char*> bad[] = {
      {"KeyRevoked", R"({"key_id":"k"})"},
      {"KeyRevoked", R"({"revoked_at":"2026-11-23T19:36:02Z"})"},
      {"KeyRevoked", R"({"key_id":7,"revoked_at":"2026-11-23T19:36:02Z"})"},
      {"KeyRevoked", R"({"key_id":null,"revoked_at":"2026-11-23T19:36:02Z"})"},
      {"KeyRevoked", R"({"key_id":"k","revoked_at":"yesterday"})"},
      {"KeyRevoked", R"({"key_id":"k","revoked_at":null})"},
      {"KeyRevoked", R"({"key_id":"k","revoked_at":1795462562})"},
      {"KeyRevoked", R"({"key_id":"k","key_id":"j","revoked_at":"2026-11-23T19:36:02Z"})"},
      {"KeyDisabled", R"({"key_id":"k","revoked_at":"2026-11-23T19:36:02Z"})"},
      {"KeyEnabled", R"({"key_id":"k","disabled_at":"2026-11-23T19:36:02Z"})"},
      {"KeyRotated", R"({"key_id":"k","rotated_to":"j","rotated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyRotated", R"({"key_id":"k","rotated_to":null,"rotated_at":"2026-11-23T19:36:02Z",)"
                     R"("grace_until":"2026-11-23T19:36:02Z"})"},
      {"KeyExpired", R"({"key_id":"k","expires_at":"2026-11-23T19:36:02Z"})"},
      {"KeyExpiryApproaching", R"({"key_id":"k","expired_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k"})"},
      {"KeyUpdated", R"({"key_id":"k","name":null,"updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k","scopes":null,"updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k","scopes":"a:b","updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated",
       R"({"key_id":"k","allowed_cidrs":[null],"updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k","off_the_record":null,"updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k","off_the_record":1,"updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k","postback_url":7,"updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k","postback_url":null,"postback_url":"https://x.example",)"
                     R"("updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k","limit":5,"updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated", R"({"key_id":"k","limit":{},"updated_at":"2026-11-23T19:36:02Z"})"},
      {"KeyUpdated",
       R"({"key_id":"k","limit":null,"limit":null,"updated_at":"2026-11-23T19:36:02Z"})"},
  };
  for (const auto& [type, payload] : bad) {
    EXPECT_FALSE(decode_api_key_event(type, payload)) << type << " " << payload;
  }
}

TEST(event_codec, key_created_is_strict_about_every_member_type) {
  const std::string p = encode_payload(domain::api_key_event{full_created()});
  const std::pair<std::string, std::string> bad[] = {
      {R"("live")", R"("prod")"},
      {R"("live")", R"("LIVE")"},
      {R"("leads:write")", "7"},
      {R"(["leads:read","leads:write"])", R"("leads")"},
      {R"("start":)", R"("begin":)"},
      {R"("expires_at":"2027-02-21T19:36:02.123456Z")", R"("expires_at":1)"},
      {R"("expires_at":"2027-02-21T19:36:02.123456Z")", R"("expires_at":"2027-02-21")"},
      {R"("allowed_cidrs":["10.0.0.0/8","2001:db8::/32"])", R"("allowed_cidrs":null)"},
      {R"("allowed_cidrs":["10.0.0.0/8","2001:db8::/32"])", R"("allowed_cidrs":"10.0.0.0/8")"},
      {R"("allowed_cidrs":["10.0.0.0/8","2001:db8::/32"])", R"("allowed_cidrs":[10])"},
      {R"("postback_url":"https://example.com/hooks")", R"("postback_url":false)"},
      {R"("off_the_record":true)", R"("off_the_record":null)"},
      {R"("off_the_record":true)", R"("off_the_record":"true")"},
      {R"("enabled":false)", R"("enabled":0)"},
      {R"("enabled":false)", R"("enabled":null)"},
      {R"("limit":{"limit":100,"window_seconds":60})", R"("limit":100)"},
      {R"("limit":{"limit":100,"window_seconds":60})", R"("limit":[100,60])"},
      {R"("limit":{"limit":100,"window_seconds":60})", R"("limit":{"limit":100})"},
      {R"("limit":{"limit":100,"window_seconds":60})", R"("limit":{"window_seconds":60})"},
      {R"("limit":{"limit":100,"window_seconds":60})",
       R"("limit":{"limit":-1,"window_seconds":60})"},
      {R"("limit":{"limit":100,"window_seconds":60})",
       R"("limit":{"limit":1.5,"window_seconds":60})"},
      {R"("limit":{"limit":100,"window_seconds":60})",
       R"("limit":{"limit":4294967296,"window_seconds":60})"},
      {R"("limit":{"limit":100,"window_seconds":60})",
       R"("limit":{"limit":"100","window_seconds":60})"},
      {R"("limit":{"limit":100,"window_seconds":60})",
       R"("limit":{"limit":100,"limit":5,"window_seconds":60})"},
      {R"("rotated_from":"key_OLD3456789abcdefghijkl")", R"("rotated_from":[])"},
      {R"("enabled":false)", R"("enabled":false,"enabled":true)"},
  };
  for (const auto& [from, to] : bad) {
    const std::string payload = with(p, from, to);
    EXPECT_FALSE(decode_api_key_event("KeyCreated", payload)) << payload;
  }
}

TEST(event_codec, workspace_created_is_strict_about_the_policy) {
  const std::string p = encode_payload(domain::workspace_event{
      domain::workspace_created{"ws_x", "acme", "qg", t1, domain::key_policy{}, {}}});
  const std::pair<std::string, std::string> bad[] = {
      {R"("key_policy":{)", R"("key_policy":null,"x":{)"},
      {R"("key_policy":{)", R"("key_policy":[],"x":{)"},
      {R"("default_lifespan_days":90)", R"("default_lifespan_days":"90")"},
      {R"("default_lifespan_days":90)", R"("default_lifespan_days":90.5)"},
      {R"("default_lifespan_days":90)", R"("default_lifespan_days":9999999999)"},
      {R"("default_lifespan_days":90,)", ""},
      {R"("max_lifespan_days":365)", R"("max_lifespan_days":null)"},
      {R"("allow_no_expiry":false)", R"("allow_no_expiry":0)"},
      {R"(,"names_allow_spaces":true)", ""},
      {R"("names_allow_spaces":true)", R"("names_allow_spaces":"yes")"},
  };
  for (const auto& [from, to] : bad) {
    const std::string payload = with(p, from, to);
    EXPECT_FALSE(decode_workspace_event("WorkspaceCreated", payload)) << payload;
  }
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
      R"("plan":"pro","key_policy":{"default_lifespan_days":1,"max_lifespan_days":2,)"
      R"("allow_no_expiry":true,"names_allow_spaces":true,"future":1}})");
  ASSERT_TRUE(ws.has_value());
  EXPECT_EQ(std::get<domain::workspace_created>(*ws).policy.max_lifespan, std::chrono::days{2});
  const auto created = decode_api_key_event(
      "KeyCreated", with(old_key_created_payload, R"("start")",
                         R"("limit":{"limit":3,"window_seconds":4,"burst":9},"start")"));
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(std::get<domain::key_created>(*created).limit, (domain::rate_limit{3, 4}));
}

TEST(event_codec, member_order_does_not_matter_on_decode) {
  const auto back = decode_api_key_event(
      "KeyRevoked", R"( { "revoked_at" : "2026-11-23T19:36:02.123456Z" , "key_id" : "k" } )");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<domain::key_revoked>(*back), (domain::key_revoked{"k", t1}));
}

// ---- users and roles: key owners, scope catalog, workspace settings ---------------------------

const std::string an_owner = "usr_0123456789ABCDEFGHIJKL";

TEST(event_codec, key_created_writes_the_owner_last_and_only_when_set) {
  auto e = full_created();
  e.owner_user_id = an_owner;
  const std::string without_owner = encode_payload(domain::api_key_event{full_created()});
  EXPECT_EQ(encode_payload(domain::api_key_event{e}),
            without_owner.substr(0, without_owner.size() - 1) +
                R"(,"owner_user_id":"usr_0123456789ABCDEFGHIJKL"})");
  // An ownerless key is written exactly as before owners existed.
  EXPECT_EQ(without_owner.find("owner_user_id"), std::string::npos);
}

TEST(event_codec, key_created_with_an_owner_round_trips_byte_for_byte) {
  for (auto e : {sample_created(), full_created()}) {
    e.owner_user_id = an_owner;
    const std::string payload = encode_payload(domain::api_key_event{e});
    const auto back = decode_api_key_event("KeyCreated", payload);
    ASSERT_TRUE(back.has_value()) << payload;
    EXPECT_EQ(std::get<domain::key_created>(*back), e);
    EXPECT_EQ(encode_payload(*back), payload);
  }
}

TEST(event_codec, a_key_created_without_owner_decodes_as_ownerless) {
  // Written before users and roles (first release and lifecycle payloads alike).
  const auto old = decode_api_key_event("KeyCreated", old_key_created_payload);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(std::get<domain::key_created>(*old).owner_user_id, "");
  const auto lifecycle =
      decode_api_key_event("KeyCreated", encode_payload(domain::api_key_event{full_created()}));
  ASSERT_TRUE(lifecycle.has_value());
  EXPECT_EQ(std::get<domain::key_created>(*lifecycle).owner_user_id, "");
  // null reads as no owner too, like the other "not set" members.
  const auto null_owner = decode_api_key_event(
      "KeyCreated", with(old_key_created_payload, R"("start")", R"("owner_user_id":null,"start")"));
  ASSERT_TRUE(null_owner.has_value());
  EXPECT_EQ(std::get<domain::key_created>(*null_owner).owner_user_id, "");
}

TEST(event_codec, key_created_is_strict_about_the_owner_type) {
  auto e = sample_created();
  e.owner_user_id = an_owner;
  const std::string p = encode_payload(domain::api_key_event{e});
  const std::string owner = R"("owner_user_id":"usr_0123456789ABCDEFGHIJKL")";
  for (const std::string& to :
       {R"("owner_user_id":7)"s, R"("owner_user_id":["usr_0123456789ABCDEFGHIJKL"])"s,
        R"("owner_user_id":{})"s, R"("owner_user_id":false)"s,
        owner + R"(,"owner_user_id":"usr_abcdefghijklmnopqrstuv")"}) {
    const std::string payload = with(p, owner, to);
    EXPECT_FALSE(decode_api_key_event("KeyCreated", payload)) << payload;
  }
}

TEST(event_codec, workspace_created_writes_the_catalog_after_the_policy_and_only_when_set) {
  domain::workspace_created e{"ws_0123456789abcdefghijkl", "acme", "qg", t1, {}, {}};
  const std::string without_catalog = encode_payload(domain::workspace_event{e});
  EXPECT_EQ(without_catalog,
            old_workspace_created_payload.substr(0, old_workspace_created_payload.size() - 1) +
                R"(,"key_policy":{"default_lifespan_days":90,"max_lifespan_days":365,)"
                R"("allow_no_expiry":false,"names_allow_spaces":true}})");
  e.scope_catalog = {"leads:read", "leads:write", "calendar:read"};
  EXPECT_EQ(encode_payload(domain::workspace_event{e}),
            without_catalog.substr(0, without_catalog.size() - 1) +
                R"(,"scope_catalog":["leads:read","leads:write","calendar:read"]})");
}

TEST(event_codec, workspace_created_with_a_catalog_round_trips_and_old_ones_have_none) {
  domain::workspace_created e{"ws_x", "acme", "qg", t1, {}, {"leads:read", "messages:write"}};
  const std::string payload = encode_payload(domain::workspace_event{e});
  const auto back = decode_workspace_event("WorkspaceCreated", payload);
  ASSERT_TRUE(back.has_value()) << payload;
  EXPECT_EQ(std::get<domain::workspace_created>(*back), e);
  EXPECT_EQ(encode_payload(*back), payload);

  const auto old = decode_workspace_event("WorkspaceCreated", old_workspace_created_payload);
  ASSERT_TRUE(old.has_value());
  EXPECT_TRUE(std::get<domain::workspace_created>(*old).scope_catalog.empty());
}

TEST(event_codec, workspace_created_is_strict_about_the_catalog) {
  const std::string p = encode_payload(domain::workspace_event{
      domain::workspace_created{"ws_x", "acme", "qg", t1, {}, {"leads:read"}}});
  const std::string catalog = R"("scope_catalog":["leads:read"])";
  for (const std::string& to : {R"("scope_catalog":null)"s, R"("scope_catalog":"leads:read")"s,
                                R"("scope_catalog":[1])"s, R"("scope_catalog":[null])"s,
                                R"("scope_catalog":{})"s, catalog + R"(,"scope_catalog":[])"}) {
    const std::string payload = with(p, catalog, to);
    EXPECT_FALSE(decode_workspace_event("WorkspaceCreated", payload)) << payload;
  }
}

domain::workspace_settings_changed settings_changed() {
  domain::workspace_settings_changed e;
  e.workspace_id = "ws_0123456789abcdefghijkl";
  e.changed_by = an_owner;
  e.changed_at = t1;
  return e;
}

TEST(event_codec, workspace_settings_changed_writes_only_changed_members_in_a_fixed_order) {
  auto e = settings_changed();
  e.policy = domain::key_policy{std::chrono::days{30}, std::chrono::days{180}, true, false};
  e.scope_catalog = std::vector<std::string>{"leads:read", "calendar:read"};
  EXPECT_EQ(encode_payload(domain::workspace_event{e}),
            R"({"workspace_id":"ws_0123456789abcdefghijkl",)"
            R"("key_policy":{"default_lifespan_days":30,"max_lifespan_days":180,)"
            R"("allow_no_expiry":true,"names_allow_spaces":false},)"
            R"("scope_catalog":["leads:read","calendar:read"],)"
            R"("changed_by":"usr_0123456789ABCDEFGHIJKL",)"
            R"("changed_at":"2026-11-23T19:36:02.123456Z"})");

  auto catalog_only = settings_changed();
  catalog_only.scope_catalog = std::vector<std::string>{};
  EXPECT_EQ(encode_payload(domain::workspace_event{catalog_only}),
            R"({"workspace_id":"ws_0123456789abcdefghijkl","scope_catalog":[],)"
            R"("changed_by":"usr_0123456789ABCDEFGHIJKL",)"
            R"("changed_at":"2026-11-23T19:36:02.123456Z"})");

  auto policy_only = settings_changed();
  policy_only.policy = domain::key_policy{};
  EXPECT_EQ(encode_payload(domain::workspace_event{policy_only}),
            R"({"workspace_id":"ws_0123456789abcdefghijkl",)"
            R"("key_policy":{"default_lifespan_days":90,"max_lifespan_days":365,)"
            R"("allow_no_expiry":false,"names_allow_spaces":true},)"
            R"("changed_by":"usr_0123456789ABCDEFGHIJKL",)"
            R"("changed_at":"2026-11-23T19:36:02.123456Z"})");
}

TEST(event_codec, workspace_settings_changed_round_trips_absent_as_unchanged) {
  std::vector<domain::workspace_settings_changed> cases;
  cases.push_back(settings_changed());  // nothing changed (never decided, but must encode)
  auto e = settings_changed();
  e.policy = domain::key_policy{std::chrono::days{1}, std::chrono::days{3650}, true, true};
  cases.push_back(e);
  e.scope_catalog = std::vector<std::string>{"a:b"};
  cases.push_back(e);
  e.policy.reset();
  e.scope_catalog = std::vector<std::string>{};
  cases.push_back(e);
  for (const auto& c : cases) {
    const domain::workspace_event event{c};
    EXPECT_EQ(domain::event_type(event), "WorkspaceSettingsChanged");
    const std::string payload = encode_payload(event);
    const auto back = decode_workspace_event("WorkspaceSettingsChanged", payload);
    ASSERT_TRUE(back.has_value()) << payload;
    const auto& got = std::get<domain::workspace_settings_changed>(*back);
    EXPECT_EQ(got, c) << payload;
    EXPECT_EQ(got.policy.has_value(), c.policy.has_value());
    EXPECT_EQ(got.scope_catalog.has_value(), c.scope_catalog.has_value());
    EXPECT_EQ(encode_payload(*back), payload);
  }
}

TEST(event_codec, workspace_settings_changed_is_strict_about_its_members) {
  auto e = settings_changed();
  e.policy = domain::key_policy{};
  e.scope_catalog = std::vector<std::string>{"leads:read"};
  const std::string p = encode_payload(domain::workspace_event{e});
  ASSERT_TRUE(decode_workspace_event("WorkspaceSettingsChanged", p));
  const std::pair<std::string, std::string> bad[] = {
      {R"("workspace_id":"ws_0123456789abcdefghijkl",)", ""},
      {R"("workspace_id":"ws_0123456789abcdefghijkl")", R"("workspace_id":null)"},
      {R"(,"changed_by":"usr_0123456789ABCDEFGHIJKL")", ""},
      {R"("changed_by":"usr_0123456789ABCDEFGHIJKL")", R"("changed_by":null)"},
      {R"(,"changed_at":"2026-11-23T19:36:02.123456Z")", ""},
      {R"("changed_at":"2026-11-23T19:36:02.123456Z")", R"("changed_at":"yesterday")"},
      {R"("key_policy":{)", R"("key_policy":null,"x":{)"},
      {R"("default_lifespan_days":90,)", ""},
      {R"("allow_no_expiry":false)", R"("allow_no_expiry":"no")"},
      {R"("scope_catalog":["leads:read"])", R"("scope_catalog":null)"},
      {R"("scope_catalog":["leads:read"])", R"("scope_catalog":["leads:read",2])"},
      {R"("scope_catalog":["leads:read"])", R"("scope_catalog":[],"scope_catalog":[])"},
  };
  for (const auto& [from, to] : bad) {
    const std::string payload = with(p, from, to);
    EXPECT_FALSE(decode_workspace_event("WorkspaceSettingsChanged", payload)) << payload;
  }
  // The type decides the decoder: a settings payload is not a WorkspaceCreated, nor a key event.
  EXPECT_FALSE(decode_workspace_event("WorkspaceCreated", p));
  EXPECT_FALSE(decode_workspace_event("workspacesettingschanged", p));
  EXPECT_FALSE(decode_api_key_event("WorkspaceSettingsChanged", p));
  for (const std::string& g : {""s, "null"s, "{}"s, "[]"s, p + "x"}) {
    EXPECT_FALSE(decode_workspace_event("WorkspaceSettingsChanged", g)) << g;
  }
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

TEST(event_codec, metadata_decodes_back_tolerating_members_it_does_not_know) {
  for (const event_metadata& m : {event_metadata{}, event_metadata{"key_a", "req_b", "::1", "i"},
                                  event_metadata{"", "req_b", "", "idem\"1"}}) {
    const auto back = decode_metadata(encode_metadata(m));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->actor, m.actor);
    EXPECT_EQ(back->request_id, m.request_id);
    EXPECT_EQ(back->source_ip, m.source_ip);
    EXPECT_EQ(back->idempotency_key, m.idempotency_key);
  }
  const auto newer = decode_metadata(R"({"actor":"usr_x","on_behalf_of":"usr_y"})");
  ASSERT_TRUE(newer);
  EXPECT_EQ(newer->actor, "usr_x");
  EXPECT_FALSE(decode_metadata(R"({"actor":7})"));
  EXPECT_FALSE(decode_metadata(R"({"actor":null})"));
  EXPECT_FALSE(decode_metadata("[]"));
  EXPECT_FALSE(decode_metadata(""));
  // Found by tests/fuzz event_codecs (corpus/event_codecs/regression_metadata_empty_view): an
  // empty view whose data() is null reached memchr in json_body.
  EXPECT_FALSE(decode_metadata(std::string_view{}));
}

}  // namespace
}  // namespace keyledger::infra
