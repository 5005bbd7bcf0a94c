// Time-driven rules: rotation with a grace period, expiry, the expiry warning, status_at, and
// evolve/replay of every event. The instant is always injected (the command's `now`).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/keys/key_format.hpp"
#include "fakes.hpp"
#include "key_fixtures.hpp"

namespace keyledger::domain {
namespace {

using namespace std::chrono;
using testing::a_create_command;
using testing::a_key;
using testing::a_new_key_id;
using testing::a_rotate_command;
using testing::another_hash;
using testing::apply;
using testing::events_of;
using testing::fixed_instant;
using testing::rejection_of;
using testing::rotate;

const timestamp t0 = fixed_instant();
constexpr microseconds one_us{1};

rejection rotation_rejection(const api_key_state& old_key, const rotate_key& c) {
  const auto r = decide_rotation(old_key, c);
  EXPECT_FALSE(r.ok());
  return r.ok() ? rejection::key_already_exists : r.error();
}

// ---- status_at ---------------------------------------------------------------------------------

TEST(api_key_status, precedence_revoked_then_expired_then_disabled_then_active) {
  const auto key = a_key();  // expires at t0 + 90 d
  const timestamp expiry = *key.expires_at;
  api_key_state disabled = key;
  disabled.enabled = false;
  api_key_state revoked = disabled;
  revoked.revoked_at = t0 + hours{1};

  struct status_case {
    const char* what;
    const api_key_state& state;
    timestamp at;
    key_status expected;
  };
  const status_case cases[] = {
      {"active", key, t0, key_status::active},
      {"one microsecond before expiry", key, expiry - one_us, key_status::active},
      {"exactly at expiry", key, expiry, key_status::expired},
      {"after expiry", key, expiry + days{400}, key_status::expired},
      {"disabled", disabled, t0, key_status::disabled},
      {"disabled and expired", disabled, expiry, key_status::expired},
      {"revoked, disabled", revoked, t0, key_status::revoked},
      {"revoked, disabled and expired", revoked, expiry, key_status::revoked},
  };
  for (const auto& tc : cases) EXPECT_EQ(tc.state.status_at(tc.at), tc.expected) << tc.what;
}

TEST(api_key_status, a_key_without_expiry_never_expires) {
  auto c = a_create_command(t0);
  c.expires_at.reset();
  c.policy.allow_no_expiry = true;
  const auto key = a_key(c);
  EXPECT_EQ(key.status_at(t0 + days{365 * 100}), key_status::active);
}

TEST(api_key_status, expiry_is_a_matter_of_time_not_of_the_key_expired_event) {
  const auto key = a_key();
  // No KeyExpired yet, and still expired at expires_at.
  EXPECT_FALSE(key.expiry_recorded);
  EXPECT_EQ(key.status_at(*key.expires_at), key_status::expired);
}

// ---- rotation ----------------------------------------------------------------------------------

TEST(api_key_rotate, given_an_active_key_then_key_rotated_and_a_new_key_with_the_same_settings) {
  // Given a key created at t0 that expires at t0 + 90 d
  const auto old_key = a_key();
  // When rotated ten days later with the default grace (24 h)
  const timestamp now = t0 + days{10};
  const auto r = decide_rotation(old_key, a_rotate_command(now));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  // Then the old stream gets KeyRotated: linked forward, works until now + 24 h
  EXPECT_EQ(r->old_key_event, (key_rotated{old_key.key_id, a_new_key_id, now, now + hours{24}}));
  // And the new key has every setting of the old one, linked back, a fresh 90-day lifespan
  key_created expected;
  expected.key_id = a_new_key_id;
  expected.workspace_id = old_key.workspace_id;
  expected.name = old_key.name;
  expected.env = old_key.env;
  expected.scopes = old_key.scopes;
  expected.key_hash = another_hash;
  expected.start = "kl_live_XyZ9";
  expected.created_at = now;
  expected.expires_at = now + days{90};
  expected.allowed_cidrs = old_key.allowed_cidrs;
  expected.postback_url = old_key.postback_url;
  expected.off_the_record = old_key.off_the_record;
  expected.enabled = old_key.enabled;
  expected.limit = old_key.limit;
  expected.rotated_from = old_key.key_id;
  EXPECT_EQ(r->new_key_event, expected);
  EXPECT_EQ(event_type(api_key_event{r->old_key_event}), "KeyRotated");
}

TEST(api_key_rotate, the_old_key_works_until_the_grace_ends_then_is_expired) {
  const auto old_key = a_key();
  const timestamp now = t0 + days{1};
  const auto [old_after, new_key] = rotate(old_key, a_rotate_command(now, hours{2}));
  const timestamp grace_end = now + hours{2};
  EXPECT_EQ(old_after.rotated_to, a_new_key_id);
  EXPECT_EQ(old_after.expires_at, grace_end);
  EXPECT_EQ(old_after.updated_at, now);
  EXPECT_EQ(old_after.version, old_key.version + 1);
  EXPECT_EQ(old_after.status_at(grace_end - one_us), key_status::active);
  EXPECT_EQ(old_after.status_at(grace_end), key_status::expired);
  EXPECT_EQ(new_key.status_at(grace_end), key_status::active);
  EXPECT_EQ(new_key.rotated_from, old_key.key_id);
  EXPECT_EQ(new_key.rotated_to, "");
}

TEST(api_key_rotate, zero_grace_stops_the_old_key_at_once) {
  const auto old_key = a_key();
  const timestamp now = t0 + hours{3};
  const auto [old_after, new_key] = rotate(old_key, a_rotate_command(now, seconds{0}));
  EXPECT_EQ(old_after.expires_at, now);
  EXPECT_EQ(old_after.status_at(now), key_status::expired);
  EXPECT_EQ(new_key.status_at(now), key_status::active);
}

TEST(api_key_rotate, the_grace_never_extends_the_old_key_beyond_its_expiry) {
  const auto old_key = a_key();  // expires at t0 + 90 d
  const timestamp now = *old_key.expires_at - hours{1};
  const auto r = decide_rotation(old_key, a_rotate_command(now, days{30}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->old_key_event.grace_until, *old_key.expires_at);
}

TEST(api_key_rotate, grace_period_bounds) {
  const auto old_key = a_key();
  const timestamp now = t0 + hours{1};
  EXPECT_TRUE(decide_rotation(old_key, a_rotate_command(now, seconds{0})).ok());
  EXPECT_TRUE(decide_rotation(old_key, a_rotate_command(now, max_grace_period)).ok());
  EXPECT_EQ(rotation_rejection(old_key, a_rotate_command(now, max_grace_period + seconds{1})),
            rejection::invalid_grace_period);
  EXPECT_EQ(rotation_rejection(old_key, a_rotate_command(now, seconds{-1})),
            rejection::invalid_grace_period);
  EXPECT_EQ(max_grace_period, seconds{30 * 24 * 3600});
  EXPECT_EQ(default_grace_period, seconds{24 * 3600});
}

TEST(api_key_rotate, the_new_lifespan_is_the_original_one_capped_by_the_workspace_maximum) {
  // A key created with a 200-day lifespan
  auto c = a_create_command(t0);
  c.expires_at = t0 + days{200};
  const auto old_key = a_key(c);
  const timestamp now = t0 + days{5};
  // Under the default maximum (365 d): 200 days again
  auto rot = a_rotate_command(now);
  EXPECT_EQ(decide_rotation(old_key, rot)->new_key_event.expires_at, now + days{200});
  // The workspace lowered its maximum to 30 days since: capped
  rot.policy.default_lifespan = days{7};
  rot.policy.max_lifespan = days{30};
  EXPECT_EQ(decide_rotation(old_key, rot)->new_key_event.expires_at, now + days{30});
}

TEST(api_key_rotate, a_key_without_expiry_gives_a_new_key_without_expiry) {
  auto c = a_create_command(t0);
  c.expires_at.reset();
  c.policy.allow_no_expiry = true;
  const auto old_key = a_key(c);
  const timestamp now = t0 + days{400};
  const auto r = decide_rotation(old_key, a_rotate_command(now));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->new_key_event.expires_at.has_value());
  EXPECT_EQ(r->old_key_event.grace_until, now + hours{24});
}

TEST(api_key_rotate, a_disabled_key_rotates_into_a_disabled_key) {
  auto c = a_create_command(t0);
  c.settings.enabled = false;
  const auto [old_after, new_key] = rotate(a_key(c), a_rotate_command(t0 + hours{1}));
  EXPECT_FALSE(new_key.enabled);
  EXPECT_EQ(new_key.status_at(t0 + hours{1}), key_status::disabled);
}

TEST(api_key_rotate, a_test_key_rotates_into_a_test_key) {
  auto c = a_create_command(t0);
  c.env = environment::test;
  c.start = "kl_test_AbC1";
  const auto [old_after, new_key] = rotate(a_key(c), a_rotate_command(t0 + hours{1}));
  EXPECT_EQ(new_key.env, environment::test);
}

TEST(api_key_rotate, refusals) {
  const auto key = a_key();
  const timestamp now = t0 + hours{1};
  // Not found
  EXPECT_EQ(rotation_rejection(api_key_state{}, a_rotate_command(now)), rejection::key_not_found);
  // Revoked
  const auto revoked = apply(key, revoke_key{key.key_id, now});
  EXPECT_EQ(rotation_rejection(revoked, a_rotate_command(now)), rejection::key_revoked);
  // Expired: exactly at expires_at, but not one microsecond before
  EXPECT_EQ(rotation_rejection(key, a_rotate_command(*key.expires_at)), rejection::key_expired);
  EXPECT_TRUE(decide_rotation(key, a_rotate_command(*key.expires_at - one_us)).ok());
  // Bad new hash, bad new start (a whole key must never be stored as a start)
  auto bad_hash = a_rotate_command(now);
  bad_hash.new_key_hash = "ABC";
  EXPECT_EQ(rotation_rejection(key, bad_hash), rejection::invalid_key_hash);
  auto bad_start = a_rotate_command(now);
  bad_start.new_start = "";
  EXPECT_EQ(rotation_rejection(key, bad_start), rejection::invalid_key_start);
  testing::seeded_random random{11};
  bad_start.new_start = generate_key("kl", environment::live, random);
  EXPECT_EQ(rotation_rejection(key, bad_start), rejection::invalid_key_start);
}

TEST(api_key_rotate, only_the_newest_key_of_a_chain_can_be_rotated) {
  // Given A rotated into B, then B rotated into C
  const auto a = a_key();
  const timestamp t1 = t0 + days{1};
  const auto [a1, b] = rotate(a, a_rotate_command(t1, hours{48}, "key_B"));
  const timestamp t2 = t1 + hours{1};
  auto rot_b = a_rotate_command(t2, hours{48}, "key_C");
  rot_b.key_id = "key_B";
  const auto [b1, c] = rotate(b, rot_b);
  // Then the links go both ways along the chain
  EXPECT_EQ(a1.rotated_to, "key_B");
  EXPECT_EQ(b1.rotated_from, a.key_id);
  EXPECT_EQ(b1.rotated_to, "key_C");
  EXPECT_EQ(c.rotated_from, "key_B");
  // And A and B, both still inside their grace, cannot be rotated again; C can
  const timestamp t3 = t2 + hours{1};
  EXPECT_EQ(a1.status_at(t3), key_status::active);
  EXPECT_EQ(b1.status_at(t3), key_status::active);
  EXPECT_EQ(rotation_rejection(a1, a_rotate_command(t3, hours{1}, "key_D")),
            rejection::key_already_rotated);
  EXPECT_EQ(rotation_rejection(b1, a_rotate_command(t3, hours{1}, "key_D")),
            rejection::key_already_rotated);
  EXPECT_TRUE(decide_rotation(c, a_rotate_command(t3, hours{1}, "key_D")).ok());
  // C keeps A's original 90-day lifespan, counted from its own creation
  EXPECT_EQ(c.expires_at, t2 + days{90});
}

TEST(api_key_rotate, a_key_inside_its_grace_can_still_be_updated_and_revoked) {
  const auto [old_after, new_key] = rotate(a_key(), a_rotate_command(t0 + hours{1}));
  update_key u;
  u.key_id = old_after.key_id;
  u.changes.name = "old-one";
  u.now = t0 + hours{2};
  EXPECT_EQ(events_of(old_after, u).size(), 1u);
  EXPECT_EQ(events_of(old_after, revoke_key{old_after.key_id, t0 + hours{2}}).size(), 1u);
  // After the grace: expired
  u.now = *old_after.expires_at;
  EXPECT_EQ(rejection_of(old_after, u), rejection::key_expired);
}

// ---- expire ------------------------------------------------------------------------------------

TEST(api_key_expire, not_due_before_the_expiry_instant_due_from_it) {
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  EXPECT_EQ(rejection_of(key, expire_key{key.key_id, expiry - one_us}), rejection::not_due);
  // Exactly at expires_at: due, and the event carries expires_at (not the job's clock)
  auto events = events_of(key, expire_key{key.key_id, expiry});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.front(), api_key_event{(key_expired{key.key_id, expiry})});
  EXPECT_EQ(event_type(events.front()), "KeyExpired");
  // A job that runs late records the same instant
  events = events_of(key, expire_key{key.key_id, expiry + days{3}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<key_expired>(events.front()).expired_at, expiry);
}

TEST(api_key_expire, recorded_once_only) {
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  const auto expired = apply(key, expire_key{key.key_id, expiry});
  EXPECT_TRUE(expired.expiry_recorded);
  EXPECT_EQ(expired.version, key.version + 1);
  EXPECT_EQ(rejection_of(expired, expire_key{key.key_id, expiry + days{1}}), rejection::not_due);
}

TEST(api_key_expire, never_for_revoked_keys_or_keys_without_expiry) {
  const auto key = a_key();
  const auto revoked = apply(key, revoke_key{key.key_id, t0 + hours{1}});
  EXPECT_EQ(rejection_of(revoked, expire_key{key.key_id, *key.expires_at + days{1}}),
            rejection::not_due);
  auto c = a_create_command(t0);
  c.expires_at.reset();
  c.policy.allow_no_expiry = true;
  EXPECT_EQ(rejection_of(a_key(c), expire_key{c.key_id, t0 + days{10000}}), rejection::not_due);
  EXPECT_EQ(rejection_of(api_key_state{}, expire_key{"key_missing", t0}), rejection::key_not_found);
}

TEST(api_key_expire, a_disabled_key_is_expired_too) {
  auto c = a_create_command(t0);
  c.settings.enabled = false;
  const auto key = a_key(c);
  EXPECT_EQ(events_of(key, expire_key{key.key_id, *key.expires_at}).size(), 1u);
}

TEST(api_key_expire, due_at_the_end_of_a_rotation_grace) {
  const auto [old_after, new_key] = rotate(a_key(), a_rotate_command(t0 + hours{1}, hours{6}));
  const timestamp grace_end = t0 + hours{7};
  EXPECT_EQ(rejection_of(old_after, expire_key{old_after.key_id, grace_end - one_us}),
            rejection::not_due);
  const auto events = events_of(old_after, expire_key{old_after.key_id, grace_end});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<key_expired>(events.front()).expired_at, grace_end);
  EXPECT_EQ(rejection_of(new_key, expire_key{new_key.key_id, grace_end}), rejection::not_due);
}

// ---- expiry warning ----------------------------------------------------------------------------

TEST(api_key_warn, due_from_fourteen_days_before_until_the_expiry) {
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  const timestamp from = expiry - days{14};
  EXPECT_EQ(expiry_warning_lead, seconds{14 * 24 * 3600});
  EXPECT_EQ(rejection_of(key, warn_key_expiry{key.key_id, from - one_us}), rejection::not_due);
  const auto events = events_of(key, warn_key_expiry{key.key_id, from});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.front(), api_key_event{(key_expiry_approaching{key.key_id, expiry})});
  EXPECT_EQ(event_type(events.front()), "KeyExpiryApproaching");
  EXPECT_EQ(events_of(key, warn_key_expiry{key.key_id, expiry - one_us}).size(), 1u);
  // From the expiry instant on it is KeyExpired's turn
  EXPECT_EQ(rejection_of(key, warn_key_expiry{key.key_id, expiry}), rejection::not_due);
}

TEST(api_key_warn, once_per_expires_at) {
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  const auto warned = apply(key, warn_key_expiry{key.key_id, expiry - days{10}});
  EXPECT_EQ(warned.expiry_warned_for, expiry);
  EXPECT_EQ(rejection_of(warned, warn_key_expiry{key.key_id, expiry - days{5}}),
            rejection::not_due);
  // A rotation moves expires_at: the new one is warned about again
  const timestamp now = expiry - days{4};
  const auto [old_after, new_key] = rotate(warned, a_rotate_command(now, days{1}));
  const auto events = events_of(old_after, warn_key_expiry{key.key_id, now + hours{1}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<key_expiry_approaching>(events.front()).expires_at, now + days{1});
}

TEST(api_key_warn, never_for_revoked_keys_or_keys_without_expiry) {
  const auto key = a_key();
  const auto revoked = apply(key, revoke_key{key.key_id, t0});
  EXPECT_EQ(rejection_of(revoked, warn_key_expiry{key.key_id, *key.expires_at - days{1}}),
            rejection::not_due);
  auto c = a_create_command(t0);
  c.expires_at.reset();
  c.policy.allow_no_expiry = true;
  EXPECT_EQ(rejection_of(a_key(c), warn_key_expiry{c.key_id, t0}), rejection::not_due);
  EXPECT_EQ(rejection_of(api_key_state{}, warn_key_expiry{"key_missing", t0}),
            rejection::key_not_found);
}

// ---- evolve and replay -------------------------------------------------------------------------

TEST(api_key_evolve, key_created_sets_every_member_and_version_1) {
  const auto c = a_create_command(t0);
  const auto state = a_key(c);
  EXPECT_EQ(state.version, 1u);
  EXPECT_TRUE(state.exists);
  EXPECT_EQ(state.key_id, c.key_id);
  EXPECT_EQ(state.workspace_id, c.workspace_id);
  EXPECT_EQ(state.name, c.settings.name);
  EXPECT_EQ(state.env, c.env);
  EXPECT_EQ(state.scopes, c.settings.scopes);
  EXPECT_EQ(state.key_hash, c.key_hash);
  EXPECT_EQ(state.start, c.start);
  EXPECT_EQ(state.created_at, t0);
  EXPECT_EQ(state.expires_at, c.expires_at);
  EXPECT_EQ(state.allowed_cidrs, c.settings.allowed_cidrs);
  EXPECT_EQ(state.postback_url, c.settings.postback_url);
  EXPECT_EQ(state.off_the_record, c.settings.off_the_record);
  EXPECT_EQ(state.enabled, c.settings.enabled);
  EXPECT_EQ(state.limit, c.settings.limit);
  EXPECT_EQ(state.rotated_from, "");
  EXPECT_EQ(state.rotated_to, "");
  EXPECT_FALSE(state.revoked_at);
  EXPECT_FALSE(state.expiry_recorded);
  EXPECT_FALSE(state.expiry_warned_for);
  EXPECT_FALSE(state.updated_at);
  EXPECT_EQ(state.status_at(t0), key_status::active);
}

TEST(api_key_evolve, each_event_increments_the_version_and_changes_only_its_members) {
  const auto created = a_key();
  const auto revoked = evolve(created, key_revoked{created.key_id, t0 + minutes{5}});
  EXPECT_EQ(revoked.version, 2u);
  EXPECT_EQ(revoked.revoked_at, t0 + minutes{5});
  EXPECT_EQ(revoked.name, created.name);
  EXPECT_EQ(revoked.expires_at, created.expires_at);
  EXPECT_EQ(revoked.updated_at, created.updated_at);

  const auto expired = evolve(created, key_expired{created.key_id, *created.expires_at});
  EXPECT_EQ(expired.version, 2u);
  EXPECT_TRUE(expired.expiry_recorded);
  EXPECT_EQ(expired.expires_at, created.expires_at);

  const auto warned = evolve(created, key_expiry_approaching{created.key_id, *created.expires_at});
  EXPECT_EQ(warned.version, 2u);
  EXPECT_EQ(warned.expiry_warned_for, created.expires_at);

  const auto disabled = evolve(created, key_disabled{created.key_id, t0 + hours{1}});
  EXPECT_FALSE(disabled.enabled);
  EXPECT_EQ(disabled.updated_at, t0 + hours{1});
  const auto enabled = evolve(disabled, key_enabled{created.key_id, t0 + hours{2}});
  EXPECT_TRUE(enabled.enabled);
  EXPECT_EQ(enabled.updated_at, t0 + hours{2});
  EXPECT_EQ(enabled.version, 3u);
}

TEST(api_key_replay, given_no_events_then_the_empty_state) {
  const auto state = replay({});
  EXPECT_EQ(state.version, 0u);
  EXPECT_FALSE(state.exists);
}

TEST(api_key_replay, a_whole_lifecycle_replays_to_the_state_built_step_by_step) {
  // Given a key created, updated, disabled, enabled, warned, rotated and expired through decide
  const auto c = a_create_command(t0);
  std::vector<api_key_event> log;
  api_key_state stepwise;
  auto run = [&](const api_key_command& command) {
    const auto r = decide(stepwise, command);
    ASSERT_TRUE(r.ok()) << to_string(r.error());
    for (const auto& e : r.value()) {
      stepwise = evolve(stepwise, e);
      log.push_back(e);
    }
  };
  run(c);
  update_key u;
  u.key_id = c.key_id;
  u.changes.name = "renamed";
  u.changes.enabled = false;
  u.now = t0 + days{1};
  run(u);
  u.changes.name.reset();
  u.changes.enabled = true;
  u.now = t0 + days{2};
  run(u);
  run(warn_key_expiry{c.key_id, *c.expires_at - days{13}});
  const auto rot = decide_rotation(stepwise, a_rotate_command(*c.expires_at - days{12}));
  ASSERT_TRUE(rot.ok());
  stepwise = evolve(stepwise, rot->old_key_event);
  log.push_back(rot->old_key_event);
  run(expire_key{c.key_id, *stepwise.expires_at});
  // When the log is replayed
  const auto replayed = replay(log);
  // Then it is the same state
  EXPECT_EQ(replayed.version, 7u);  // created, updated, disabled, enabled, warned, rotated, expired
  EXPECT_EQ(replayed.version, stepwise.version);
  EXPECT_EQ(replayed.name, "renamed");
  EXPECT_TRUE(replayed.enabled);
  EXPECT_TRUE(replayed.expiry_recorded);
  EXPECT_EQ(replayed.rotated_to, a_new_key_id);
  EXPECT_EQ(replayed.expires_at, stepwise.expires_at);
  EXPECT_EQ(replayed.expiry_warned_for, *c.expires_at);
  EXPECT_EQ(replayed.updated_at, stepwise.updated_at);
  EXPECT_EQ(replayed.status_at(*replayed.expires_at), key_status::expired);
}

}  // namespace
}  // namespace keyledger::domain
