// The postback senders over the in-memory stores and a recording transport (no network): what
// is signed and with which keys, what is dropped, never sending unsigned, the retry schedule,
// and disabling an endpoint that fails for the whole window - once.

#include "services/app/webhooks/postback_sender.hpp"

#include <gtest/gtest.h>

#include "domain/encoding.hpp"
#include "domain/webhooks/delivery.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "services/app/webhooks/endpoint_service.hpp"
#include "services/app/webhooks/postback_deriver.hpp"
#include "services/http/webhooks/postback_transport.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/webhook_endpoint_view.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/memory_webhook_store.hpp"

namespace keyledger::services {
namespace {

namespace wh = domain::webhooks;
using namespace std::chrono_literals;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));

principal admin() {
  principal p;
  p.workspace_id = "ws_1";
  p.user_id = "usr_person";
  p.member_role = domain::role::admin;
  p.session_id_hash = "h";
  return p;
}

class postback_sender_test : public ::testing::Test {
 protected:
  void SetUp() override {
    sender_ =
        std::make_unique<postback_sender>(sender_dependencies{endpoints_,
                                                              keys_,
                                                              service_,
                                                              clock_,
                                                              random_,
                                                              [this](const postback_request& r) {
                                                                sent_.push_back(r);
                                                                return answer_;
                                                              },
                                                              {},
                                                              {}},
                                          sender_options{.failure_window = 3600s});
  }
  /// Appends through the service and feeds the views, as the node's subscription would.
  void catch_up() {
    for (const auto& e : events_.read_all(applied_, 1000)) {
      if (endpoints_.wants(e)) endpoints_.apply(e);
      keys_.apply(e);
      applied_ = e.global_seq;
    }
  }
  std::string endpoint() {
    auto made = service_.create(events_, store_, admin(),
                                {"https://hooks.example.com/in", {"key.*"}}, true, ctx_);
    EXPECT_TRUE(made.ok());
    secret_ = std::string(made->secret.reveal());
    catch_up();
    return made->endpoint.endpoint_id;
  }
  void enqueue(const std::string& endpoint_id, int n = 1) {
    for (int i = 0; i < n; ++i) {
      infra::new_delivery d;
      d.event_id[0] = static_cast<std::uint8_t>(++deliveries_);
      d.endpoint_id = endpoint_id;
      d.message_id = postback_message_id(d.event_id, endpoint_id);
      d.workspace_id = "ws_1";
      d.event_seq = applied_;
      d.event_type = "key.created";
      d.payload = R"({"type":"key.created","n":)" + std::to_string(i) + "}";
      d.due_us = domain::to_micros(clock_.now());
      store_.enqueue(std::vector{d});
    }
  }
  std::size_t round() { return sender_->run_once(store_, events_); }
  std::vector<infra::delivery_summary> listed(const std::string& id) {
    return store_.deliveries(id, 10, std::nullopt);
  }
  /// Whether `r` verifies with the HMAC key of `whsec`.
  static bool signed_with(const postback_request& r, const std::string& whsec) {
    const auto key = wh::secret_key(whsec);
    const infra::hmac_key_hasher mac{infra::secret(std::string(key->begin(), key->end()))};
    std::string id;
    std::string ts;
    std::string sigs;
    for (const auto& [k, v] : r.headers) {
      if (k == "webhook-id") id = v;
      if (k == "webhook-timestamp") ts = v;
      if (k == "webhook-signature") sigs = v;
    }
    const auto digest = mac.hash(wh::signed_content(id, std::stoll(ts), r.body));
    const std::string expected =
        "v1," + domain::base64_encode(std::span<const std::uint8_t>(digest.data(), digest.size()));
    return sigs.find(expected) != std::string::npos;
  }

  infra::openssl_random_source random_;
  test_support::manual_clock clock_{t0};
  infra::response_sealer sealer_{
      infra::derive_key(std::string(32, 's'), webhook_secret_sealing_info)};
  test_support::memory_event_store events_;
  test_support::memory_webhook_store store_;
  endpoint_service service_{sealer_, random_, clock_};
  webhook_endpoint_view endpoints_;
  active_key_view keys_;
  request_context ctx_{"usr_person", "req_1", "127.0.0.1", ""};
  std::unique_ptr<postback_sender> sender_;
  std::vector<postback_request> sent_;
  postback_response answer_{204, infra::attempt_outcome::delivered, ""};
  std::uint64_t applied_ = 0;
  int deliveries_ = 0;
  std::string secret_;
};

TEST_F(postback_sender_test, a_delivery_is_signed_sent_and_recorded) {
  const auto id = endpoint();
  enqueue(id);
  EXPECT_EQ(round(), 1u);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].url, "https://hooks.example.com/in");
  EXPECT_TRUE(signed_with(sent_[0], secret_));
  EXPECT_EQ(sent_[0].body, R"({"type":"key.created","n":0})");
  EXPECT_EQ(listed(id)[0].status, "delivered");
  EXPECT_EQ(round(), 0u) << "nothing more due";
}

TEST_F(postback_sender_test, a_failure_is_retried_on_the_schedule_with_the_same_message) {
  const auto id = endpoint();
  enqueue(id);
  answer_ = {500, infra::attempt_outcome::http_error, "HTTP 500"};
  round();
  auto d = listed(id)[0];
  EXPECT_EQ(d.status, "pending");
  EXPECT_EQ(d.attempts, 1u);
  const auto wait = d.next_attempt_us - domain::to_micros(t0);
  EXPECT_GE(wait, 4'000'000);  // 5 s +-20%
  EXPECT_LE(wait, 6'000'000);
  EXPECT_EQ(round(), 0u) << "not due yet";
  clock_.advance(6s);
  answer_ = {204, infra::attempt_outcome::delivered, ""};
  EXPECT_EQ(round(), 1u);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].body, sent_[0].body);
  EXPECT_EQ(listed(id)[0].status, "delivered");
  EXPECT_EQ(listed(id)[0].attempt_log[0].response_status, 500u);
}

TEST_F(postback_sender_test, during_an_overlap_both_secrets_sign) {
  const auto id = endpoint();
  const auto old_secret = secret_;
  auto rotated = service_.rotate_secret(events_, store_, admin(), id, 3600s, ctx_);
  ASSERT_TRUE(rotated.ok());
  catch_up();
  enqueue(id);
  round();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_TRUE(signed_with(sent_[0], std::string(rotated->secret.reveal())));
  EXPECT_TRUE(signed_with(sent_[0], old_secret));
}

TEST_F(postback_sender_test, a_deleted_or_disabled_endpoint_gets_nothing) {
  const auto id = endpoint();
  ASSERT_TRUE(service_.update(events_, admin(), id, {}, false, ctx_).ok());
  catch_up();
  enqueue(id);
  EXPECT_EQ(round(), 1u);
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(listed(id)[0].status, "dropped");
}

TEST_F(postback_sender_test, a_key_without_a_postback_secret_is_never_sent_anything) {
  domain::key_created k;
  k.key_id = "key_AAAAAAAAAAAAAAAAAAAAA1";
  k.workspace_id = "ws_1";
  k.name = "k";
  k.key_hash = std::string(64, 'a');
  k.start = "kl_test_AbCd";
  k.created_at = t0;
  k.postback_url = "https://billing.example.com/hook";
  events_.append(domain::key_stream_id(k.key_id), 0,
                 std::vector{infra::new_event{
                     {}, "KeyCreated", infra::encode_payload(domain::api_key_event{k})}},
                 {}, domain::to_micros(t0));
  catch_up();
  enqueue(k.key_id);
  round();
  EXPECT_TRUE(sent_.empty());
  auto d = listed(k.key_id)[0];
  EXPECT_EQ(d.status, "pending");
  EXPECT_EQ(d.attempt_log[0].outcome, "refused");
  // Once the key has a secret, the next attempt is signed with it.
  const auto secret = service_.mint_key_secret(store_, k.key_id);
  clock_.advance(6s);
  round();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].url, "https://billing.example.com/hook");
  EXPECT_TRUE(signed_with(sent_[0], std::string(secret.reveal())));
}

TEST_F(postback_sender_test, failing_for_the_whole_window_disables_the_endpoint_once) {
  const auto id = endpoint();
  answer_ = {503, infra::attempt_outcome::http_error, "HTTP 503"};
  enqueue(id, 2);
  round();  // both fail: failing since t0
  EXPECT_EQ(endpoints_.find(id)->enabled, true);
  clock_.advance(2h);  // past the window (1 h) and past both retries (5 min +-20%, then 30 min)
  round();
  round();
  catch_up();
  EXPECT_EQ(endpoints_.find(id)->enabled, false);
  EXPECT_EQ(endpoints_.find(id)->disabled_reason, wh::disable_reason::failing);
  std::size_t disabled = 0;
  for (const auto& e : events_.read_all(0, 100)) disabled += e.type == "WebhookEndpointDisabled";
  EXPECT_EQ(disabled, 1u);
}

using url_parts = std::pair<std::string, std::string>;

TEST(postback_transport, urls_split_into_the_server_and_the_target) {
  using http::split_postback_url;
  EXPECT_EQ(split_postback_url("https://h.example.com"), url_parts("https://h.example.com", "/"));
  EXPECT_EQ(split_postback_url("https://h.example.com:8443/a/b?x=1"),
            url_parts("https://h.example.com:8443", "/a/b?x=1"));
  EXPECT_EQ(split_postback_url("http://127.0.0.1:9?q"), url_parts("http://127.0.0.1:9", "/?q"));
}

}  // namespace
}  // namespace keyledger::services
