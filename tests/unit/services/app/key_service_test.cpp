#include "services/app/key_service.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <utility>

#include "domain/keys/key_format.hpp"
#include "domain/people/policy.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/workspace_service.hpp"
#include "tests/support/interleaving_event_store.hpp"
#include "tests/support/manual_clock.hpp"
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

/// Runs `interleave` (another writer's command) just before the first append reaches the
/// store, so the command decided on the old state meets a changed stream.
using interleaving_store = test_support::interleaving_event_store;

class key_service_test : public ::testing::Test {
 protected:
  key_service_test()
      : hasher_(infra::secret(std::string(32, 's'))),
        service_(hasher_, random_, clock_),
        workspaces_(service_, random_, clock_) {}

  bootstrapped_workspace bootstrap(const std::string& name) {
    auto b = workspaces_.bootstrap(store_, name, "qg", ctx_);
    EXPECT_TRUE(b.ok());
    return std::move(b.value());
  }

  create_key_input input(const bootstrapped_workspace& ws, std::string name,
                         domain::environment env = domain::environment::test,
                         std::vector<std::string> scopes = {}) const {
    create_key_input in;
    in.workspace_id = ws.workspace.workspace_id;
    in.key_prefix = ws.workspace.key_prefix;
    in.policy = ws.workspace.policy;
    in.settings.name = std::move(name);
    in.env = env;
    in.settings.scopes = std::move(scopes);
    return in;
  }

  created_key create(const bootstrapped_workspace& ws, std::string name) {
    auto c = service_.create(store_, input(ws, std::move(name)), ctx_);
    EXPECT_TRUE(c.ok());
    return std::move(c.value());
  }

  /// A key that expires in 10 days: inside the expiry job's 14-day warning window.
  created_key create_warnable(const bootstrapped_workspace& ws, std::string name) {
    auto in = input(ws, std::move(name));
    in.expiry.expires_in_days = 10;
    auto c = service_.create(store_, in, ctx_);
    EXPECT_TRUE(c.ok());
    return std::move(c.value());
  }

  std::size_t events_of_type(std::string_view type) const {
    std::size_t n = 0;
    for (const auto& e : store_.events()) n += e.type == type;
    return n;
  }

  fake_random random_;
  test_support::manual_clock clock_{domain::timestamp(std::chrono::seconds(1'800'000'000))};
  infra::hmac_key_hasher hasher_;
  key_service service_;
  workspace_service workspaces_;
  test_support::memory_event_store store_;
  request_context ctx_{"key_actor", "req_1", "127.0.0.1", ""};
};

TEST_F(key_service_test, given_a_workspace_when_a_key_is_created_then_only_its_hash_is_stored) {
  auto ws = bootstrap("acme");
  auto created = service_.create(
      store_, input(ws, "ci-runner", domain::environment::test, {"leads:read"}), ctx_);
  ASSERT_TRUE(created.ok());

  const auto key = std::string(created->key.reveal());
  auto parsed = domain::parse_key(key);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->prefix, "qg");
  EXPECT_EQ(parsed->env, domain::environment::test);
  EXPECT_EQ(created->state.key_hash, hasher_.hash_hex(key));
  EXPECT_EQ(created->state.start, key.substr(0, 12));
  EXPECT_EQ(created->state.status_at(clock_.now()), domain::key_status::active);
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
  EXPECT_EQ(first->state.status_at(clock_.now()), domain::key_status::revoked);
  EXPECT_GT(first->global_seq, 0u);
  const auto head = store_.head_seq();

  auto second = service_.revoke(store_, id, ws.workspace.workspace_id, ctx_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->global_seq, 0u);
  EXPECT_EQ(store_.head_seq(), head);
  EXPECT_EQ(service_.load(store_, id).status_at(clock_.now()), domain::key_status::revoked);
}

TEST_F(key_service_test, given_another_workspace_when_it_revokes_the_key_then_not_found) {
  auto a = bootstrap("acme");
  auto b = bootstrap("globex");
  auto r = service_.revoke(store_, a.admin_key.state.key_id, b.workspace.workspace_id, ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), domain::rejection::key_not_found);
  EXPECT_EQ(service_.load(store_, a.admin_key.state.key_id).status_at(clock_.now()),
            domain::key_status::active);
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
  auto again = workspaces_.bootstrap(store_, "acme", "kl", ctx_);
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
  auto r = service_.create(store_, input(ws, std::string("bad\x01name")), ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), domain::rejection::invalid_name);
  EXPECT_EQ(store_.head_seq(), head);
}

TEST_F(key_service_test, given_an_owner_then_the_admin_key_is_theirs_with_every_management_scope) {
  std::string seen_workspace;
  auto b = workspaces_.bootstrap(store_, "owned", "ow", ctx_, {}, {"leads:read"},
                                 [&](const domain::workspace_state& ws) {
                                   seen_workspace = ws.workspace_id;
                                   return std::string("usr_0123456789ABCDEFGHIJKL");
                                 });
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(seen_workspace, b->workspace.workspace_id);
  EXPECT_EQ(b->workspace.scope_catalog, (std::vector<std::string>{"leads:read"}));
  EXPECT_EQ(b->admin_key.state.owner_user_id, "usr_0123456789ABCDEFGHIJKL");
  EXPECT_EQ(b->admin_key.state.scopes.size(), domain::management_scopes.size());
  EXPECT_EQ(service_.load(store_, b->admin_key.state.key_id).owner_user_id,
            "usr_0123456789ABCDEFGHIJKL");
}

TEST_F(key_service_test, given_settings_then_only_changes_are_appended_and_conflicts_refused) {
  auto ws = bootstrap("acme");
  domain::update_workspace_settings same;
  same.workspace_id = ws.workspace.workspace_id;
  same.policy = ws.workspace.policy;
  const auto head = store_.head_seq();
  auto unchanged = workspaces_.update_settings(store_, same, ctx_);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->global_seq, 0u);
  EXPECT_EQ(store_.head_seq(), head);

  domain::update_workspace_settings narrower = same;
  narrower.scope_catalog = std::vector<std::string>{"leads:read"};
  auto changed = workspaces_.update_settings(store_, narrower, ctx_);
  ASSERT_TRUE(changed.ok());
  EXPECT_GT(changed->global_seq, 0u);
  EXPECT_EQ(changed->workspace.scope_catalog, (std::vector<std::string>{"leads:read"}));
  EXPECT_EQ(workspaces_.load(store_, ws.workspace.workspace_id).scope_catalog,
            (std::vector<std::string>{"leads:read"}));
  EXPECT_EQ(events_of_type("WorkspaceSettingsChanged"), 1u);

  domain::update_workspace_settings missing;
  missing.workspace_id = "ws_0000000000000000000000";
  missing.scope_catalog = std::vector<std::string>{};
  EXPECT_EQ(workspaces_.update_settings(store_, missing, ctx_).error(),
            domain::rejection::workspace_not_found);
}

TEST_F(key_service_test, given_the_bootstrap_then_the_admin_key_never_expires) {
  auto ws = bootstrap("acme");
  EXPECT_FALSE(ws.admin_key.state.expires_at.has_value());
}

TEST_F(key_service_test, given_no_expiry_choice_then_the_workspace_default_lifespan_applies) {
  auto ws = bootstrap("acme");
  auto k = create(ws, "default-life");
  ASSERT_TRUE(k.state.expires_at.has_value());
  EXPECT_EQ(*k.state.expires_at - clock_.now(), ws.workspace.policy.default_lifespan);
}

TEST_F(key_service_test, given_expiry_choices_then_days_never_and_conflicts_are_decided) {
  auto ws = bootstrap("acme");
  auto in = input(ws, "in-days");
  in.expiry.expires_in_days = 7;
  auto seven = service_.create(store_, in, ctx_);
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(*seven->state.expires_at - clock_.now(), std::chrono::days(7));

  const auto head = store_.head_seq();
  in.expiry.expires_in_days = ws.workspace.policy.max_lifespan.count() + 1;
  EXPECT_EQ(service_.create(store_, in, ctx_).error(), domain::rejection::invalid_expiry);
  in.expiry.expires_in_days = 0;
  EXPECT_EQ(service_.create(store_, in, ctx_).error(), domain::rejection::invalid_expiry);
  in.expiry = {};
  in.expiry.never_expires = true;  // the default policy forbids keys without expiry
  EXPECT_EQ(service_.create(store_, in, ctx_).error(), domain::rejection::invalid_expiry);
  in.expiry.expires_in_days = 3;  // two choices at once
  EXPECT_EQ(service_.create(store_, in, ctx_).error(), domain::rejection::invalid_expiry);
  EXPECT_EQ(store_.head_seq(), head);
}

TEST_F(key_service_test, given_cidrs_when_creating_then_they_are_stored_canonical_or_refused) {
  auto ws = bootstrap("acme");
  auto in = input(ws, "cidrs");
  in.settings.allowed_cidrs = {"10.0.0.0/8", "2001:DB8::/32", "192.0.2.7"};
  auto k = service_.create(store_, in, ctx_);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->state.allowed_cidrs,
            (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"}));
  in.settings.allowed_cidrs = {"10.0.0.1/8"};
  EXPECT_EQ(service_.create(store_, in, ctx_).error(), domain::rejection::invalid_cidrs);
}

TEST_F(key_service_test, given_a_patch_that_changes_nothing_then_nothing_is_appended) {
  auto ws = bootstrap("acme");
  auto k = create(ws, "same");
  const auto head = store_.head_seq();
  update_key_input patch;
  patch.name = "same";
  patch.enabled = true;
  auto r = service_.update(store_, k.state.key_id, ws.workspace.workspace_id, ws.workspace.policy,
                           patch, ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->global_seq, 0u);
  EXPECT_EQ(store_.head_seq(), head);
}

TEST_F(key_service_test, given_a_patch_when_applied_then_changes_and_disable_are_events) {
  auto ws = bootstrap("acme");
  auto k = create(ws, "before");
  update_key_input patch;
  patch.name = "  after  ";
  patch.enabled = false;
  patch.limit = domain::rate_limit{10, 60};
  auto r = service_.update(store_, k.state.key_id, ws.workspace.workspace_id, ws.workspace.policy,
                           patch, ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->global_seq, 0u);
  EXPECT_EQ(r->state.name, "after");
  EXPECT_FALSE(r->state.enabled);
  EXPECT_EQ(r->state.status_at(clock_.now()), domain::key_status::disabled);
  EXPECT_EQ(events_of_type("KeyUpdated"), 1u);
  EXPECT_EQ(events_of_type("KeyDisabled"), 1u);
  EXPECT_EQ(service_.load(store_, k.state.key_id).limit, (domain::rate_limit{10, 60}));
}

TEST_F(key_service_test, given_a_key_when_rotated_then_both_are_linked_and_old_has_grace) {
  auto ws = bootstrap("acme");
  auto in = input(ws, "rotating", domain::environment::live, {"leads:read"});
  in.settings.allowed_cidrs = {"10.0.0.0/8"};
  auto old_key = service_.create(store_, in, ctx_);
  ASSERT_TRUE(old_key.ok());
  clock_.advance(std::chrono::hours(1));

  auto r =
      service_.rotate(store_, old_key->state.key_id, ws.workspace.workspace_id,
                      ws.workspace.key_prefix, ws.workspace.policy, std::chrono::hours(2), ctx_);
  ASSERT_TRUE(r.ok());
  const auto& fresh = r->new_key.state;
  EXPECT_EQ(fresh.rotated_from, old_key->state.key_id);
  EXPECT_EQ(r->old_key.rotated_to, fresh.key_id);
  EXPECT_EQ(fresh.scopes, old_key->state.scopes);
  EXPECT_EQ(fresh.allowed_cidrs, old_key->state.allowed_cidrs);
  EXPECT_EQ(fresh.env, domain::environment::live);
  EXPECT_EQ(*r->old_key.expires_at, clock_.now() + std::chrono::hours(2));
  EXPECT_NE(std::string(r->new_key.key.reveal()), std::string(old_key->key.reveal()));
  EXPECT_EQ(fresh.key_hash, hasher_.hash_hex(r->new_key.key.reveal()));
  EXPECT_GT(r->new_key.global_seq, 0u);

  // The stored log agrees with the answer, and holds no secret.
  EXPECT_EQ(service_.load(store_, old_key->state.key_id).rotated_to, fresh.key_id);
  EXPECT_EQ(service_.load(store_, fresh.key_id).rotated_from, old_key->state.key_id);
  for (const auto& e : store_.events()) {
    EXPECT_EQ(e.payload.find(r->new_key.key.reveal()), std::string::npos);
  }

  // Only the newest key of the chain can be rotated.
  auto again =
      service_.rotate(store_, old_key->state.key_id, ws.workspace.workspace_id,
                      ws.workspace.key_prefix, ws.workspace.policy, std::chrono::seconds(0), ctx_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), domain::rejection::key_already_rotated);

  // Once the grace period is over the old key is expired.
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(service_.load(store_, old_key->state.key_id).status_at(clock_.now()),
            domain::key_status::expired);
}

TEST_F(key_service_test, given_a_concurrent_revoke_when_rotating_then_rotation_conflicts_whole) {
  auto ws = bootstrap("acme");
  auto k = create(ws, "contested");
  interleaving_store racing(store_);
  racing.interleave = [&] {
    ASSERT_TRUE(service_.revoke(store_, k.state.key_id, ws.workspace.workspace_id, ctx_).ok());
  };
  const auto rotated_before = events_of_type("KeyRotated");
  const auto created_before = events_of_type("KeyCreated");
  try {
    (void)service_.rotate(racing, k.state.key_id, ws.workspace.workspace_id,
                          ws.workspace.key_prefix, ws.workspace.policy, std::chrono::seconds(60),
                          ctx_);
    FAIL() << "a rotation decided on a stale state must not be appended";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::conflict);
  }
  // Neither half of the rotation was written; the revocation stands.
  EXPECT_EQ(events_of_type("KeyRotated"), rotated_before);
  EXPECT_EQ(events_of_type("KeyCreated"), created_before);
  EXPECT_EQ(service_.load(store_, k.state.key_id).status_at(clock_.now()),
            domain::key_status::revoked);
}

TEST_F(key_service_test, given_a_concurrent_change_when_revoking_then_conflict_not_retry) {
  auto ws = bootstrap("acme");
  auto k = create(ws, "contested");
  interleaving_store racing(store_);
  racing.interleave = [&] {
    update_key_input patch;
    patch.enabled = false;
    ASSERT_TRUE(service_
                    .update(store_, k.state.key_id, ws.workspace.workspace_id, ws.workspace.policy,
                            patch, ctx_)
                    .ok());
  };
  try {
    (void)service_.revoke(racing, k.state.key_id, ws.workspace.workspace_id, ctx_);
    FAIL() << "expected a conflict";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::conflict);
  }
  EXPECT_EQ(events_of_type("KeyRevoked"), 0u);
}

TEST_F(key_service_test, given_an_expiry_warning_between_load_and_append_then_rotation_succeeds) {
  auto ws = bootstrap("acme");
  auto k = create_warnable(ws, "warned");
  // The expiry job appends its warning after the rotation loaded the key.
  interleaving_store racing(store_);
  racing.interleave = [&] { EXPECT_EQ(service_.record_expiry(store_, k.state.key_id), 1u); };
  auto rotated =
      service_.rotate(racing, k.state.key_id, ws.workspace.workspace_id, ws.workspace.key_prefix,
                      ws.workspace.policy, std::chrono::seconds(60), ctx_);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(events_of_type("KeyExpiryApproaching"), 1u);
  EXPECT_EQ(events_of_type("KeyRotated"), 1u);
  const auto old_key = service_.load(store_, k.state.key_id);
  EXPECT_EQ(old_key.rotated_to, rotated->new_key.state.key_id);
  // Decided on the warned state: the warning is kept, and the grace never outlives the key.
  EXPECT_TRUE(old_key.expiry_warned_for.has_value());
  EXPECT_LE(*old_key.expires_at, *k.state.expires_at);
}

TEST_F(key_service_test,
       given_an_expiry_warning_between_load_and_append_then_update_and_revoke_succeed) {
  auto ws = bootstrap("acme");
  auto k = create_warnable(ws, "warned");
  const auto& id = k.state.key_id;

  interleaving_store racing(store_);
  racing.interleave = [&] { EXPECT_EQ(service_.record_expiry(store_, id), 1u); };
  update_key_input patch;
  patch.name = "renamed";
  auto changed =
      service_.update(racing, id, ws.workspace.workspace_id, ws.workspace.policy, patch, ctx_);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->state.name, "renamed");

  clock_.advance(std::chrono::days(9) + std::chrono::hours(1));  // the 1-day warning is due
  racing.interleave = [&] { EXPECT_EQ(service_.record_expiry(store_, id), 1u); };
  auto revoked = service_.revoke(racing, id, ws.workspace.workspace_id, ctx_);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(events_of_type("KeyExpiryApproaching"), 2u);
  EXPECT_EQ(events_of_type("KeyRevoked"), 1u);
  EXPECT_EQ(service_.load(store_, id).status_at(clock_.now()), domain::key_status::revoked);
}

TEST_F(key_service_test,
       given_a_warning_and_a_person_change_between_load_and_append_then_conflict) {
  auto ws = bootstrap("acme");
  auto k = create_warnable(ws, "contested");
  const auto& id = k.state.key_id;
  interleaving_store racing(store_);
  racing.interleave = [&] {
    EXPECT_EQ(service_.record_expiry(store_, id), 1u);
    update_key_input patch;
    patch.enabled = false;
    ASSERT_TRUE(
        service_.update(store_, id, ws.workspace.workspace_id, ws.workspace.policy, patch, ctx_)
            .ok());
  };
  try {
    (void)service_.rotate(racing, id, ws.workspace.workspace_id, ws.workspace.key_prefix,
                          ws.workspace.policy, std::chrono::seconds(60), ctx_);
    FAIL() << "a person's change in between must still refuse the rotation";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::conflict);
  }
  EXPECT_EQ(events_of_type("KeyRotated"), 0u);
}

TEST_F(key_service_test, given_an_expiring_key_then_warning_and_expiry_are_recorded_once_each) {
  auto ws = bootstrap("acme");
  auto in = input(ws, "short");
  in.expiry.expires_in_days = 20;
  auto k = service_.create(store_, in, ctx_);
  ASSERT_TRUE(k.ok());
  const auto id = k->state.key_id;

  EXPECT_EQ(service_.record_expiry(store_, id), 0u);  // 20 days left: nothing due
  clock_.advance(std::chrono::days(7));               // 13 days left
  EXPECT_EQ(service_.record_expiry(store_, id), 1u);
  EXPECT_EQ(service_.record_expiry(store_, id), 0u);
  EXPECT_EQ(events_of_type("KeyExpiryApproaching"), 1u);

  clock_.advance(std::chrono::days(13));  // exactly at expires_at
  EXPECT_EQ(service_.record_expiry(store_, id), 1u);
  EXPECT_EQ(service_.record_expiry(store_, id), 0u);
  EXPECT_EQ(events_of_type("KeyExpired"), 1u);
  EXPECT_TRUE(service_.load(store_, id).expiry_recorded);
}

TEST_F(key_service_test, given_two_nodes_racing_then_the_derived_event_id_keeps_one_expiry) {
  auto ws = bootstrap("acme");
  auto in = input(ws, "raced");
  in.expiry.expires_in_days = 1;
  auto k = service_.create(store_, in, ctx_);
  ASSERT_TRUE(k.ok());
  clock_.advance(std::chrono::days(2));
  // The second node decided on the same state; its append meets the first node's event.
  interleaving_store racing(store_);
  racing.interleave = [&] { EXPECT_EQ(service_.record_expiry(store_, k->state.key_id), 1u); };
  EXPECT_EQ(service_.record_expiry(racing, k->state.key_id), 0u);
  EXPECT_EQ(events_of_type("KeyExpired"), 1u);
}

}  // namespace
}  // namespace keyledger::services
