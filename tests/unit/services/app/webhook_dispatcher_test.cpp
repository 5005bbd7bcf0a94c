// The dispatcher's bookkeeping (issue 10): what it derives is written with the checkpoint, a
// restart skips what was written, the first start of an old log begins at its head, and a full
// queue holds the subscription back instead of losing deliveries.

#include "services/app/webhooks/webhook_dispatcher.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "infra/json/event_codec.hpp"
#include "infra/json/webhook_codec.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/oauth_client_view.hpp"
#include "services/projections/oauth_grant_view.hpp"
#include "services/projections/webhook_endpoint_view.hpp"
#include "tests/support/memory_webhook_store.hpp"

namespace keyledger::services {
namespace {

namespace wh = domain::webhooks;
using namespace std::chrono_literals;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));
const std::string hook = "whe_AAAAAAAAAAAAAAAAAAAAA1";

/// One node: its views and a dispatcher after them, fed the same log.
struct node {
  explicit node(test_support::memory_webhook_store& db, dispatcher_options o = {}) {
    auto s = std::make_unique<test_support::webhook_store_handle>(db);
    store = s.get();
    dispatcher = std::make_unique<webhook_dispatcher>(
        postback_sources{keys, endpoints, clients, grants}, std::move(s), o, [this] { ++wakes; });
  }
  void apply(const infra::recorded_event& e) {
    // As the fan-out does: each view only its categories.
    if (endpoints.wants(e)) endpoints.apply(e);
    if (keys.wants(e)) keys.apply(e);
    dispatcher->apply(e);
  }
  active_key_view keys;
  webhook_endpoint_view endpoints;
  oauth_client_view clients;
  oauth_grant_view grants;
  test_support::webhook_store_handle* store = nullptr;
  std::unique_ptr<webhook_dispatcher> dispatcher;
  std::atomic<int> wakes{0};
};

class webhook_dispatcher_test : public ::testing::Test {
 protected:
  void SetUp() override {
    wh::endpoint_created e;
    e.endpoint_id = hook;
    e.workspace_id = "ws_1";
    e.settings.url = "https://hooks.example.com/in";
    e.settings.event_types = {"key.*"};
    e.created_by = "usr_AAAAAAAAAAAAAAAAAAAAA1";
    e.created_at = t0;
    add(wh::endpoint_stream_id(hook), "WebhookEndpointCreated", infra::encode_payload(e));
    for (int i = 0; i < 20; ++i) {
      domain::key_created k;
      k.key_id = "key_AAAAAAAAAAAAAAAAAAAA" + std::string(1, static_cast<char>('A' + i / 10)) +
                 std::string(1, static_cast<char>('0' + i % 10));
      k.workspace_id = "ws_1";
      k.name = "k";
      k.key_hash = std::string(63, 'a') + static_cast<char>('a' + i % 6);
      k.start = "kl_test_AbCd";
      k.created_at = t0;
      add(domain::key_stream_id(k.key_id), "KeyCreated",
          infra::encode_payload(domain::api_key_event{k}));
    }
  }
  void add(std::string stream, std::string type, std::string payload) {
    infra::recorded_event r;
    r.global_seq = log_.size() + 1;
    r.stream_id = std::move(stream);
    r.type = std::move(type);
    r.payload = std::move(payload);
    r.event_id[0] = static_cast<std::uint8_t>(r.global_seq);
    r.event_id[1] = 0x5a;
    r.recorded_at_us = domain::to_micros(t0);
    log_.push_back(std::move(r));
  }
  static bool written(node& n, std::uint64_t seq) {
    return n.dispatcher->wait_written(seq, std::chrono::steady_clock::now() + 5s);
  }
  std::vector<infra::recorded_event> log_;
  test_support::memory_webhook_store db_;
};

TEST_F(webhook_dispatcher_test, deliveries_and_checkpoint_are_written_together) {
  node n(db_);
  n.dispatcher->start(0);
  for (const auto& e : log_) n.apply(e);
  ASSERT_TRUE(written(n, log_.size()));
  EXPECT_EQ(db_.checkpoint(webhook_dispatcher::consumer_name), log_.size());
  EXPECT_EQ(db_.deliveries(hook, 100, std::nullopt).size(), 20u);
  EXPECT_GE(n.wakes.load(), 1) << "the senders are woken";
}

TEST_F(webhook_dispatcher_test, a_restart_derives_only_what_came_after_the_checkpoint) {
  {
    node first(db_);
    first.dispatcher->start(0);
    for (std::size_t i = 0; i < 11; ++i) first.apply(log_[i]);
    ASSERT_TRUE(written(first, 11));
  }
  node again(db_);
  again.dispatcher->start(log_.size());
  EXPECT_EQ(again.dispatcher->start_checkpoint(), 11u) << "the saved checkpoint, not the head";
  for (const auto& e : log_) again.apply(e);  // the fan-out replays everything into the views
  ASSERT_TRUE(written(again, log_.size()));
  EXPECT_EQ(db_.deliveries(hook, 100, std::nullopt).size(), 20u) << "each once";
}

TEST_F(webhook_dispatcher_test, the_first_start_on_an_old_log_begins_at_its_head) {
  node n(db_);
  n.dispatcher->start(15);
  EXPECT_EQ(db_.checkpoint(webhook_dispatcher::consumer_name), 15u) << "saved at once";
  for (const auto& e : log_) n.apply(e);
  ASSERT_TRUE(written(n, log_.size()));
  // Events 16-21 are keys 15-20: six postbacks, history before them none.
  EXPECT_EQ(db_.deliveries(hook, 100, std::nullopt).size(), 6u);
}

TEST_F(webhook_dispatcher_test, two_nodes_enqueue_each_pair_once) {
  node a(db_);
  node b(db_);
  a.dispatcher->start(0);
  b.dispatcher->start(0);
  std::thread ta([&] {
    for (const auto& e : log_) a.apply(e);
  });
  std::thread tb([&] {
    for (const auto& e : log_) b.apply(e);
  });
  ta.join();
  tb.join();
  ASSERT_TRUE(written(a, log_.size()));
  ASSERT_TRUE(written(b, log_.size()));
  EXPECT_EQ(db_.deliveries(hook, 100, std::nullopt).size(), 20u);
}

TEST_F(webhook_dispatcher_test, a_full_queue_holds_the_subscription_back_and_loses_nothing) {
  node n(db_, {.queue_limit = 2, .batch_limit = 1});
  n.store->before_write = [] { std::this_thread::sleep_for(20ms); };  // a slow database
  n.dispatcher->start(0);
  for (const auto& e : log_) n.apply(e);  // waits for the writer whenever two are queued
  ASSERT_TRUE(written(n, log_.size()));
  EXPECT_EQ(db_.deliveries(hook, 100, std::nullopt).size(), 20u);
}

TEST_F(webhook_dispatcher_test, stop_writes_what_is_queued) {
  node n(db_);
  n.store->before_write = [] { std::this_thread::sleep_for(20ms); };  // a slow database
  n.dispatcher->start(0);
  for (const auto& e : log_) n.apply(e);
  n.dispatcher->stop();
  EXPECT_EQ(db_.checkpoint(webhook_dispatcher::consumer_name), log_.size());
  EXPECT_EQ(db_.deliveries(hook, 100, std::nullopt).size(), 20u);
}

}  // namespace
}  // namespace keyledger::services
