// Webhook endpoints and postbacks: every decide rule of the endpoint aggregate, the event
// catalog and its wildcards, the retry schedule, the failure window and the Standard Webhooks
// signing input - given/when/then, with an injected instant.
#include <gtest/gtest.h>

#include <array>

#include "domain/webhooks/delivery.hpp"
#include "domain/webhooks/endpoint.hpp"
#include "tests/unit/domain/fakes.hpp"

namespace keyledger::domain::webhooks {
namespace {

using namespace std::chrono_literals;
using testing::fixed_instant;

const std::string an_endpoint_id = "whe_0123456789abcdefghijkl";

endpoint_settings receiver() {
  return {"https://hooks.example.com/keyledger", {"key.*", "oauth.grant.revoked"}};
}

endpoint_state apply_all(endpoint_state s, const std::vector<endpoint_event>& events) {
  for (const auto& e : events) s = evolve(std::move(s), e);
  return s;
}

endpoint_state created() {
  const auto events = decide(endpoint_state{}, create_endpoint{an_endpoint_id, "ws_1", receiver(),
                                                               true, "usr_owner", fixed_instant()});
  EXPECT_TRUE(events.ok());
  return apply_all({}, events.value());
}

endpoint_rejection refusal(const endpoint_state& s, const endpoint_command& c) {
  const auto r = decide(s, c);
  EXPECT_FALSE(r.ok());
  return r.ok() ? endpoint_rejection::endpoint_not_found : r.error();
}

TEST(WebhookEndpoint, CreatedEndpointIsEnabledWithSecretVersionOne) {
  const auto s = created();
  EXPECT_TRUE(s.exists);
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.workspace_id, "ws_1");
  EXPECT_EQ(s.secret_version, 1u);
  EXPECT_EQ(s.version, 1u);
  EXPECT_EQ(s.signing_versions(fixed_instant()), std::vector<std::uint32_t>{1});
}

TEST(WebhookEndpoint, CreateRefusesBadIdsUrlsAndTypes) {
  auto c = create_endpoint{an_endpoint_id, "ws_1", receiver(), true, "usr_owner", fixed_instant()};
  EXPECT_EQ(refusal(created(), c), endpoint_rejection::endpoint_already_exists);
  auto bad_id = c;
  bad_id.endpoint_id = "whe_short";
  EXPECT_EQ(refusal({}, bad_id), endpoint_rejection::invalid_endpoint_id);
  auto no_ws = c;
  no_ws.workspace_id.clear();
  EXPECT_EQ(refusal({}, no_ws), endpoint_rejection::invalid_workspace);
  for (const std::string url :
       {"", "http://hooks.example.com/x", "https://user:pw@hooks.example.com/",
        "https://hooks.example.com/#frag", "ftp://hooks.example.com/", "https://"}) {
    auto bad = c;
    bad.settings.url = url;
    EXPECT_EQ(refusal({}, bad), endpoint_rejection::invalid_url) << url;
  }
  for (const std::vector<std::string>& types :
       std::vector<std::vector<std::string>>{{},
                                             {"key.nope"},
                                             {"key.created", "key.created"},
                                             {"keys.*"},
                                             {"key*"},
                                             {"oauth.grant.*"}}) {
    auto bad = c;
    bad.settings.event_types = types;
    EXPECT_EQ(refusal({}, bad), endpoint_rejection::invalid_event_types);
  }
}

TEST(WebhookEndpoint, HttpIsAllowedOnlyToLoopback) {
  auto c = create_endpoint{an_endpoint_id, "ws_1", receiver(), true, "usr_owner", fixed_instant()};
  c.settings.url = "http://127.0.0.1:8080/hook";
  EXPECT_TRUE(decide({}, c).ok());
}

TEST(WebhookEndpoint, UpdateRecordsOnlyWhatChanged) {
  const auto s = created();
  endpoint_settings_patch p;
  p.url = receiver().url;
  p.event_types = std::vector<std::string>{"*"};
  const auto r = decide(s, update_endpoint{an_endpoint_id, p, fixed_instant() + 1s});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().size(), 1u);
  const auto& u = std::get<endpoint_updated>(r.value()[0]);
  EXPECT_FALSE(u.changes.url.has_value());
  EXPECT_EQ(u.changes.event_types, std::vector<std::string>{"*"});
  EXPECT_TRUE(apply_all(s, r.value()).receives("oauth.client.deleted"));

  endpoint_settings_patch same;
  same.url = receiver().url;
  const auto none = decide(s, update_endpoint{an_endpoint_id, same, fixed_instant()});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().empty());

  endpoint_settings_patch bad;
  bad.url = "http://example.com/";
  EXPECT_EQ(refusal(s, update_endpoint{an_endpoint_id, bad, fixed_instant()}),
            endpoint_rejection::invalid_url);
}

TEST(WebhookEndpoint, RotationSignsWithBothVersionsDuringTheOverlap) {
  const auto s = created();
  const auto r = decide(s, rotate_endpoint_secret{an_endpoint_id, 2, 1h, fixed_instant()});
  ASSERT_TRUE(r.ok());
  const auto after = apply_all(s, r.value());
  EXPECT_EQ(after.secret_version, 2u);
  EXPECT_EQ(after.signing_versions(fixed_instant() + 59min), (std::vector<std::uint32_t>{2, 1}));
  EXPECT_EQ(after.signing_versions(fixed_instant() + 1h), std::vector<std::uint32_t>{2});

  EXPECT_EQ(refusal(s, rotate_endpoint_secret{an_endpoint_id, 2, -1s, fixed_instant()}),
            endpoint_rejection::invalid_overlap);
  EXPECT_EQ(refusal(s, rotate_endpoint_secret{an_endpoint_id, 2, max_secret_overlap + 1s,
                                              fixed_instant()}),
            endpoint_rejection::invalid_overlap);
  // A second rotation: the overlap carries the version just replaced.
  // A version at or below the current one is refused; one skipped (an orphan row) is fine.
  EXPECT_EQ(refusal(after, rotate_endpoint_secret{an_endpoint_id, 2, 0s, fixed_instant()}),
            endpoint_rejection::invalid_secret_version);
  const auto again = decide(after, rotate_endpoint_secret{an_endpoint_id, 4, 0s, fixed_instant()});
  ASSERT_TRUE(again.ok());
  const auto third = apply_all(after, again.value());
  EXPECT_EQ(third.secret_version, 4u);
  EXPECT_EQ(third.signing_versions(fixed_instant()), std::vector<std::uint32_t>{4});
}

TEST(WebhookEndpoint, DisableAndEnableAreIdempotentAndKeepTheReason) {
  const auto s = created();
  const auto d = decide(s, disable_endpoint{an_endpoint_id, disable_reason::failing,
                                            fixed_instant() - 120h, fixed_instant()});
  ASSERT_TRUE(d.ok());
  const auto& ev = std::get<endpoint_disabled>(d.value().at(0));
  EXPECT_EQ(ev.failing_since, fixed_instant() - 120h);
  const auto off = apply_all(s, d.value());
  EXPECT_FALSE(off.enabled);
  EXPECT_EQ(off.disabled_reason, disable_reason::failing);
  EXPECT_FALSE(off.receives("key.created"));
  // Disabling again (by a person or the dispatcher) decides nothing.
  EXPECT_TRUE(
      decide(off, disable_endpoint{an_endpoint_id, disable_reason::manual, {}, fixed_instant()})
          .value()
          .empty());
  const auto e = decide(off, enable_endpoint{an_endpoint_id, fixed_instant()});
  ASSERT_TRUE(e.ok());
  const auto on = apply_all(off, e.value());
  EXPECT_TRUE(on.enabled);
  EXPECT_FALSE(on.disabled_reason.has_value());
  EXPECT_TRUE(decide(on, enable_endpoint{an_endpoint_id, fixed_instant()}).value().empty());
}

TEST(WebhookEndpoint, DeletedEndpointRefusesEveryCommandAndReceivesNothing) {
  const auto s = created();
  const auto gone =
      apply_all(s, decide(s, delete_endpoint{an_endpoint_id, fixed_instant()}).value());
  EXPECT_TRUE(gone.deleted);
  EXPECT_FALSE(gone.receives("key.created"));
  EXPECT_TRUE(gone.signing_versions(fixed_instant()).empty());
  EXPECT_EQ(refusal(gone, delete_endpoint{an_endpoint_id, fixed_instant()}),
            endpoint_rejection::endpoint_deleted);
  EXPECT_EQ(refusal(gone, enable_endpoint{an_endpoint_id, fixed_instant()}),
            endpoint_rejection::endpoint_deleted);
  EXPECT_EQ(refusal({}, update_endpoint{an_endpoint_id, {}, fixed_instant()}),
            endpoint_rejection::endpoint_not_found);
}

TEST(WebhookEndpoint, ReceivesOnlySubscribedTypes) {
  const auto s = created();
  EXPECT_TRUE(s.receives("key.revoked"));
  EXPECT_TRUE(s.receives("oauth.grant.revoked"));
  EXPECT_FALSE(s.receives("oauth.client.registered"));
}

TEST(WebhookCatalog, PatternsAndStoredTypes) {
  EXPECT_EQ(event_catalog().size(), 16u);
  for (const auto t : event_catalog()) {
    EXPECT_TRUE(valid_event_pattern(t));
    EXPECT_TRUE(pattern_matches("*", t));
  }
  EXPECT_TRUE(pattern_matches("oauth.*", "oauth.client.deleted"));
  EXPECT_TRUE(pattern_matches("oauth.client.*", "oauth.client.deleted"));
  EXPECT_FALSE(pattern_matches("oauth.client.*", "oauth.grant.revoked"));
  EXPECT_FALSE(pattern_matches("key.*", "key"));
  EXPECT_EQ(postback_type_of("KeyRevoked"), "key.revoked");
  EXPECT_EQ(postback_type_of("KeyLeaked"), "key.leaked");
  EXPECT_EQ(postback_type_of("FamilyRevoked"), "oauth.grant.revoked");
  EXPECT_EQ(postback_type_of("MemberInvited"), "");
  EXPECT_EQ(postback_type_of("WebhookEndpointCreated"), "");
  // Every stored type maps into the catalog.
  for (const auto stored :
       {"KeyCreated", "KeyUpdated", "KeyDisabled", "KeyEnabled", "KeyRotated", "KeyExpired",
        "KeyExpiryApproaching", "ClientRegistered", "ClientUpdated", "ClientSecretRotated",
        "ClientDisabled", "ClientEnabled", "ClientDeleted", "GrantRevoked"}) {
    EXPECT_TRUE(valid_event_pattern(postback_type_of(stored))) << stored;
  }
}

TEST(WebhookRetries, ScheduleWithJitterThenGiveUp) {
  const auto now = fixed_instant();
  EXPECT_EQ(next_attempt_at(1, now, 0.0), now + 5s);
  EXPECT_EQ(next_attempt_at(2, now, 0.0), now + 5min);
  EXPECT_EQ(next_attempt_at(7, now, 0.0), now + 10h);
  EXPECT_EQ(next_attempt_at(1, now, 1.0), now + 6s);
  EXPECT_EQ(next_attempt_at(1, now, -1.0), now + 4s);
  EXPECT_EQ(next_attempt_at(3, now, 7.0), now + 30min);  // out of range: no jitter
  EXPECT_FALSE(next_attempt_at(max_attempts, now, 0.0).has_value());
  EXPECT_FALSE(next_attempt_at(0, now, 0.0).has_value());
  EXPECT_EQ(retry_schedule().size(), max_attempts - 1);
}

TEST(WebhookRetries, FailureWindow) {
  const auto now = fixed_instant();
  EXPECT_FALSE(failure_window_passed(now - 119h, now, default_failure_window));
  EXPECT_TRUE(failure_window_passed(now - 120h, now, default_failure_window));
}

TEST(StandardWebhooks, SignedContentAndHeaders) {
  EXPECT_EQ(signed_content("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            R"(msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314})");
  const std::array<std::string, 2> sigs = {std::string("\x01\x02\x03", 3), std::string("ab")};
  EXPECT_EQ(signature_header(sigs), "v1,AQID v1,YWI=");
  const std::array<std::uint8_t, 32> key{1, 2, 3};
  const auto text = secret_text(key);
  EXPECT_TRUE(text.starts_with("whsec_"));
  ASSERT_TRUE(secret_key(text).has_value());
  EXPECT_EQ(secret_key(text)->size(), 32u);
  EXPECT_EQ((*secret_key(text))[2], 3);
  EXPECT_FALSE(secret_key("whsec_AQID").has_value());  // too short
  EXPECT_FALSE(secret_key("sk_" + text.substr(6)).has_value());
  EXPECT_TRUE(valid_message_id("msg_0123456789abcdefghijkl"));
  EXPECT_FALSE(valid_message_id("msg_p5jXN8AQM9LWM0D4loKWxJek"));  // 24 characters
}

}  // namespace
}  // namespace keyledger::domain::webhooks
