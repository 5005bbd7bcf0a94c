// The HTTP API handler driven directly (no sockets): routing, auth, errors, pool saturation.
// The real socket path is covered by tests/e2e against the running binary.
#include "services/http/routes.hpp"

#include <gtest/gtest.h>

#include <future>
#include <latch>

#include "infra/crypto/crypto.hpp"
#include "services/app/key_service.hpp"
#include "services/projections/active_key_view.hpp"
#include "tests/support/memory_event_store.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

class fixed_clock final : public domain::clock {
 public:
  domain::timestamp now() const override {
    return domain::timestamp(std::chrono::seconds(1'800'000'000));
  }
};

class routes_test : public ::testing::Test {
 protected:
  routes_test()
      : hasher_(infra::secret(std::string(32, 'k'))),
        keys_(hasher_, random_, clock_),
        pool_(1, 1),
        handler_(make_api_handler({view_, keys_, hasher_, pool_,
                                   [this](std::size_t) -> infra::event_store& { return store_; },
                                   2000ms})) {
    auto boot = keys_.bootstrap(store_, "acme", "kl", {"bootstrap", "req_0", "", ""});
    EXPECT_TRUE(boot.ok());
    admin_ = std::string(boot->admin_key.key.reveal());
    feed();
  }
  ~routes_test() override { pool_.stop(); }

  /// Applies what the store holds to the view, as the subscription would.
  void feed() {
    for (const auto& e : store_.read_all(view_.applied_seq(), 1000)) view_.apply(e);
  }

  infra::http_response call(std::string method, std::string target, std::string body = {},
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    infra::http_request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.request_id = "req_test";
    req.remote_ip = "127.0.0.1";
    auto promise = std::make_shared<std::promise<infra::http_response>>();
    auto future = promise->get_future();
    handler_(std::move(req),
             [promise](infra::http_response r) { promise->set_value(std::move(r)); });
    // Commands wait for the view to apply their event: play the subscription meanwhile.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (future.wait_for(1ms) != std::future_status::ready) {
      feed();
      if (std::chrono::steady_clock::now() > deadline) ADD_FAILURE() << "no response";
      if (std::chrono::steady_clock::now() > deadline) return {};
    }
    return future.get();
  }

  std::vector<std::pair<std::string, std::string>> json_with(std::string auth) {
    return {{"Content-Type", "application/json"}, {"Authorization", std::move(auth)}};
  }

  infra::openssl_random_source random_;
  fixed_clock clock_;
  infra::hmac_key_hasher hasher_;
  test_support::memory_event_store store_;
  active_key_view view_;
  key_service keys_;
  infra::blocking_pool pool_;
  infra::request_handler handler_;
  std::string admin_;
};

TEST_F(routes_test, create_then_verify_then_revoke_then_verify_revoked) {
  auto created = call("POST", "/v1/keys", R"({"name":"ci","environment":"live"})",
                      json_with("Bearer " + admin_));
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto key_pos = created.body.find("\"key\":\"");
  ASSERT_NE(key_pos, std::string::npos);
  const auto key =
      created.body.substr(key_pos + 7, created.body.find('"', key_pos + 7) - key_pos - 7);
  const auto id_pos = created.body.find("\"id\":\"");
  const auto id = created.body.substr(id_pos + 6, 26);

  auto ok = call("POST", "/v1/keys/verify", R"({"key":")" + key + "\"}", json_with(""));
  EXPECT_EQ(ok.status, 200u);
  EXPECT_NE(ok.body.find(R"("valid":true)"), std::string::npos) << ok.body;

  EXPECT_EQ(call("DELETE", "/v1/keys/" + id, "", json_with(admin_)).status, 204u);
  auto revoked = call("POST", "/v1/keys/verify", R"({"key":")" + key + "\"}", json_with(""));
  EXPECT_EQ(revoked.body, R"({"valid":false,"code":"REVOKED"})");
}

TEST_F(routes_test, missing_and_wrong_credentials_are_401_and_missing_scope_is_403) {
  EXPECT_EQ(call("POST", "/v1/keys", "{}", {{"Content-Type", "application/json"}}).status, 401u);
  EXPECT_EQ(call("GET", "/v1/keys/key_0000000000000000000000", "", json_with("Bearer nope")).status,
            401u);
  auto reader =
      call("POST", "/v1/keys", R"({"name":"r","environment":"test","scopes":["keys:read"]})",
           json_with(admin_));
  ASSERT_EQ(reader.status, 201u);
  const auto p = reader.body.find("\"key\":\"");
  const auto reader_key = reader.body.substr(p + 7, reader.body.find('"', p + 7) - p - 7);
  auto forbidden = call("POST", "/v1/keys", R"({"name":"x","environment":"test"})",
                        json_with("Bearer " + reader_key));
  EXPECT_EQ(forbidden.status, 403u);
  EXPECT_NE(forbidden.body.find("Insufficient permissions"), std::string::npos);
}

TEST_F(routes_test, a_key_cannot_grant_a_management_scope_it_lacks) {
  auto writer =
      call("POST", "/v1/keys", R"({"name":"w","environment":"test","scopes":["keys:write"]})",
           json_with(admin_));
  ASSERT_EQ(writer.status, 201u);
  const auto p = writer.body.find("\"key\":\"");
  const auto writer_key = writer.body.substr(p + 7, writer.body.find('"', p + 7) - p - 7);
  const auto before = store_.head_seq();
  auto escalate =
      call("POST", "/v1/keys", R"({"name":"e","environment":"test","scopes":["keys:read"]})",
           json_with(writer_key));
  EXPECT_EQ(escalate.status, 403u);
  EXPECT_EQ(store_.head_seq(), before);
}

TEST_F(routes_test, wrong_media_type_unknown_route_and_method_are_json_errors) {
  auto media = call("POST", "/v1/keys/verify", R"({"key":"x"})", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(media.status, 415u);
  EXPECT_EQ(call("GET", "/nope").status, 404u);
  auto method = call("PUT", "/v1/keys");
  EXPECT_EQ(method.status, 405u);
  EXPECT_NE(method.body.find("METHOD_NOT_ALLOWED"), std::string::npos);
}

TEST_F(routes_test, when_the_pool_queue_is_full_then_503_overloaded_with_retry_after) {
  // Occupy the single worker, then fill the queue until the pool refuses. The gates are shared
  // with the job: the worker may still be inside wait() when this test body returns.
  auto release = std::make_shared<std::latch>(1);
  auto running = std::make_shared<std::latch>(1);
  struct releaser {
    std::shared_ptr<std::latch> gate;
    ~releaser() { gate->count_down(); }  // on every exit path, so teardown can join
  } guard{release};
  ASSERT_TRUE(pool_.try_submit([release, running](std::size_t) {
    running->count_down();
    release->wait();
  }));
  running->wait();
  int queued = 0;
  while (queued < 1000 && pool_.try_submit([](std::size_t) {})) ++queued;
  ASSERT_LT(queued, 1000);

  auto r = call("GET", "/v1/keys/key_0000000000000000000000", "", json_with(admin_));
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("OVERLOADED"), std::string::npos);
  bool retry_after = false;
  for (const auto& [name, value] : r.headers) retry_after |= name == "Retry-After" && value == "1";
  EXPECT_TRUE(retry_after);
}

TEST_F(routes_test, a_storage_failure_is_a_503_and_changes_nothing) {
  store_.fail_next_append(infra::errc::unavailable);
  const auto before = store_.head_seq();
  auto r = call("POST", "/v1/keys", R"({"name":"ci","environment":"live"})", json_with(admin_));
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("UNAVAILABLE"), std::string::npos);
  EXPECT_EQ(store_.head_seq(), before);
}

}  // namespace
}  // namespace keyledger::services

namespace keyledger::services {
namespace {

TEST_F(routes_test, an_idempotency_key_is_recorded_but_a_key_shaped_one_is_refused) {
  const auto before = store_.head_seq();
  auto headers = json_with(admin_);
  headers.emplace_back("Idempotency-Key", admin_);
  auto refused = call("POST", "/v1/keys", R"({"name":"ci","environment":"live"})", headers);
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("Idempotency-Key"), std::string::npos);
  EXPECT_EQ(refused.body.find(admin_), std::string::npos);
  EXPECT_EQ(store_.head_seq(), before);

  auto control = json_with(admin_);
  control.emplace_back("Idempotency-Key", "bad value with spaces");
  EXPECT_EQ(call("POST", "/v1/keys", R"({"name":"ci","environment":"live"})", control).status,
            400u);
  EXPECT_EQ(store_.head_seq(), before);

  auto fine = json_with(admin_);
  fine.emplace_back("Idempotency-Key", "order-4711");
  ASSERT_EQ(call("POST", "/v1/keys", R"({"name":"ci","environment":"live"})", fine).status, 201u);
  const auto events = store_.events();
  EXPECT_NE(events.back().metadata.find("order-4711"), std::string::npos);
}

}  // namespace
}  // namespace keyledger::services
