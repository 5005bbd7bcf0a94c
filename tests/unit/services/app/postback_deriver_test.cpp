// Which postbacks a log event makes and what their bodies say (issue 10): the views are fed
// the events as the node's fan-out feeds them, then derive_postbacks runs on the same event.

#include "services/app/webhooks/postback_deriver.hpp"

#include <gtest/gtest.h>

#include "domain/webhooks/delivery.hpp"
#include "infra/json/event_codec.hpp"
#include "infra/json/grant_codec.hpp"
#include "infra/json/json.hpp"
#include "infra/json/oauth_codec.hpp"
#include "infra/json/webhook_codec.hpp"
#include "services/app/webhooks/postback_sender.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/oauth_client_view.hpp"
#include "services/projections/oauth_grant_view.hpp"
#include "services/projections/webhook_endpoint_view.hpp"

namespace keyledger::services {
namespace {

namespace wh = domain::webhooks;
namespace oauth = domain::oauth;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));
const std::string key_1 = "key_AAAAAAAAAAAAAAAAAAAAA1";
const std::string hook_1 = "whe_AAAAAAAAAAAAAAAAAAAAA1";
const std::string hook_2 = "whe_AAAAAAAAAAAAAAAAAAAAA2";
const std::string client_1 = "cli_AAAAAAAAAAAAAAAAAAAAA1";
const std::string grant_1 = "grt_AAAAAAAAAAAAAAAAAAAAA1";

class postback_deriver_test : public ::testing::Test {
 protected:
  /// Feeds every view, as the fan-out does, then derives.
  std::vector<infra::new_delivery> feed(std::string stream, std::string type, std::string payload) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = std::move(stream);
    r.type = std::move(type);
    r.payload = std::move(payload);
    r.event_id[0] = static_cast<std::uint8_t>(seq_);
    r.recorded_at_us = domain::to_micros(t0) + static_cast<std::int64_t>(seq_);
    // As the fan-out does: each view only its categories.
    for (infra::log_consumer* view : std::initializer_list<infra::log_consumer*>{
             &endpoints_, &clients_, &grants_, &keys_}) {
      if (view->wants(r)) view->apply(r);
    }
    return derive_postbacks(r, {keys_, endpoints_, clients_, grants_});
  }
  std::vector<infra::new_delivery> key(const domain::api_key_event& e) {
    const auto id = std::visit([](const auto& x) { return x.key_id; }, e);
    return feed(domain::key_stream_id(id), std::string(domain::event_type(e)),
                infra::encode_payload(e));
  }
  std::vector<infra::new_delivery> hook(const wh::endpoint_event& e) {
    const auto id = std::visit([](const auto& x) { return x.endpoint_id; }, e);
    return feed(wh::endpoint_stream_id(id), std::string(wh::event_type(e)),
                infra::encode_payload(e));
  }
  std::vector<infra::new_delivery> client(const oauth::client_event& e) {
    const auto id = std::visit([](const auto& x) { return x.client_id; }, e);
    return feed(oauth::client_stream_id(id), std::string(oauth::event_type(e)),
                infra::encode_payload(e));
  }
  std::vector<infra::new_delivery> grant(const oauth::grant_event& e) {
    const auto id = std::visit([](const auto& x) { return x.grant_id; }, e);
    return feed(oauth::grant_stream_id(id), std::string(oauth::event_type(e)),
                infra::encode_payload(e));
  }
  void endpoint(std::string id, std::string workspace, std::vector<std::string> types) {
    wh::endpoint_created e;
    e.endpoint_id = std::move(id);
    e.workspace_id = std::move(workspace);
    e.settings.url = "https://hooks.example.com/in";
    e.settings.event_types = std::move(types);
    e.created_by = "usr_AAAAAAAAAAAAAAAAAAAAA1";
    e.created_at = t0;
    ASSERT_TRUE(hook(e).empty());
  }
  static domain::key_created created(std::string postback_url = "") {
    domain::key_created e;
    e.key_id = key_1;
    e.workspace_id = "ws_1";
    e.name = "Billing";
    e.env = domain::environment::live;
    e.scopes = {"leads:read"};
    e.key_hash = std::string(64, 'a');
    e.start = "kl_live_AbCd";
    e.created_at = t0;
    e.expires_at = t0 + std::chrono::days(90);
    e.postback_url = std::move(postback_url);
    return e;
  }
  static infra::json_body data_of(const infra::new_delivery& d) {
    auto body = infra::json_body::parse(d.payload);
    EXPECT_TRUE(static_cast<bool>(body)) << d.payload;
    EXPECT_EQ(body->get_string("type").value(), d.event_type);
    EXPECT_TRUE(body->get_string("timestamp").value().has_value());
    return std::move(*body->get_object("data").value());
  }

  std::uint64_t seq_ = 0;
  active_key_view keys_;
  webhook_endpoint_view endpoints_;
  oauth_client_view clients_;
  oauth_grant_view grants_;
};

TEST_F(postback_deriver_test, nobody_listening_makes_nothing) {
  EXPECT_TRUE(key(created()).empty());
  EXPECT_TRUE(key(domain::key_revoked{key_1, t0}).empty());
}

TEST_F(postback_deriver_test, a_key_event_goes_to_the_endpoints_of_its_workspace_that_want_it) {
  endpoint(hook_1, "ws_1", {"key.*"});
  endpoint(hook_2, "ws_2", {"*"});
  const auto out = key(created());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].endpoint_id, hook_1);
  EXPECT_EQ(out[0].workspace_id, "ws_1");
  EXPECT_EQ(out[0].event_type, "key.created");
  EXPECT_EQ(out[0].event_seq, seq_);
  EXPECT_TRUE(wh::valid_message_id(out[0].message_id));
  const auto data = data_of(out[0]);
  EXPECT_EQ(data.get_string("key_id").value(), key_1);
  EXPECT_EQ(data.get_string("name").value(), "Billing");
  EXPECT_EQ(data.get_string("environment").value(), "live");
  EXPECT_EQ(data.get_string("status").value(), "active");
  EXPECT_EQ(data.get_int("event_seq").value(), static_cast<std::int64_t>(seq_));
  EXPECT_EQ(out[0].payload.find(std::string(64, 'a')), std::string::npos) << "no key hash";
}

TEST_F(postback_deriver_test, the_message_id_is_the_same_on_every_node) {
  infra::uuid id{};
  id[3] = 9;
  EXPECT_EQ(postback_message_id(id, hook_1), postback_message_id(id, hook_1));
  EXPECT_NE(postback_message_id(id, hook_1), postback_message_id(id, hook_2));
  id[4] = 1;
  EXPECT_NE(postback_message_id(id, hook_1), postback_message_id(infra::uuid{}, hook_1));
}

TEST_F(postback_deriver_test, only_the_types_an_endpoint_asked_for) {
  endpoint(hook_1, "ws_1", {"key.revoked", "key.leaked"});
  EXPECT_TRUE(key(created()).empty());
  const auto out = key(domain::key_revoked{key_1, t0 + std::chrono::hours(1)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event_type, "key.revoked");
  EXPECT_EQ(data_of(out[0]).get_string("status").value(), "revoked");
}

TEST_F(postback_deriver_test, a_disabled_or_deleted_endpoint_receives_nothing) {
  endpoint(hook_1, "ws_1", {"*"});
  ASSERT_TRUE(hook(wh::endpoint_disabled{hook_1, wh::disable_reason::manual, {}, t0}).empty());
  EXPECT_TRUE(key(created()).empty());
  ASSERT_TRUE(hook(wh::endpoint_enabled{hook_1, t0}).empty());
  EXPECT_EQ(key(domain::key_disabled{key_1, t0}).size(), 1u);
  ASSERT_TRUE(hook(wh::endpoint_deleted{hook_1, t0}).empty());
  EXPECT_TRUE(key(domain::key_enabled{key_1, t0}).empty());
}

TEST_F(postback_deriver_test, a_key_with_a_postback_url_receives_its_own_events) {
  endpoint(hook_1, "ws_1", {"key.created"});
  const auto out = key(created("https://billing.example.com/keys"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].endpoint_id, hook_1);
  EXPECT_EQ(out[1].endpoint_id, key_1);
  EXPECT_EQ(out[0].payload, out[1].payload);
  EXPECT_NE(out[0].message_id, out[1].message_id);
  EXPECT_EQ(out[1].payload.find("billing.example.com"), std::string::npos) << "no postback URL";
  const auto revoked = key(domain::key_revoked{key_1, t0});
  ASSERT_EQ(revoked.size(), 1u) << "the endpoint did not ask for key.revoked; the key's URL did";
  EXPECT_EQ(revoked[0].endpoint_id, key_1);
}

TEST_F(postback_deriver_test, warnings_and_leaks_say_which) {
  endpoint(hook_1, "ws_1", {"key.*"});
  key(created());
  auto out = key(domain::key_expiry_approaching{key_1, t0 + std::chrono::days(90), 1});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event_type, "key.expiry_approaching");
  EXPECT_EQ(data_of(out[0]).get_int("days_before").value(), 1);
  out = key(domain::key_leaked{key_1, "https://github.com/o/r/blob/x", "commit",
                               domain::leak_response::revoked, t0});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event_type, "key.leaked");
  const auto leak = data_of(out[0]).get_object("leak").value();
  ASSERT_TRUE(leak.has_value());
  EXPECT_EQ(leak->get_string("url").value(), "https://github.com/o/r/blob/x");
  EXPECT_EQ(leak->get_string("action").value(), "revoked");
}

TEST_F(postback_deriver_test, client_events_go_to_the_clients_workspace_without_its_secret) {
  endpoint(hook_1, "ws_1", {"oauth.client.*"});
  endpoint(hook_2, "ws_2", {"oauth.*"});
  oauth::client_registered r;
  r.client_id = client_1;
  r.workspace_id = "ws_1";
  r.settings.name = "Reports";
  r.settings.redirect_uris = {"https://app.example.com/cb"};
  r.settings.grant_types = {oauth::grant_type::authorization_code};
  r.secret_hash = std::string(64, 'b');
  r.registered_by = "usr_AAAAAAAAAAAAAAAAAAAAA1";
  r.registered_at = t0;
  const auto out = client(r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].endpoint_id, hook_1);
  EXPECT_EQ(out[0].event_type, "oauth.client.registered");
  EXPECT_EQ(data_of(out[0]).get_string("name").value(), "Reports");
  EXPECT_EQ(out[0].payload.find(std::string(64, 'b')), std::string::npos);
}

TEST_F(postback_deriver_test, a_revoked_grant_reaches_the_apps_workspace_and_the_users) {
  endpoint(hook_1, "ws_1", {"oauth.grant.revoked"});
  endpoint(hook_2, "ws_2", {"*"});
  oauth::client_registered r;
  r.client_id = client_1;
  r.workspace_id = "ws_1";
  r.settings.name = "Reports";
  r.settings.redirect_uris = {"https://app.example.com/cb"};
  r.settings.grant_types = {oauth::grant_type::authorization_code};
  r.registered_at = t0;
  EXPECT_TRUE(client(r).empty()) << "ws_1 wants only grants; ws_2 gets nothing of the clients of ws_1";
  oauth::grant_created g{grant_1, client_1,       "usr_AAAAAAAAAAAAAAAAAAAAA2",
                         "ws_2",  {"leads:read"}, t0};
  EXPECT_TRUE(grant(g).empty());
  const auto out = grant(oauth::grant_revoked{grant_1, "usr_AAAAAAAAAAAAAAAAAAAAA2", t0});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].endpoint_id, hook_1);
  EXPECT_EQ(out[1].endpoint_id, hook_2);
  const auto data = data_of(out[0]);
  EXPECT_EQ(data.get_string("grant_id").value(), grant_1);
  EXPECT_EQ(data.get_string("client_workspace_id").value(), "ws_1");
  EXPECT_EQ(data.get_string("workspace_id").value(), "ws_2");
}

TEST_F(postback_deriver_test, other_events_make_nothing) {
  endpoint(hook_1, "ws_1", {"*"});
  EXPECT_TRUE(feed("workspace-ws_1", "WorkspaceCreated", "{}").empty());
  EXPECT_TRUE(feed(domain::key_stream_id(key_1), "KeyRevoked", "not json").empty());
}

TEST(postback_address, only_public_unicast_unless_allowed) {
  EXPECT_TRUE(postback_address_allowed("93.184.216.34", {}));
  EXPECT_TRUE(postback_address_allowed("2606:2800:220:1:248:1893:25c8:1946", {}));
  EXPECT_FALSE(postback_address_allowed("127.0.0.1", {}));
  EXPECT_FALSE(postback_address_allowed("10.1.2.3", {}));
  EXPECT_FALSE(postback_address_allowed("169.254.169.254", {}));
  EXPECT_FALSE(postback_address_allowed("::1", {}));
  EXPECT_FALSE(postback_address_allowed("not an address", {}));
  const std::vector<domain::cidr> loopback = {*domain::parse_cidr("127.0.0.0/8")};
  EXPECT_TRUE(postback_address_allowed("127.0.0.1", loopback));
  EXPECT_FALSE(postback_address_allowed("10.1.2.3", loopback));
}

}  // namespace
}  // namespace keyledger::services
