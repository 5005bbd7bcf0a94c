#include "services/app/key_service.hpp"

#include <gtest/gtest.h>

#include "domain/key_format.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "tests/support/memory_event_store.hpp"

namespace keyledger::services {
namespace {

/// Deterministic bytes (xorshift), so failures reproduce.
class fake_random final : public domain::random_source {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      b = static_cast<std::uint8_t>(state_);
    }
  }

 private:
  std::uint64_t state_ = 0x9E3779B97F4A7C15ull;
};

class fixed_clock final : public domain::clock {
 public:
  domain::timestamp now() const override {
    return domain::timestamp(std::chrono::seconds(1'800'000'000));
  }
};

class key_service_test : public ::testing::Test {
 protected:
  key_service_test()
      : hasher_(infra::secret(std::string(32, 's'))), service_(hasher_, random_, clock_) {}

  bootstrapped_workspace bootstrap(const std::string& name) {
    auto b = service_.bootstrap(store_, name, "qg", ctx_);
    EXPECT_TRUE(b.ok());
    return std::move(b.value());
  }

  fake_random random_;
  fixed_clock clock_;
  infra::hmac_key_hasher hasher_;
  key_service service_;
  test_support::memory_event_store store_;
  request_context ctx_{"key_actor", "req_1", "127.0.0.1", ""};
};

TEST_F(key_service_test, given_a_workspace_when_a_key_is_created_then_only_its_hash_is_stored) {
  auto ws = bootstrap("acme");
  auto created = service_.create(
      store_,
      {ws.workspace.workspace_id, "qg", "ci-runner", domain::environment::test, {"leads:read"}},
      ctx_);
  ASSERT_TRUE(created.ok());

  const auto key = std::string(created->key.reveal());
  auto parsed = domain::parse_key(key);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->prefix, "qg");
  EXPECT_EQ(parsed->env, domain::environment::test);
  EXPECT_EQ(created->state.key_hash, hasher_.hash_hex(key));
  EXPECT_EQ(created->state.start, key.substr(0, 12));
  EXPECT_EQ(created->state.status, domain::key_status::active);
  EXPECT_GT(created->global_seq, 0u);

  // No event anywhere in the log holds the secret or its random body.
  for (const auto& e : store_.read_all(0, 1000)) {
    EXPECT_EQ(e.payload.find(key), std::string::npos);
    EXPECT_EQ(e.payload.find(key.substr(12)), std::string::npos);
    EXPECT_EQ(e.metadata.find(key), std::string::npos);
  }
  // The metadata names the actor and request.
  auto stream = store_.read_stream(domain::key_stream_id(created->state.key_id));
  ASSERT_EQ(stream.size(), 1u);
  EXPECT_NE(stream[0].metadata.find("key_actor"), std::string::npos);
  EXPECT_NE(stream[0].metadata.find("req_1"), std::string::npos);
}

TEST_F(key_service_test, given_a_key_when_revoked_twice_then_one_event_and_second_is_a_no_op) {
  auto ws = bootstrap("acme");
  const auto id = ws.admin_key.state.key_id;

  auto first = service_.revoke(store_, id, ws.workspace.workspace_id, ctx_);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state.status, domain::key_status::revoked);
  EXPECT_GT(first->global_seq, 0u);
  const auto head = store_.head_seq();

  auto second = service_.revoke(store_, id, ws.workspace.workspace_id, ctx_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->global_seq, 0u);
  EXPECT_EQ(store_.head_seq(), head);
  EXPECT_EQ(service_.load(store_, id).status, domain::key_status::revoked);
}

TEST_F(key_service_test, given_another_workspace_when_it_revokes_the_key_then_not_found) {
  auto a = bootstrap("acme");
  auto b = bootstrap("globex");
  auto r = service_.revoke(store_, a.admin_key.state.key_id, b.workspace.workspace_id, ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), domain::rejection::key_not_found);
  EXPECT_EQ(service_.load(store_, a.admin_key.state.key_id).status, domain::key_status::active);
}

TEST_F(key_service_test, given_no_such_key_when_revoked_then_not_found_and_nothing_appended) {
  auto ws = bootstrap("acme");
  const auto head = store_.head_seq();
  auto r = service_.revoke(store_, "key_0000000000000000000000", ws.workspace.workspace_id, ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), domain::rejection::key_not_found);
  EXPECT_EQ(store_.head_seq(), head);
}

TEST_F(key_service_test, given_a_bootstrapped_name_when_bootstrapped_again_then_it_exists) {
  bootstrap("acme");
  const auto head = store_.head_seq();
  auto again = service_.bootstrap(store_, "acme", "kl", ctx_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), domain::rejection::workspace_already_exists);
  EXPECT_EQ(store_.head_seq(), head);
}

TEST_F(key_service_test, given_the_bootstrap_then_the_admin_key_can_manage_keys) {
  auto ws = bootstrap("acme");
  EXPECT_EQ(ws.admin_key.state.scopes, (std::vector<std::string>{"keys:read", "keys:write"}));
  EXPECT_EQ(ws.workspace.key_prefix, "qg");
  EXPECT_TRUE(domain::parse_key(ws.admin_key.key.reveal()).ok());
}

TEST_F(key_service_test, given_an_invalid_name_when_creating_then_rejected_and_nothing_appended) {
  auto ws = bootstrap("acme");
  const auto head = store_.head_seq();
  auto r = service_.create(
      store_, {ws.workspace.workspace_id, "qg", "has space", domain::environment::live, {}}, ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), domain::rejection::invalid_name);
  EXPECT_EQ(store_.head_seq(), head);
}

}  // namespace
}  // namespace keyledger::services
