#include "infra/json/detail/canonical_key_created.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "infra/json/event_codec.hpp"

namespace keyledger::infra::detail {
namespace {

using namespace std::chrono_literals;

const domain::timestamp t1 = domain::timestamp{std::chrono::microseconds{1795462562123456}};

// KeyCreated events across every member's shapes: each optional set and unset, lists of none,
// one and several, limits at the edges of uint32, names with spaces, keys with and without owner.
std::vector<domain::key_created> variety() {
  std::vector<domain::key_created> out;
  for (int i = 0; i < 64; ++i) {
    domain::key_created e;
    e.key_id = "key_" + std::to_string(1000000 + i) + "abcdefghijklmnop";
    e.workspace_id = "ws_0123456789abcdefghijkl";
    e.name = i % 3 == 0 ? "billing key " + std::to_string(i) : "svc-" + std::to_string(i);
    e.env = i % 2 == 0 ? domain::environment::live : domain::environment::test;
    for (int s = 0; s <= i % 4; ++s) e.scopes.push_back("scope" + std::to_string(s) + ":read");
    e.key_hash = std::string(64, "0123456789abcdef"[i % 16]);
    e.start = "kl_live_AbC" + std::to_string(i % 10);
    e.created_at = t1 + std::chrono::microseconds(i * 1000 + (i % 7));
    if (i & 1) e.expires_at = t1 + 90 * 24h;
    if (i & 2) e.allowed_cidrs = {"127.0.0.1/32"};
    if (i & 4) e.allowed_cidrs.push_back("2001:db8::/32");
    if (i & 8) e.postback_url = "https://example.com/hooks?x=" + std::to_string(i);
    e.off_the_record = (i & 16) != 0;
    e.enabled = (i & 32) == 0;
    if (i % 5 == 0) e.limit = domain::rate_limit{1000, 60};
    if (i % 5 == 1) e.limit = domain::rate_limit{0, 4294967295u};
    if (i % 9 == 0) e.rotated_from = "key_OLD3456789abcdefghijkl";
    if (i % 4 != 3) e.owner_user_id = "usr_" + std::to_string(i) + "0123456789abcdefghij";
    out.push_back(std::move(e));
  }
  return out;
}

TEST(canonical_key_created, what_the_encoder_writes_takes_the_fast_path_and_decodes_as_the_dom) {
  for (const auto& e : variety()) {
    const std::string payload = encode_payload(domain::api_key_event{e});
    const auto fast = decode_canonical_key_created(payload);
    ASSERT_TRUE(fast.has_value()) << payload;
    EXPECT_EQ(*fast, e) << payload;
    const auto dom = decode_key_created_with_dom(payload);
    ASSERT_TRUE(dom.has_value()) << payload;
    EXPECT_EQ(*fast, *dom) << payload;
    // And the public entry gives the same event.
    const auto decoded = decode_api_key_event("KeyCreated", payload);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(std::get<domain::key_created>(*decoded), e);
  }
}

// Replaces the first `from` with `to` (the test fails if `from` is absent).
std::string with(std::string payload, const std::string& from, const std::string& to) {
  const auto at = payload.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) payload.replace(at, from.size(), to);
  return payload;
}

TEST(canonical_key_created, anything_else_is_left_to_the_dom_which_decides) {
  domain::key_created e = variety()[15];
  e.owner_user_id = "usr_0123456789abcdefghijkl";
  const std::string p = encode_payload(domain::api_key_event{e});
  ASSERT_TRUE(decode_canonical_key_created(p).has_value());
  const std::vector<std::string> others = {
      " " + p,                                            // whitespace before
      p + " ",                                            // and after
      with(p, "\":\"", "\": \""),                         // between tokens
      with(p, "billing", "b\\u0069lling"),                // an escape
      with(p, "billing", "b\xc3\xa9lling"),               // UTF-8
      with(p, "billing", "bil\x01ling"),                  // a control character
      with(p, "\"enabled\"", "\"extra\":1,\"enabled\""),  // an unknown member
      with(p, ",\"owner_user_id\"", ",\"owner_user_id\":\"x\",\"owner_user_id\""),  // twice
      with(p, "\"limit\":1000", "\"limit\":01000"),        // a leading zero
      with(p, "\"limit\":1000", "\"limit\":1000.0"),       // a fraction
      with(p, "\"limit\":1000", "\"limit\":-1000"),        // a sign
      with(p, "\"limit\":1000", "\"limit\":4294967296"),   // past uint32
      with(p, "\"limit\":1000", "\"limit\":10000000000"),  // eleven digits
      with(p, "\"environment\":\"test\"", "\"environment\":\"prod\""),
      with(p, "\"off_the_record\":false", "\"off_the_record\":0"),
      with(p, "2026-11-23T19:36:02", "2026-13-23T19:36:02"),  // not a timestamp
      p.substr(0, p.size() - 1),                              // cut short
      p.substr(0, p.find(",\"owner_user_id\"")),              // cut at a member
      with(p, "\"key_id\"", "\"id\""),
  };
  for (const auto& other : others) {
    EXPECT_FALSE(decode_canonical_key_created(other).has_value()) << other;
    // The public entry answers as the DOM does, whatever that is.
    const auto dom = decode_key_created_with_dom(other);
    const auto decoded = decode_api_key_event("KeyCreated", other);
    ASSERT_EQ(decoded.has_value(), dom.has_value()) << other;
    if (dom) EXPECT_EQ(std::get<domain::key_created>(*decoded), *dom) << other;
  }
  // Some of those the DOM does decode: whitespace, escapes, UTF-8, an unknown member.
  EXPECT_TRUE(decode_key_created_with_dom(" " + p).has_value());
  EXPECT_EQ(decode_key_created_with_dom(with(p, "billing", "b\\u0069lling"))->name, e.name);
  // And an older payload, without the lifecycle members, is the DOM's too.
  const std::string older =
      R"({"key_id":"key_a","workspace_id":"ws_a","name":"n","environment":"live",)"
      R"("scopes":[],"key_hash":"aa","start":"s","created_at":"2026-11-23T19:36:02.123456Z"})";
  EXPECT_FALSE(decode_canonical_key_created(older).has_value());
  EXPECT_TRUE(decode_api_key_event("KeyCreated", older).has_value());
}

TEST(canonical_key_created, an_owner_stated_as_null_reads_as_none_like_the_dom) {
  domain::key_created e = variety()[3];  // no owner: the member is absent
  const std::string p = encode_payload(domain::api_key_event{e});
  const std::string with_null =
      with(p, "\"rotated_from\":null}", "\"rotated_from\":null,\"owner_user_id\":null}");
  const auto fast = decode_canonical_key_created(with_null);
  ASSERT_TRUE(fast.has_value());
  EXPECT_EQ(*fast, *decode_key_created_with_dom(with_null));
  EXPECT_EQ(fast->owner_user_id, "");
}

TEST(canonical_key_created, decoding_into_one_kept_event_gives_each_payload_alone) {
  // One event decoded into again and again, in an order where each payload has fewer or other
  // members set than the last (scopes fewer, no owner, no limit, no expiry): nothing of an
  // earlier payload may survive into a later one. Then payloads only the DOM decodes, into the
  // same kept event, and one that does not decode at all.
  auto events = variety();
  std::reverse(events.begin(), events.end());
  domain::key_created kept;
  for (const auto& e : events) {
    const std::string payload = encode_payload(domain::api_key_event{e});
    ASSERT_TRUE(decode_key_created_into(payload, kept)) << payload;
    EXPECT_EQ(kept, e) << payload;
  }
  const std::string older =
      R"({"key_id":"key_a","workspace_id":"ws_a","name":"n","environment":"live",)"
      R"("scopes":[],"key_hash":"aa","start":"s","created_at":"2026-11-23T19:36:02.123456Z"})";
  ASSERT_TRUE(decode_key_created_into(older, kept));
  EXPECT_EQ(kept, *decode_key_created_with_dom(older));
  const std::string spaced = " " + encode_payload(domain::api_key_event{events[0]});
  ASSERT_TRUE(decode_key_created_into(spaced, kept));
  EXPECT_EQ(kept, events[0]);
  EXPECT_FALSE(decode_key_created_into(R"({"key_id":1})", kept));
  EXPECT_FALSE(decode_key_created_into("not json", kept));
}

}  // namespace
}  // namespace keyledger::infra::detail
