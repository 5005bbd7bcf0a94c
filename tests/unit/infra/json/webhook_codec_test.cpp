// Webhook endpoint event payloads: round trips, the exact stored bytes of one event, refusals.
#include "infra/json/webhook_codec.hpp"

#include <gtest/gtest.h>

namespace keyledger::infra {
namespace {

namespace wh = domain::webhooks;

domain::timestamp at(std::int64_t seconds) {
  return domain::timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

void round_trips(const wh::endpoint_event& e) {
  const auto payload = encode_payload(e);
  EXPECT_EQ(encode_payload(e), payload) << "deterministic";
  const auto back = decode_endpoint_event(wh::event_type(e), payload);
  ASSERT_TRUE(back) << payload;
  EXPECT_EQ(*back, e) << payload;
}

TEST(webhook_codec, every_event_round_trips) {
  round_trips(wh::endpoint_created{
      "whe_1", "ws_1", {"https://h.example/x", {"key.*"}}, true, "usr_1", at(0)});
  round_trips(wh::endpoint_created{
      "whe_2", "ws_1", {"http://127.0.0.1:9/x", {"*"}}, false, "key_1", at(1)});
  wh::endpoint_settings_patch p;
  p.event_types = std::vector<std::string>{"key.revoked", "oauth.*"};
  round_trips(wh::endpoint_updated{"whe_1", p, at(2)});
  p.url = "https://other.example/";
  round_trips(wh::endpoint_updated{"whe_1", p, at(3)});
  round_trips(wh::endpoint_updated{"whe_1", {}, at(4)});
  round_trips(wh::endpoint_secret_rotated{"whe_1", 2, at(90), at(5)});
  round_trips(wh::endpoint_disabled{"whe_1", wh::disable_reason::manual, std::nullopt, at(6)});
  round_trips(wh::endpoint_disabled{"whe_1", wh::disable_reason::failing, at(-400000), at(7)});
  round_trips(wh::endpoint_enabled{"whe_1", at(8)});
  round_trips(wh::endpoint_deleted{"whe_1", at(9)});
}

TEST(webhook_codec, the_stored_bytes_are_fixed) {
  EXPECT_EQ(encode_payload(wh::endpoint_created{
                "whe_1", "ws_1", {"https://h.example/x", {"key.*"}}, true, "usr_1", at(0)}),
            R"({"endpoint_id":"whe_1","workspace_id":"ws_1","url":"https://h.example/x",)"
            R"("event_types":["key.*"],"enabled":true,"created_by":"usr_1",)"
            R"("created_at":"2027-01-15T08:00:00.000000Z"})");
  EXPECT_EQ(
      encode_payload(wh::endpoint_disabled{"whe_1", wh::disable_reason::failing, at(0), at(1)}),
      R"({"endpoint_id":"whe_1","reason":"failing","failing_since":"2027-01-15T08:00:00.000000Z",)"
      R"("at":"2027-01-15T08:00:01.000000Z"})");
}

TEST(webhook_codec, refuses_what_it_did_not_write) {
  EXPECT_FALSE(decode_endpoint_event("WebhookEndpointCreated", "{}"));
  EXPECT_FALSE(decode_endpoint_event("KeyCreated", R"({"endpoint_id":"whe_1"})"));
  EXPECT_FALSE(decode_endpoint_event("WebhookSecretRotated",
                                     R"({"endpoint_id":"whe_1","secret_version":1,)"
                                     R"("previous_valid_until":"2027-01-15T08:00:00.000000Z",)"
                                     R"("rotated_at":"2027-01-15T08:00:00.000000Z"})"));
  EXPECT_FALSE(decode_endpoint_event(
      "WebhookEndpointDisabled", R"({"endpoint_id":"whe_1","reason":"bored",)"
                                 R"("failing_since":null,"at":"2027-01-15T08:00:00.000000Z"})"));
  EXPECT_FALSE(decode_endpoint_event("WebhookEndpointEnabled", "not json"));
}

}  // namespace
}  // namespace keyledger::infra
