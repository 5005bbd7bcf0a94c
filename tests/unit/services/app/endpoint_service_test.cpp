// Webhook endpoint commands in the application layer, over the in-memory event and webhook
// stores: the signing secret shown once and stored sealed only, its versions and rotation
// overlap, who may run them, workspace isolation, and the dispatcher's failing-disable.
#include "services/app/webhooks/endpoint_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "domain/webhooks/delivery.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/memory_webhook_store.hpp"

namespace keyledger::services {
namespace {

namespace wh = domain::webhooks;
using namespace std::chrono_literals;
using domain::problem_kind;

principal person(domain::role r, std::string workspace = "ws_1") {
  principal p;
  p.workspace_id = std::move(workspace);
  p.user_id = "usr_person";
  p.member_role = r;
  p.session_id_hash = "h";
  return p;
}

principal key_with(std::vector<std::string> scopes) {
  principal p;
  p.workspace_id = "ws_1";
  p.user_id = "usr_person";
  p.member_role = domain::role::owner;
  p.key_id = "key_acting";
  p.scopes = std::move(scopes);
  return p;
}

wh::endpoint_settings receiver() {
  return {"https://hooks.example.com/keyledger", {"key.*", "oauth.grant.revoked"}};
}

std::string bytes_of(const infra::secret& s) { return std::string(s.reveal()); }

/// The raw HMAC key of a "whsec_" text.
std::string key_of(const infra::secret& text) {
  const auto key = wh::secret_key(text.reveal());
  EXPECT_TRUE(key) << "not a whsec_ secret";
  return key ? std::string(key->begin(), key->end()) : std::string();
}

class endpoint_service_test : public ::testing::Test {
 protected:
  endpoint_with_secret created(const principal& who = person(domain::role::admin)) {
    auto r = service_.create(store_, secrets_, who, receiver(), true, ctx_);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().code);
    return std::move(r.value());
  }
  std::size_t events_of_type(std::string_view type) {
    const auto all = store_.read_all(0, 10'000);
    return static_cast<std::size_t>(
        std::count_if(all.begin(), all.end(), [&](const auto& e) { return e.type == type; }));
  }
  std::string whole_log() {
    std::string out;
    for (const auto& e : store_.read_all(0, 10'000)) out += e.payload + e.metadata;
    return out;
  }

  infra::openssl_random_source random_;
  test_support::manual_clock clock_{domain::timestamp(std::chrono::seconds(1'800'000'000))};
  infra::response_sealer sealer_{
      infra::derive_key(std::string(32, 's'), webhook_secret_sealing_info)};
  test_support::memory_event_store store_;
  test_support::memory_webhook_store secrets_;
  endpoint_service service_{sealer_, random_, clock_};
  request_context ctx_{"usr_person", "req_1", "127.0.0.1", ""};
};

TEST_F(endpoint_service_test, the_secret_is_returned_once_and_only_a_sealed_copy_is_stored) {
  const auto made = created();
  const std::string secret = bytes_of(made.secret);
  ASSERT_TRUE(secret.starts_with("whsec_"));
  const std::string key = key_of(made.secret);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_TRUE(wh::valid_endpoint_id(made.endpoint.endpoint_id));
  EXPECT_EQ(made.endpoint.workspace_id, "ws_1");
  EXPECT_EQ(made.endpoint.secret_version, 1u);
  EXPECT_GT(made.global_seq, 0u);

  const auto stored = secrets_.secrets();
  ASSERT_EQ(stored.size(), 1u);
  const auto& [where, sealed] = *stored.begin();
  EXPECT_EQ(where, std::pair(made.endpoint.endpoint_id, std::uint32_t{1}));
  EXPECT_EQ(sealed.size(), 60u) << "nonce, 32 bytes, tag (schema/008)";
  EXPECT_EQ(sealed.find(key), std::string::npos) << "the key itself is not stored";
  EXPECT_EQ(sealed.find(secret), std::string::npos);
  EXPECT_EQ(sealed.find(secret.substr(6)), std::string::npos);
  EXPECT_EQ(whole_log().find(secret.substr(6)), std::string::npos) << "no secret in an event";

  // The dispatcher opens it again, under this endpoint and version only.
  const auto keys = service_.signing_keys(secrets_, made.endpoint, clock_.now());
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(bytes_of(keys[0]), key);
  EXPECT_FALSE(sealer_.open(sealed, made.endpoint.endpoint_id + "/2"));
}

TEST_F(endpoint_service_test, each_rotation_stores_the_next_version_and_returns_a_new_secret) {
  const auto made = created();
  const auto& id = made.endpoint.endpoint_id;
  auto first = service_.rotate_secret(store_, secrets_, person(domain::role::owner), id, 1h, ctx_);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->endpoint.secret_version, 2u);
  EXPECT_EQ(first->endpoint.previous_secret_version, 1u);
  EXPECT_NE(bytes_of(first->secret), bytes_of(made.secret));
  EXPECT_TRUE(bytes_of(first->secret).starts_with("whsec_"));
  auto second = service_.rotate_secret(store_, secrets_, person(domain::role::owner), id, 0s, ctx_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->endpoint.secret_version, 3u);
  EXPECT_EQ(secrets_.secrets().size(), 3u);
  EXPECT_EQ(service_.load(store_, id).secret_version, 3u);
  EXPECT_EQ(events_of_type("WebhookSecretRotated"), 2u);
  EXPECT_EQ(whole_log().find(bytes_of(second->secret).substr(6)), std::string::npos);
}

TEST_F(endpoint_service_test, a_rotation_skips_a_version_left_by_a_failed_one) {
  const auto made = created();
  const auto& id = made.endpoint.endpoint_id;
  // A rotation stored version 2 and then its append failed: that row is nobody's.
  secrets_.put_secret(id, 2, std::string(60, 'x'));
  auto rotated =
      service_.rotate_secret(store_, secrets_, person(domain::role::owner), id, 1h, ctx_);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->endpoint.secret_version, 3u);
  EXPECT_EQ(secrets_.get_secret(id, 2), std::string(60, 'x')) << "the orphan is left alone";
  const auto keys = service_.signing_keys(secrets_, rotated->endpoint, clock_.now());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(bytes_of(keys[0]), key_of(rotated->secret));
  EXPECT_EQ(bytes_of(keys[1]), key_of(made.secret));
}

TEST_F(endpoint_service_test, the_overlap_is_from_zero_to_seven_days) {
  const auto made = created();
  const auto& id = made.endpoint.endpoint_id;
  const auto owner = person(domain::role::owner);
  for (const auto bad : {-1s, std::chrono::seconds(7 * 24h) + 1s}) {
    const auto before = store_.head_seq();
    const auto r = service_.rotate_secret(store_, secrets_, owner, id, bad, ctx_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "INVALID_FIELD");
    EXPECT_EQ(r.error().field, "overlap_seconds");
    EXPECT_EQ(store_.head_seq(), before);
    EXPECT_EQ(secrets_.secrets().size(), 1u) << "no secret minted for a refused rotation";
  }
  EXPECT_TRUE(service_.rotate_secret(store_, secrets_, owner, id, 0s, ctx_).ok());
  EXPECT_TRUE(service_.rotate_secret(store_, secrets_, owner, id, 7 * 24h, ctx_).ok());
}

TEST_F(endpoint_service_test, signing_keys_are_current_then_previous_during_the_overlap_only) {
  const auto made = created();
  auto rotated = service_.rotate_secret(store_, secrets_, person(domain::role::owner),
                                        made.endpoint.endpoint_id, 10min, ctx_);
  ASSERT_TRUE(rotated.ok());
  const auto state = service_.load(store_, made.endpoint.endpoint_id);
  auto keys = service_.signing_keys(secrets_, state, clock_.now());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(bytes_of(keys[0]), key_of(rotated->secret)) << "the current one first";
  EXPECT_EQ(bytes_of(keys[1]), key_of(made.secret));
  clock_.advance(10min);
  keys = service_.signing_keys(secrets_, state, clock_.now());
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(bytes_of(keys[0]), key_of(rotated->secret));
  // A row that does not open (another server secret) is skipped, never used.
  const infra::response_sealer other(infra::derive_key(std::string(32, 'o'), "x"));
  const endpoint_service elsewhere(other, random_, clock_);
  EXPECT_TRUE(elsewhere.signing_keys(secrets_, state, clock_.now()).empty());
}

TEST_F(endpoint_service_test, only_owners_admins_and_keys_with_workspace_admin_manage) {
  for (const auto r : {domain::role::member, domain::role::auditor}) {
    const auto refused = service_.create(store_, secrets_, person(r), receiver(), true, ctx_);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, problem_kind::forbidden);
  }
  EXPECT_FALSE(
      service_.create(store_, secrets_, key_with({"keys:write"}), receiver(), true, ctx_).ok());
  EXPECT_TRUE(store_.read_all(0, 10).empty());
  EXPECT_TRUE(secrets_.secrets().empty()) << "no secret minted for a refused creation";
  const auto by_key = created(key_with({"workspace:admin"}));
  EXPECT_EQ(by_key.endpoint.created_by, "usr_person");

  const auto& id = by_key.endpoint.endpoint_id;
  for (const auto r : {domain::role::member, domain::role::auditor}) {
    EXPECT_EQ(service_
                  .update(store_, person(r), id,
                          {.url = "https://x.example", .event_types = std::nullopt}, {}, ctx_)
                  .error()
                  .kind,
              problem_kind::forbidden);
    EXPECT_EQ(service_.rotate_secret(store_, secrets_, person(r), id, 1h, ctx_).error().kind,
              problem_kind::forbidden);
    EXPECT_EQ(service_.remove(store_, person(r), id, ctx_).error().kind, problem_kind::forbidden);
  }
}

TEST_F(endpoint_service_test, another_workspaces_endpoint_does_not_exist_for_the_caller) {
  const auto made = created();
  const auto& id = made.endpoint.endpoint_id;
  const auto other = person(domain::role::owner, "ws_2");
  const auto before = store_.head_seq();
  for (const auto& r :
       {service_.update(store_, other, id,
                        {.url = "https://x.example", .event_types = std::nullopt}, {}, ctx_),
        service_.update(store_, other, id, {}, false, ctx_),
        service_.remove(store_, other, id, ctx_),
        service_.remove(store_, person(domain::role::owner), "whe_nope", ctx_),
        service_.remove(store_, person(domain::role::owner), "whe_0000000000000000000000", ctx_)}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, problem_kind::not_found);
  }
  const auto rotated = service_.rotate_secret(store_, secrets_, other, id, 1h, ctx_);
  ASSERT_FALSE(rotated.ok());
  EXPECT_EQ(rotated.error().kind, problem_kind::not_found);
  EXPECT_EQ(store_.head_seq(), before);
  EXPECT_EQ(secrets_.secrets().size(), 1u);
}

TEST_F(endpoint_service_test, settings_rules_come_back_as_field_problems_and_append_nothing) {
  const auto owner = person(domain::role::owner);
  const std::pair<wh::endpoint_settings, std::string> bad[] = {
      {{"http://hooks.example.com/x", {"key.*"}}, "url"},
      {{"ftp://hooks.example.com/x", {"key.*"}}, "url"},
      {{"https://hooks.example.com/x#f", {"key.*"}}, "url"},
      {{"https://hooks.example.com/x", {}}, "event_types"},
      {{"https://hooks.example.com/x", {"key.nope"}}, "event_types"},
      {{"https://hooks.example.com/x", {"key.*", "key.*"}}, "event_types"},
  };
  for (const auto& [settings, field] : bad) {
    const auto r = service_.create(store_, secrets_, owner, settings, true, ctx_);
    ASSERT_FALSE(r.ok()) << settings.url;
    EXPECT_EQ(r.error().code, "INVALID_FIELD");
    EXPECT_EQ(r.error().field, field);
  }
  EXPECT_TRUE(store_.read_all(0, 10).empty());
  EXPECT_TRUE(secrets_.secrets().empty());
  // http to loopback is allowed (receivers on this machine, tests).
  EXPECT_TRUE(
      service_.create(store_, secrets_, owner, {"http://127.0.0.1:9000/h", {"*"}}, true, ctx_)
          .ok());
}

TEST_F(endpoint_service_test, an_update_changes_settings_and_switches_it_off_and_on) {
  const auto made = created();
  const auto& id = made.endpoint.endpoint_id;
  const auto admin = person(domain::role::admin);
  auto changed = service_.update(
      store_, admin, id,
      {.url = "https://other.example/hook", .event_types = std::vector<std::string>{"*"}}, {},
      ctx_);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->endpoint.settings.url, "https://other.example/hook");
  EXPECT_EQ(changed->endpoint.settings.event_types, std::vector<std::string>{"*"});
  EXPECT_TRUE(changed->endpoint.enabled);

  auto off = service_.update(store_, admin, id, {}, false, ctx_);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->endpoint.enabled);
  EXPECT_EQ(off->endpoint.disabled_reason, wh::disable_reason::manual);
  EXPECT_GT(off->global_seq, 0u);
  const auto at = store_.head_seq();
  auto again = service_.update(store_, admin, id, {}, false, ctx_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(store_.head_seq(), at) << "already off: nothing appended";
  auto on = service_.update(store_, admin, id, {}, true, ctx_);
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->endpoint.enabled);
  EXPECT_FALSE(on->endpoint.disabled_reason);

  // A refused setting leaves the switch alone too.
  const auto before = store_.head_seq();
  auto refused = service_.update(
      store_, admin, id, {.url = "http://x.example", .event_types = std::nullopt}, false, ctx_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "url");
  EXPECT_EQ(store_.head_seq(), before);
  EXPECT_TRUE(service_.load(store_, id).enabled);
}

TEST_F(endpoint_service_test, a_removed_endpoint_is_gone_for_good) {
  const auto made = created();
  const auto& id = made.endpoint.endpoint_id;
  const auto owner = person(domain::role::owner);
  auto removed = service_.remove(store_, owner, id, ctx_);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->endpoint.deleted);
  EXPECT_TRUE(service_.signing_keys(secrets_, removed->endpoint, clock_.now()).empty());
  EXPECT_EQ(service_.remove(store_, owner, id, ctx_).error().kind, problem_kind::not_found);
  EXPECT_EQ(service_.update(store_, owner, id, {}, true, ctx_).error().kind,
            problem_kind::not_found);
  EXPECT_EQ(service_.rotate_secret(store_, secrets_, owner, id, 1h, ctx_).error().kind,
            problem_kind::not_found);
}

TEST_F(endpoint_service_test, a_failing_endpoint_is_disabled_once_whoever_asks) {
  const auto made = created();
  const auto failing_since = clock_.now() - 5 * 24h;
  // Two nodes with their own randomness see the same failure window pass.
  infra::openssl_random_source other_random;
  const endpoint_service other_node(sealer_, other_random, clock_);
  EXPECT_TRUE(service_.disable_failing(store_, made.endpoint, failing_since));
  EXPECT_FALSE(service_.disable_failing(store_, made.endpoint, failing_since));
  EXPECT_FALSE(other_node.disable_failing(store_, made.endpoint, failing_since));
  EXPECT_EQ(events_of_type("WebhookEndpointDisabled"), 1u);
  const auto state = service_.load(store_, made.endpoint.endpoint_id);
  EXPECT_FALSE(state.enabled);
  EXPECT_EQ(state.disabled_reason, wh::disable_reason::failing);

  // An endpoint a person switched off keeps the person's reason.
  const auto manual = created();
  ASSERT_TRUE(
      service_
          .update(store_, person(domain::role::owner), manual.endpoint.endpoint_id, {}, false, ctx_)
          .ok());
  EXPECT_FALSE(other_node.disable_failing(store_, manual.endpoint, failing_since));
  EXPECT_EQ(service_.load(store_, manual.endpoint.endpoint_id).disabled_reason,
            wh::disable_reason::manual);
}

TEST_F(endpoint_service_test, two_nodes_racing_to_disable_append_one_event) {
  const auto made = created();
  const auto failing_since = clock_.now() - 6 * 24h;
  infra::openssl_random_source other_random;
  const endpoint_service other_node(sealer_, other_random, clock_);
  std::atomic<int> appended{0};
  std::vector<std::thread> nodes;
  const std::vector<const endpoint_service*> racers{&service_, &other_node, &service_, &other_node};
  for (const endpoint_service* node : racers) {
    nodes.emplace_back([&, node] {
      if (node->disable_failing(store_, made.endpoint, failing_since)) ++appended;
    });
  }
  for (auto& t : nodes) t.join();
  EXPECT_EQ(appended.load(), 1);
  EXPECT_EQ(events_of_type("WebhookEndpointDisabled"), 1u);
}

}  // namespace
}  // namespace keyledger::services
