// The webhook endpoints in memory: what find and of_workspace show, which endpoints receive a
// postback type (enabled, disabled, deleted, wildcards), and the events it refuses to fold.
#include "services/projections/webhook_endpoint_view.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "infra/json/webhook_codec.hpp"

namespace keyledger::services {
namespace {

namespace wh = domain::webhooks;
using namespace std::chrono_literals;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));

const std::string first = "whe_f1rst00000000000000000";
const std::string second = "whe_sec0nd0000000000000000";
const std::string third = "whe_th1rd00000000000000000";

class webhook_endpoint_view_test : public ::testing::Test {
 protected:
  /// An endpoint event in its endpoint's stream (or in `stream` if given).
  void feed(const wh::endpoint_event& e, std::string stream = {}) {
    const std::string id = std::visit([](const auto& alt) { return alt.endpoint_id; }, e);
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = stream.empty() ? wh::endpoint_stream_id(id) : std::move(stream);
    r.type = std::string(wh::event_type(e));
    r.payload = infra::encode_payload(e);
    view_.apply(r);
  }
  void created(const std::string& id, std::vector<std::string> types, std::string ws = "ws_1",
               bool enabled = true) {
    feed(wh::endpoint_created{
        id, std::move(ws), {"https://hooks.example.com/" + id, types}, enabled, "usr_owner", t0});
  }
  std::vector<std::string> receivers(std::string_view type, std::string ws = "ws_1") {
    std::vector<std::string> out;
    for (const auto& e : view_.receivers(ws, type)) out.push_back(e.endpoint_id);
    std::sort(out.begin(), out.end());
    return out;
  }

  webhook_endpoint_view view_;
  std::uint64_t seq_ = 0;
};

TEST_F(webhook_endpoint_view_test, find_shows_every_endpoint_deleted_ones_included) {
  EXPECT_FALSE(view_.find(first));
  created(first, {"key.*"});
  feed(wh::endpoint_updated{
      first, {.url = "https://other.example/h", .event_types = std::nullopt}, t0 + 1s});
  feed(wh::endpoint_secret_rotated{first, 2, t0 + 1h, t0 + 2s});
  auto found = view_.find(first);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->settings.url, "https://other.example/h");
  EXPECT_EQ(found->settings.event_types, std::vector<std::string>{"key.*"});
  EXPECT_EQ(found->secret_version, 2u);
  EXPECT_EQ(found->version, 3u);
  feed(wh::endpoint_deleted{first, t0 + 3s});
  found = view_.find(first);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->deleted);
}

TEST_F(webhook_endpoint_view_test, of_workspace_lists_a_workspaces_live_endpoints_by_id) {
  created(third, {"*"});
  created(first, {"*"});
  created(second, {"*"}, "ws_2");
  feed(wh::endpoint_disabled{third, wh::disable_reason::manual, std::nullopt, t0 + 1s});
  auto listed = view_.of_workspace("ws_1");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].endpoint_id, first);
  EXPECT_EQ(listed[1].endpoint_id, third) << "a disabled endpoint is still listed";
  EXPECT_FALSE(listed[1].enabled);
  feed(wh::endpoint_deleted{first, t0 + 2s});
  listed = view_.of_workspace("ws_1");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].endpoint_id, third);
  EXPECT_EQ(view_.of_workspace("ws_2").size(), 1u);
  EXPECT_TRUE(view_.of_workspace("ws_none").empty());
}

TEST_F(webhook_endpoint_view_test, receivers_are_the_enabled_subscribers_of_the_type) {
  created(first, {"key.*"});
  created(second, {"key.revoked", "oauth.client.*"});
  created(third, {"*"}, "ws_1", false);
  EXPECT_EQ(receivers("key.revoked"), (std::vector<std::string>{first, second}));
  EXPECT_EQ(receivers("key.created"), std::vector<std::string>{first});
  EXPECT_EQ(receivers("oauth.client.deleted"), std::vector<std::string>{second});
  EXPECT_TRUE(receivers("oauth.grant.revoked").empty()) << "created disabled";
  EXPECT_TRUE(receivers("key.revoked", "ws_2").empty()) << "another workspace's";

  feed(wh::endpoint_enabled{third, t0 + 1s});
  EXPECT_EQ(receivers("oauth.grant.revoked"), std::vector<std::string>{third});
  feed(wh::endpoint_disabled{first, wh::disable_reason::failing, t0, t0 + 2s});
  EXPECT_EQ(receivers("key.created"), std::vector<std::string>{third});
  feed(wh::endpoint_updated{
      second, {.url = std::nullopt, .event_types = std::vector<std::string>{"oauth.*"}}, t0 + 3s});
  EXPECT_EQ(receivers("key.revoked"), std::vector<std::string>{third});
  EXPECT_EQ(receivers("oauth.grant.revoked"), (std::vector<std::string>{second, third}));
  feed(wh::endpoint_deleted{third, t0 + 4s});
  EXPECT_EQ(receivers("oauth.grant.revoked"), std::vector<std::string>{second});
  EXPECT_TRUE(receivers("key.revoked").empty());
}

TEST_F(webhook_endpoint_view_test, events_it_cannot_place_are_skipped) {
  created(first, {"*"});
  // A payload naming another endpoint than its stream's.
  feed(wh::endpoint_deleted{first, t0 + 1s}, wh::endpoint_stream_id(second));
  feed(wh::endpoint_created{second, "ws_1", {"https://x.example/h", {"*"}}, true, "u", t0},
       wh::endpoint_stream_id(first));
  EXPECT_FALSE(view_.find(first)->deleted);
  EXPECT_FALSE(view_.find(second));
  // An event of an endpoint never created, a second creation, an undecodable payload.
  feed(wh::endpoint_enabled{third, t0 + 2s});
  EXPECT_FALSE(view_.find(third));
  feed(wh::endpoint_created{first, "ws_2", {"https://y.example/h", {"key.*"}}, true, "u", t0});
  EXPECT_EQ(view_.find(first)->workspace_id, "ws_1");
  infra::recorded_event garbage;
  garbage.global_seq = ++seq_;
  garbage.stream_id = wh::endpoint_stream_id(first);
  garbage.type = "WebhookEndpointDeleted";
  garbage.payload = "{not json";
  view_.apply(garbage);
  EXPECT_FALSE(view_.find(first)->deleted);
  EXPECT_EQ(view_.of_workspace("ws_1").size(), 1u);
  EXPECT_TRUE(view_.of_workspace("ws_2").empty());
}

}  // namespace
}  // namespace keyledger::services
