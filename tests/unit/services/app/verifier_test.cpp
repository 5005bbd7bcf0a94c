#include "services/app/verifier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "domain/keys/key_format.hpp"
#include "domain/workspace/workspace.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "services/app/rate_limiter.hpp"
#include "services/app/usage_recorder.hpp"
#include "services/projections/active_key_view.hpp"
#include "tests/support/manual_clock.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;
/// Keeps every write; the verifier tests read what verification handed to the recorder.
class capture_store final : public infra::telemetry_store {
 public:
  std::vector<infra::key_use> uses;
  std::vector<infra::auth_failure_count> failures;

  void write(std::span<const infra::key_use> u,
             std::span<const infra::auth_failure_count> f) override {
    uses.insert(uses.end(), u.begin(), u.end());
    failures.insert(failures.end(), f.begin(), f.end());
  }
  std::vector<infra::last_use> last_uses(std::span<const std::string>) override { return {}; }
  std::vector<infra::request_log_entry> request_log(
      std::string_view, std::optional<std::pair<std::int64_t, std::int64_t>>,
      std::size_t) override {
    return {};
  }
  std::vector<infra::auth_failure_count> auth_failures(std::string_view, std::int64_t,
                                                       std::size_t) override {
    return {};
  }
  std::size_t purge_request_log(std::int64_t) override { return 0; }
  std::size_t purge_auth_failures(std::int64_t) override { return 0; }
};

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));

class verifier_test : public ::testing::Test {
 protected:
  verifier_test() {
    clock_.set(t0);
    domain::workspace_created ws{"ws_1", "acme", "qg", t0, {}};
    apply_event("WorkspaceCreated", infra::encode_payload(domain::workspace_event{ws}));
  }

  void apply_event(std::string type, std::string payload) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.type = std::move(type);
    r.payload = std::move(payload);
    view_.apply(r);
  }
  void apply(const domain::api_key_event& e) {
    apply_event(std::string(domain::event_type(e)), infra::encode_payload(e));
  }

  /// Creates a key in the view and returns its secret text and id.
  std::pair<std::string, std::string> add_key(
      const std::function<void(domain::key_created&)>& customize = {},
      domain::environment env = domain::environment::live) {
    const std::string key = domain::generate_key("qg", env, random_);
    domain::key_created e;
    e.key_id = "key_" + std::to_string(++keys_made_);
    e.workspace_id = "ws_1";
    e.name = "k" + std::to_string(keys_made_);
    e.env = env;
    e.scopes = {"leads:read", "leads:write"};
    e.key_hash = hasher_.hash_hex(key);
    e.start = domain::visible_start(domain::parse_key(key).value());
    e.created_at = clock_.now();
    e.expires_at = clock_.now() + std::chrono::days(90);
    if (customize) customize(e);
    apply(e);
    return {key, e.key_id};
  }

  struct ask {
    std::vector<std::string> scopes{};
    std::optional<domain::environment> env{};
    std::optional<std::string> ip = std::string("192.0.2.7");
    bool record = true;
  };
  verify_result check(std::string_view key, const ask& a) {
    verify_request r;
    r.key = key;
    r.required_scopes = a.scopes;
    r.env = a.env;
    if (a.ip) r.ip = domain::parse_ip(*a.ip);
    r.record = a.record;
    return verifier_.verify(r);
  }
  verify_result check(std::string_view key) { return check(key, ask{}); }
  verify_code code(std::string_view key, const ask& a) { return check(key, a).code; }
  verify_code code(std::string_view key) { return check(key).code; }

  capture_store flushed() {
    capture_store store;
    usage_.flush(store);
    return store;
  }

  infra::hmac_key_hasher hasher_{infra::secret(std::string(32, 's'))};
  infra::openssl_random_source random_;
  test_support::manual_clock clock_;
  active_key_view view_;
  rate_limiter limiter_;
  usage_recorder usage_{nullptr, {std::chrono::hours(1), 10'000}};
  verifier verifier_{view_, hasher_, limiter_, usage_, clock_};
  std::uint64_t seq_ = 0;
  int keys_made_ = 0;
};

TEST(verify_code, every_code_has_its_public_name_and_status) {
  const std::vector<std::tuple<verify_code, std::string_view, unsigned>> expected = {
      {verify_code::valid, "VALID", 200},
      {verify_code::malformed, "MALFORMED", 401},
      {verify_code::not_found, "NOT_FOUND", 401},
      {verify_code::revoked, "REVOKED", 401},
      {verify_code::expired, "EXPIRED", 401},
      {verify_code::disabled, "DISABLED", 401},
      {verify_code::wrong_environment, "WRONG_ENVIRONMENT", 403},
      {verify_code::forbidden_ip, "FORBIDDEN_IP", 403},
      {verify_code::insufficient_scope, "INSUFFICIENT_SCOPE", 403},
      {verify_code::rate_limited, "RATE_LIMITED", 429},
  };
  for (const auto& [c, name, status] : expected) {
    EXPECT_EQ(to_string(c), name);
    EXPECT_EQ(http_status_of(c), status) << name;
  }
}

TEST_F(verifier_test, given_a_good_key_then_it_is_valid_and_its_use_is_recorded) {
  const auto [key, id] = add_key();
  const auto r = check(key, {.scopes = {"leads:read"}, .env = domain::environment::live});
  EXPECT_TRUE(r.valid());
  EXPECT_EQ(r.code, verify_code::valid);
  ASSERT_NE(r.key, nullptr);
  EXPECT_EQ(r.key->key_id(), id);
  EXPECT_EQ(r.retry_after, 0s);

  const auto store = flushed();
  ASSERT_EQ(store.uses.size(), 1u);
  EXPECT_EQ(store.uses[0].key_id, id);
  EXPECT_EQ(store.uses[0].workspace_id, "ws_1");
  EXPECT_EQ(store.uses[0].code, "VALID");
  EXPECT_EQ(store.uses[0].ip, "192.0.2.7");
  EXPECT_EQ(store.uses[0].at_us, t0.time_since_epoch().count());
  EXPECT_TRUE(store.uses[0].log_request);
  EXPECT_TRUE(store.failures.empty());
}

TEST_F(verifier_test, given_malformed_text_then_malformed_and_counted_by_its_prefix_if_any) {
  const auto [key, id] = add_key();
  std::string typo = key;
  typo.back() = typo.back() == 'A' ? 'B' : 'A';  // breaks the checksum; prefix still "qg"
  const std::string huge(5000, 'x');
  for (std::string_view bad : {std::string_view(""), std::string_view("hello"),
                               std::string_view(typo), std::string_view(huge)}) {
    const auto r = check(bad);
    EXPECT_EQ(r.code, verify_code::malformed);
    EXPECT_EQ(r.key, nullptr);
  }
  auto store = flushed();
  EXPECT_TRUE(store.uses.empty());
  ASSERT_EQ(store.failures.size(), 2u);
  std::sort(store.failures.begin(), store.failures.end(),
            [](const auto& a, const auto& b) { return a.workspace_id < b.workspace_id; });
  // "", "hello" and the huge text name no workspace; the typo's prefix names ws_1.
  EXPECT_EQ(store.failures[0].workspace_id, "");
  EXPECT_EQ(store.failures[0].count, 3u);
  EXPECT_EQ(store.failures[1].workspace_id, "ws_1");
  EXPECT_EQ(store.failures[1].count, 1u);
  for (const auto& f : store.failures) {
    EXPECT_EQ(f.source_ip, "192.0.2.7");
    EXPECT_EQ(f.code, "MALFORMED");
  }
}

TEST_F(verifier_test, given_an_unknown_key_then_not_found_counted_for_the_prefix_workspace) {
  add_key();
  const std::string unknown = domain::generate_key("qg", domain::environment::live, random_);
  const std::string elsewhere = domain::generate_key("zz", domain::environment::test, random_);
  EXPECT_EQ(code(unknown), verify_code::not_found);
  EXPECT_EQ(code(elsewhere, {.ip = std::nullopt}), verify_code::not_found);

  auto store = flushed();
  EXPECT_TRUE(store.uses.empty());
  ASSERT_EQ(store.failures.size(), 2u);
  std::sort(store.failures.begin(), store.failures.end(),
            [](const auto& a, const auto& b) { return a.workspace_id < b.workspace_id; });
  EXPECT_EQ(store.failures[0].workspace_id, "");
  EXPECT_EQ(store.failures[0].source_ip, "");
  EXPECT_EQ(store.failures[1].workspace_id, "ws_1");
  EXPECT_EQ(store.failures[1].code, "NOT_FOUND");
}

TEST_F(verifier_test, given_a_revoked_key_then_revoked_recorded_as_use_and_as_failure) {
  const auto [key, id] = add_key();
  apply(domain::key_revoked{id, t0});
  const auto r = check(key);
  EXPECT_EQ(r.code, verify_code::revoked);
  ASSERT_NE(r.key, nullptr);  // found, though refused
  EXPECT_EQ(r.key->key_id(), id);

  const auto store = flushed();
  ASSERT_EQ(store.uses.size(), 1u);
  EXPECT_EQ(store.uses[0].code, "REVOKED");
  ASSERT_EQ(store.failures.size(), 1u);
  EXPECT_EQ(store.failures[0].workspace_id, "ws_1");
  EXPECT_EQ(store.failures[0].code, "REVOKED");
  EXPECT_EQ(store.failures[0].source_ip, "192.0.2.7");
}

TEST_F(verifier_test, given_an_expiry_then_the_key_is_refused_from_that_exact_instant) {
  const auto expires = t0 + std::chrono::hours(1);
  const auto [key, id] = add_key([&](auto& e) { e.expires_at = expires; });
  clock_.set(expires - std::chrono::microseconds(1));
  EXPECT_EQ(code(key), verify_code::valid);
  // No KeyExpired event yet: expiry is a matter of time alone.
  clock_.set(expires);
  EXPECT_EQ(code(key), verify_code::expired);
  clock_.set(expires + std::chrono::days(400));
  EXPECT_EQ(code(key), verify_code::expired);
}

TEST_F(verifier_test, given_a_key_without_expiry_then_it_never_expires) {
  const auto [key, id] = add_key([](auto& e) { e.expires_at.reset(); });
  clock_.set(t0 + std::chrono::days(3650));
  EXPECT_EQ(code(key), verify_code::valid);
}

TEST_F(verifier_test, given_a_rotation_then_the_old_key_works_until_the_grace_ends) {
  const auto [old_key, old_id] = add_key();
  const auto grace_until = t0 + std::chrono::hours(24);
  // A copy to capture: clang 14 (the sanitizer tree) cannot capture a structured binding.
  const auto rotated_from = old_id;
  const auto [new_key, new_id] = add_key([&](auto& e) { e.rotated_from = rotated_from; });
  apply(domain::key_rotated{old_id, new_id, t0, grace_until});

  clock_.set(grace_until - std::chrono::microseconds(1));
  EXPECT_EQ(code(old_key), verify_code::valid);
  EXPECT_EQ(code(new_key), verify_code::valid);
  clock_.set(grace_until);
  EXPECT_EQ(code(old_key), verify_code::expired);
  EXPECT_EQ(code(new_key), verify_code::valid);
}

TEST_F(verifier_test, given_a_disabled_key_then_disabled_until_enabled_again) {
  const auto [key, id] = add_key();
  apply(domain::key_disabled{id, t0});
  EXPECT_EQ(code(key), verify_code::disabled);
  apply(domain::key_enabled{id, t0});
  EXPECT_EQ(code(key), verify_code::valid);

  const auto [off, off_id] = add_key([](auto& e) { e.enabled = false; });
  EXPECT_EQ(code(off), verify_code::disabled);
}

TEST_F(verifier_test, given_a_required_environment_then_only_that_environment_passes) {
  const auto [live, live_id] = add_key({}, domain::environment::live);
  const auto [test, test_id] = add_key({}, domain::environment::test);
  EXPECT_EQ(code(test, {.env = domain::environment::live}), verify_code::wrong_environment);
  EXPECT_EQ(code(live, {.env = domain::environment::live}), verify_code::valid);
  EXPECT_EQ(code(test, {.env = domain::environment::test}), verify_code::valid);
  EXPECT_EQ(code(live, {.env = domain::environment::test}), verify_code::wrong_environment);
  EXPECT_EQ(code(test), verify_code::valid);  // nothing required
}

TEST_F(verifier_test, given_ipv4_cidrs_then_only_addresses_inside_pass) {
  const auto [key, id] = add_key([](auto& e) { e.allowed_cidrs = {"10.0.0.0/8", "192.0.2.7/32"}; });
  EXPECT_EQ(code(key, {.ip = "10.1.2.3"}), verify_code::valid);
  EXPECT_EQ(code(key, {.ip = "192.0.2.7"}), verify_code::valid);
  EXPECT_EQ(code(key, {.ip = "::ffff:10.9.9.9"}), verify_code::valid);  // mapped = the same
  EXPECT_EQ(code(key, {.ip = "192.0.2.8"}), verify_code::forbidden_ip);
  EXPECT_EQ(code(key, {.ip = "11.0.0.1"}), verify_code::forbidden_ip);
  EXPECT_EQ(code(key, {.ip = "2001:db8::1"}), verify_code::forbidden_ip);
}

TEST_F(verifier_test, given_ipv6_cidrs_then_only_addresses_inside_pass) {
  const auto [key, id] = add_key([](auto& e) { e.allowed_cidrs = {"2001:db8::/32", "::1/128"}; });
  EXPECT_EQ(code(key, {.ip = "2001:db8:ffff::42"}), verify_code::valid);
  EXPECT_EQ(code(key, {.ip = "::1"}), verify_code::valid);
  EXPECT_EQ(code(key, {.ip = "2001:db9::1"}), verify_code::forbidden_ip);
  EXPECT_EQ(code(key, {.ip = "127.0.0.1"}), verify_code::forbidden_ip);
}

TEST_F(verifier_test, given_an_unknown_client_address_then_only_keys_without_cidrs_pass) {
  const auto [fenced, fenced_id] = add_key([](auto& e) { e.allowed_cidrs = {"0.0.0.0/0"}; });
  const auto [open, open_id] = add_key();
  EXPECT_EQ(code(fenced, {.ip = std::nullopt}), verify_code::forbidden_ip);
  EXPECT_EQ(code(open, {.ip = std::nullopt}), verify_code::valid);

  const auto store = flushed();
  ASSERT_EQ(store.uses.size(), 2u);
  EXPECT_EQ(store.uses[0].ip, "");
  EXPECT_EQ(store.uses[0].code, "FORBIDDEN_IP");
}

TEST_F(verifier_test, given_required_scopes_then_every_one_must_be_held) {
  const auto [key, id] = add_key();
  EXPECT_EQ(code(key, {.scopes = {"leads:read", "leads:write"}}), verify_code::valid);
  EXPECT_EQ(code(key, {.scopes = {"leads:read", "leads:delete"}}), verify_code::insufficient_scope);
  EXPECT_EQ(code(key, {.scopes = {"keys:write"}}), verify_code::insufficient_scope);
}

TEST_F(verifier_test, given_several_faults_then_the_first_check_in_order_answers) {
  const domain::timestamp expires = t0 + std::chrono::hours(1);
  auto faulty = [&](auto& e) {
    e.env = domain::environment::test;
    e.expires_at = expires;
    e.allowed_cidrs = {"10.0.0.0/8"};
    e.limit = domain::rate_limit{1, 3600};
  };
  const auto [key, id] = add_key(faulty, domain::environment::test);
  const ask all_wrong{
      .scopes = {"billing:read"}, .env = domain::environment::live, .ip = "192.0.2.7"};

  apply(domain::key_disabled{id, t0});
  clock_.set(expires);
  apply(domain::key_revoked{id, t0});
  EXPECT_EQ(code(key, all_wrong), verify_code::revoked);
}

TEST_F(verifier_test, given_faults_removed_one_by_one_then_codes_follow_the_documented_order) {
  const domain::timestamp expires = t0 + std::chrono::hours(1);
  const auto [key, id] = add_key(
      [&](auto& e) {
        e.expires_at = expires;
        e.allowed_cidrs = {"10.0.0.0/8"};
        e.limit = domain::rate_limit{1, 3600};
      },
      domain::environment::test);
  apply(domain::key_disabled{id, t0});
  ask a{.scopes = {"billing:read"}, .env = domain::environment::live, .ip = "192.0.2.7"};

  clock_.set(expires);
  EXPECT_EQ(code(key, a), verify_code::expired);  // expired beats disabled
  clock_.set(t0);
  EXPECT_EQ(code(key, a), verify_code::disabled);
  apply(domain::key_enabled{id, t0});
  EXPECT_EQ(code(key, a), verify_code::wrong_environment);
  a.env = domain::environment::test;
  EXPECT_EQ(code(key, a), verify_code::forbidden_ip);
  a.ip = "10.0.0.1";
  EXPECT_EQ(code(key, a), verify_code::insufficient_scope);
  a.scopes = {"leads:read"};
  // None of the refusals above used the limit of 1.
  EXPECT_EQ(code(key, a), verify_code::valid);
  const auto limited = check(key, a);
  EXPECT_EQ(limited.code, verify_code::rate_limited);
  EXPECT_EQ(limited.retry_after, 3600s);  // t0 is on an hour boundary
  ASSERT_NE(limited.key, nullptr);
}

TEST_F(verifier_test, given_a_rate_limit_then_refusals_do_not_consume_it) {
  const auto [key, id] = add_key([](auto& e) { e.limit = domain::rate_limit{2, 60}; });
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(code(key, {.scopes = {"admin:all"}}), verify_code::insufficient_scope);
  }
  EXPECT_EQ(code(key), verify_code::valid);
  EXPECT_EQ(code(key), verify_code::valid);
  clock_.set(t0 + 30s);
  const auto r = check(key);
  EXPECT_EQ(r.code, verify_code::rate_limited);
  EXPECT_GE(r.retry_after, 1s);
  EXPECT_LE(r.retry_after, 60s);
  // The next window accepts again.
  clock_.set(t0 + r.retry_after + 30s);
  EXPECT_EQ(code(key), verify_code::valid);

  const auto store = flushed();
  const auto limited = std::count_if(store.uses.begin(), store.uses.end(),
                                     [](const auto& u) { return u.code == "RATE_LIMITED"; });
  EXPECT_EQ(limited, 1);
  ASSERT_EQ(store.failures.size(), 2u);  // INSUFFICIENT_SCOPE x5 and RATE_LIMITED x1
}

TEST_F(verifier_test, given_a_key_without_a_limit_then_it_is_never_rate_limited) {
  const auto [key, id] = add_key();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(code(key), verify_code::valid);
}

TEST_F(verifier_test, given_an_off_the_record_key_then_its_uses_skip_the_request_log) {
  const auto [key, id] = add_key([](auto& e) { e.off_the_record = true; });
  EXPECT_EQ(code(key), verify_code::valid);
  EXPECT_EQ(code(key, {.scopes = {"x:y"}}), verify_code::insufficient_scope);

  const auto store = flushed();
  ASSERT_EQ(store.uses.size(), 2u);
  for (const auto& u : store.uses) {
    EXPECT_FALSE(u.log_request);  // last-used still moves: the use is there
    EXPECT_EQ(u.key_id, id);
  }
}

TEST_F(verifier_test, given_record_false_then_nothing_is_recorded) {
  const auto [key, id] = add_key();
  EXPECT_EQ(code(key, {.record = false}), verify_code::valid);
  EXPECT_EQ(code("nonsense", {.record = false}), verify_code::malformed);
  const auto store = flushed();
  EXPECT_TRUE(store.uses.empty());
  EXPECT_TRUE(store.failures.empty());
}

TEST_F(verifier_test, given_a_key_changed_by_patch_then_verification_sees_the_change) {
  const auto [key, id] = add_key();
  domain::key_updated u;
  u.key_id = id;
  u.scopes = std::vector<std::string>{"billing:read"};
  u.allowed_cidrs = std::vector<std::string>{"10.0.0.0/8"};
  u.updated_at = t0;
  apply(u);
  EXPECT_EQ(code(key, {.scopes = {"leads:read"}, .ip = "10.0.0.1"}),
            verify_code::insufficient_scope);
  EXPECT_EQ(code(key, {.scopes = {"billing:read"}, .ip = "10.0.0.1"}), verify_code::valid);
  EXPECT_EQ(code(key, {.scopes = {"billing:read"}}), verify_code::forbidden_ip);
}

}  // namespace
}  // namespace keyledger::services
