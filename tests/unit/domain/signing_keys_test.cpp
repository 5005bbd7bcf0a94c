// The signing key set: every decide rule, the rotation schedule (plan) and what is published,
// given/when/then with an injected instant.
#include "domain/oauth/signing_keys.hpp"

#include <gtest/gtest.h>

#include <set>
#include <variant>

#include "tests/unit/domain/fakes.hpp"

namespace keyledger::domain::oauth {
namespace {

using namespace std::chrono_literals;
using testing::fixed_instant;

const std::string kid_a = "sig_AAAAAAAAAAAAAAAAAAAAAA";
const std::string kid_b = "sig_BBBBBBBBBBBBBBBBBBBBBB";
const std::string kid_c = "sig_CCCCCCCCCCCCCCCCCCCCCC";
const timestamp t0 = fixed_instant();
const rotation_policy policy{};  // every 30 days, overlap 24 hours

std::string jwk_of(const std::string& kid) { return R"({"kid":")" + kid + R"("})"; }

create_signing_key create(const std::string& kid, key_activation how, timestamp now,
                          timestamp activate_after = {}) {
  return {kid, jwk_of(kid), how, activate_after, now};
}

std::vector<signing_key_event> events_of(const signing_key_set& s, const signing_key_command& c) {
  auto r = decide(s, c);
  EXPECT_TRUE(r.ok()) << to_string(r.error());
  return r.ok() ? r.value() : std::vector<signing_key_event>{};
}

std::optional<signing_key_rejection> rejection_of(const signing_key_set& s,
                                                  const signing_key_command& c) {
  auto r = decide(s, c);
  if (r.ok()) return std::nullopt;
  return r.error();
}

signing_key_set fold(signing_key_set s, const std::vector<signing_key_event>& events) {
  for (const auto& e : events) s = evolve(std::move(s), e);
  return s;
}

signing_key_set after(const signing_key_set& s, const signing_key_command& c) {
  return fold(s, events_of(s, c));
}

/// Key A active since t0.
signing_key_set one_active() {
  return after(signing_key_set{}, create(kid_a, key_activation::at_once, t0));
}

/// Key A active since t0, key B pending from t0 + 29 days (activates a day later).
signing_key_set active_and_pending() {
  return after(one_active(),
               create(kid_b, key_activation::scheduled, t0 + 29 * 24h, t0 + 30 * 24h));
}

std::vector<std::string> kids(const std::vector<signing_key>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.kid);
  return out;
}

// ---- create ---------------------------------------------------------------------------------

TEST(signing_keys, given_no_key_when_the_first_is_created_at_once_then_it_is_active_at_once) {
  const auto events = events_of(signing_key_set{}, create(kid_a, key_activation::at_once, t0));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0],
            signing_key_event(signing_key_created{kid_a, "ES256", jwk_of(kid_a), t0, t0}));
  EXPECT_EQ(events[1], signing_key_event(signing_key_activated{kid_a, t0}));
  const auto s = fold({}, events);
  EXPECT_EQ(s.version, 2u);
  ASSERT_NE(s.active(), nullptr);
  EXPECT_EQ(s.active()->kid, kid_a);
  EXPECT_EQ(s.active()->activated_at, t0);
  EXPECT_EQ(s.pending(), nullptr);
  EXPECT_EQ(event_type(events[0]), "SigningKeyCreated");
  EXPECT_EQ(event_type(events[1]), "SigningKeyActivated");
}

TEST(signing_keys, given_an_active_key_when_a_key_is_scheduled_then_it_is_pending_and_published) {
  const auto s = active_and_pending();
  ASSERT_NE(s.pending(), nullptr);
  EXPECT_EQ(s.pending()->kid, kid_b);
  EXPECT_EQ(s.pending()->activate_after, t0 + 30 * 24h);
  EXPECT_EQ(s.pending()->created_at, t0 + 29 * 24h);
  EXPECT_EQ(s.active()->kid, kid_a);
  EXPECT_EQ(kids(published(s, t0 + 29 * 24h)), (std::vector{kid_a, kid_b}));
}

TEST(signing_keys, a_create_needs_a_well_formed_new_kid_and_a_public_key) {
  const auto s = one_active();
  const auto later = t0 + 1h;
  EXPECT_EQ(rejection_of(s, create("sig_short", key_activation::scheduled, later, later)),
            signing_key_rejection::invalid_kid);
  EXPECT_EQ(rejection_of(
                s, create("key_AAAAAAAAAAAAAAAAAAAAAA", key_activation::scheduled, later, later)),
            signing_key_rejection::invalid_kid);
  EXPECT_EQ(rejection_of(
                s, create("sig_AAAAAAAAAAAAAAAAAAAAA-", key_activation::scheduled, later, later)),
            signing_key_rejection::invalid_kid);
  EXPECT_EQ(rejection_of(s, create(kid_a, key_activation::scheduled, later, later)),
            signing_key_rejection::key_exists);
  auto no_jwk = create(kid_b, key_activation::scheduled, later, later);
  no_jwk.public_jwk.clear();
  EXPECT_EQ(rejection_of(s, no_jwk), signing_key_rejection::invalid_public_key);
  EXPECT_EQ(rejection_of(s, create(kid_b, key_activation::scheduled, later, later - 1us)),
            signing_key_rejection::invalid_activation);
}

TEST(signing_keys, given_a_pending_key_then_no_other_may_be_created_but_in_an_emergency) {
  const auto s = active_and_pending();
  const auto now = t0 + 29 * 24h + 1h;
  EXPECT_EQ(rejection_of(s, create(kid_c, key_activation::scheduled, now, now + 24h)),
            signing_key_rejection::pending_key_exists);
  EXPECT_EQ(rejection_of(s, create(kid_c, key_activation::at_once, now)),
            signing_key_rejection::pending_key_exists);
  EXPECT_EQ(rejection_of(s, create(kid_c, key_activation::emergency, now)), std::nullopt);
}

TEST(signing_keys, given_an_active_key_then_a_key_cannot_activate_at_once_without_an_emergency) {
  EXPECT_EQ(rejection_of(one_active(), create(kid_b, key_activation::at_once, t0 + 1h)),
            signing_key_rejection::active_key_exists);
}

TEST(signing_keys, given_every_key_retired_then_a_new_key_may_activate_at_once) {
  const auto retired = after(one_active(), retire_signing_key{kid_a, t0 + 1h});
  ASSERT_EQ(retired.active(), nullptr);
  const auto s = after(retired, create(kid_b, key_activation::at_once, t0 + 2h));
  EXPECT_EQ(s.active()->kid, kid_b);
}

// ---- activate -------------------------------------------------------------------------------

TEST(signing_keys, given_a_pending_key_before_its_time_when_activated_then_too_early) {
  const auto s = active_and_pending();
  EXPECT_EQ(rejection_of(s, activate_signing_key{kid_b, t0 + 30 * 24h - 1us}),
            signing_key_rejection::too_early);
}

TEST(signing_keys,
     when_a_pending_key_activates_then_the_previous_key_retires_in_the_same_decision_after_it) {
  const auto s = active_and_pending();
  const auto at = t0 + 30 * 24h;
  const auto events = events_of(s, activate_signing_key{kid_b, at});
  ASSERT_EQ(events.size(), 2u);
  // Activated first: a reader applying one event at a time always has a key to sign with, the
  // new one (the newest active key), and never a moment without one.
  EXPECT_EQ(events[0], signing_key_event(signing_key_activated{kid_b, at}));
  EXPECT_EQ(events[1], signing_key_event(signing_key_retired{kid_a, at, at + 24h + 5min}));
  const auto between = evolve(s, events[0]);
  ASSERT_NE(between.active(), nullptr);
  EXPECT_EQ(between.active()->kid, kid_b);
  EXPECT_EQ(retired_key_publication, 24h + 5min);
  const auto after_it = fold(s, events);
  EXPECT_EQ(after_it.active()->kid, kid_b);
  const auto* a = after_it.find(kid_a);
  EXPECT_EQ(a->status, signing_key_status::retired);
  EXPECT_EQ(a->retired_at, at);
  EXPECT_EQ(a->publish_until, at + 24h + 5min);
  EXPECT_EQ(after_it.pending(), nullptr);
}

TEST(signing_keys, given_no_active_key_then_any_pending_key_may_activate_early) {
  const auto s = after(active_and_pending(), retire_signing_key{kid_a, t0 + 29 * 24h + 1h});
  ASSERT_EQ(s.active(), nullptr);
  const auto events = events_of(s, activate_signing_key{kid_b, t0 + 29 * 24h + 2h});
  ASSERT_EQ(events.size(), 1u);  // nothing to retire
  EXPECT_EQ(fold(s, events).active()->kid, kid_b);
}

TEST(signing_keys, activating_an_unknown_retired_or_active_key) {
  const auto s = after(active_and_pending(), activate_signing_key{kid_b, t0 + 30 * 24h});
  EXPECT_EQ(rejection_of(s, activate_signing_key{kid_c, t0 + 31 * 24h}),
            signing_key_rejection::key_not_found);
  EXPECT_EQ(rejection_of(s, activate_signing_key{kid_a, t0 + 31 * 24h}),
            signing_key_rejection::key_retired);
  EXPECT_TRUE(events_of(s, activate_signing_key{kid_b, t0 + 31 * 24h}).empty());
}

// ---- retire ---------------------------------------------------------------------------------

TEST(signing_keys, when_the_active_key_retires_then_it_stays_published_for_the_longest_token) {
  const auto at = t0 + 3h;
  const auto s = after(one_active(), retire_signing_key{kid_a, at});
  EXPECT_EQ(s.active(), nullptr);
  EXPECT_EQ(s.find(kid_a)->publish_until, at + retired_key_publication);
  EXPECT_EQ(kids(published(s, at + retired_key_publication - 1us)), std::vector{kid_a});
  EXPECT_TRUE(published(s, at + retired_key_publication).empty());
}

TEST(signing_keys, a_pending_key_retires_unpublished_and_a_retired_key_retires_once) {
  const auto at = t0 + 29 * 24h + 1h;
  const auto events = events_of(active_and_pending(), retire_signing_key{kid_b, at});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], signing_key_event(signing_key_retired{kid_b, at, at}));
  const auto s = fold(active_and_pending(), events);
  EXPECT_EQ(kids(published(s, at)), std::vector{kid_a});
  EXPECT_TRUE(events_of(s, retire_signing_key{kid_b, at + 1h}).empty());
  EXPECT_EQ(rejection_of(s, retire_signing_key{kid_c, at}), signing_key_rejection::key_not_found);
}

// ---- emergency ------------------------------------------------------------------------------

TEST(signing_keys, an_emergency_key_activates_at_once_and_nothing_earlier_stays_published) {
  // A retired long ago (unpublished), B retired a moment ago (still published), C active, and a
  // pending D.
  auto s = one_active();
  s = after(s, create(kid_b, key_activation::scheduled, t0 + 29 * 24h, t0 + 30 * 24h));
  s = after(s, activate_signing_key{kid_b, t0 + 30 * 24h});
  s = after(s, create(kid_c, key_activation::scheduled, t0 + 59 * 24h, t0 + 60 * 24h));
  s = after(s, activate_signing_key{kid_c, t0 + 60 * 24h});
  const std::string kid_d = "sig_DDDDDDDDDDDDDDDDDDDDDD";
  s = after(s, create(kid_d, key_activation::scheduled, t0 + 60 * 24h + 1h, t0 + 61 * 24h));
  const auto now = t0 + 60 * 24h + 2h;
  ASSERT_EQ(kids(published(s, now)), (std::vector{kid_b, kid_c, kid_d}));

  const std::string kid_e = "sig_EEEEEEEEEEEEEEEEEEEEEE";
  const auto events = events_of(s, create(kid_e, key_activation::emergency, now));
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0], signing_key_event(signing_key_retired{kid_b, now, now}));
  EXPECT_EQ(events[1], signing_key_event(signing_key_retired{kid_c, now, now}));
  EXPECT_EQ(events[2], signing_key_event(signing_key_retired{kid_d, now, now}));
  EXPECT_EQ(events[3],
            signing_key_event(signing_key_created{kid_e, "ES256", jwk_of(kid_e), now, now}));
  EXPECT_EQ(events[4], signing_key_event(signing_key_activated{kid_e, now}));

  const auto done = fold(s, events);
  EXPECT_EQ(done.active()->kid, kid_e);
  EXPECT_EQ(done.pending(), nullptr);
  EXPECT_EQ(kids(published(done, now)), std::vector{kid_e});
  // B was retired before: its retirement time stands, its publication ends now.
  EXPECT_EQ(done.find(kid_b)->retired_at, t0 + 60 * 24h);
  EXPECT_EQ(done.find(kid_b)->publish_until, now);
}

TEST(signing_keys, a_later_retirement_never_extends_a_retired_keys_publication) {
  auto s = after(one_active(), retire_signing_key{kid_a, t0 + 1h});
  s = evolve(std::move(s), signing_key_retired{kid_a, t0 + 2h, t0 + 100 * 24h});
  EXPECT_EQ(s.find(kid_a)->publish_until, t0 + 1h + retired_key_publication);
  EXPECT_EQ(s.find(kid_a)->retired_at, t0 + 1h);
}

// ---- evolve ---------------------------------------------------------------------------------

TEST(signing_keys, events_of_unknown_kids_or_out_of_order_change_only_the_version) {
  const auto s = one_active();
  auto t = evolve(s, signing_key_activated{kid_c, t0});
  t = evolve(std::move(t), signing_key_retired{kid_c, t0, t0});
  t = evolve(std::move(t), signing_key_created{kid_a, "ES256", "{}", t0 + 1h, t0 + 1h});
  t = evolve(std::move(t), signing_key_activated{kid_a, t0 + 2h});  // already active
  EXPECT_EQ(t.version, s.version + 4);
  EXPECT_EQ(t.keys, s.keys);
}

// ---- the schedule ---------------------------------------------------------------------------

TEST(signing_keys, given_no_key_then_the_plan_is_a_key_at_once) {
  EXPECT_EQ(plan(signing_key_set{}, t0, policy),
            std::optional(planned_step{new_key_due{key_activation::at_once, t0}}));
}

TEST(signing_keys, given_a_young_active_key_then_nothing_is_due) {
  EXPECT_EQ(plan(one_active(), t0 + 29 * 24h - 1us, policy), std::nullopt);
}

TEST(signing_keys, given_an_active_key_near_its_end_then_a_key_is_scheduled_one_overlap_ahead) {
  const auto now = t0 + 29 * 24h;  // every - overlap after the activation
  EXPECT_EQ(plan(one_active(), now, policy),
            std::optional(planned_step{new_key_due{key_activation::scheduled, now + 24h}}));
}

TEST(signing_keys, given_a_pending_key_then_it_activates_when_its_time_has_come) {
  const auto s = active_and_pending();
  EXPECT_EQ(plan(s, t0 + 30 * 24h - 1us, policy), std::nullopt);
  const auto due = plan(s, t0 + 30 * 24h, policy);
  ASSERT_TRUE(due);
  ASSERT_TRUE(std::holds_alternative<activate_signing_key>(*due));
  EXPECT_EQ(std::get<activate_signing_key>(*due).kid, kid_b);
}

TEST(signing_keys, given_a_pending_key_and_no_active_one_then_it_activates_at_once) {
  const auto s = after(active_and_pending(), retire_signing_key{kid_a, t0 + 29 * 24h + 1h});
  const auto due = plan(s, t0 + 29 * 24h + 1h, policy);
  ASSERT_TRUE(due);
  EXPECT_EQ(std::get<activate_signing_key>(*due).kid, kid_b);
}

TEST(signing_keys, given_every_key_retired_then_the_plan_is_a_key_at_once) {
  const auto s = after(one_active(), retire_signing_key{kid_a, t0 + 1h});
  EXPECT_EQ(plan(s, t0 + 1h, policy),
            std::optional(planned_step{new_key_due{key_activation::at_once, t0 + 1h}}));
}

TEST(signing_keys, a_policy_needs_an_overlap_shorter_than_the_period) {
  EXPECT_TRUE(valid(rotation_policy{}));
  EXPECT_TRUE(valid(rotation_policy{std::chrono::days(7), std::chrono::hours(1)}));
  EXPECT_FALSE(valid(rotation_policy{std::chrono::days(1), std::chrono::days(1)}));
  EXPECT_FALSE(valid(rotation_policy{std::chrono::days(1), std::chrono::seconds(0)}));
}

// Follows the plan every 10 minutes for 100 days, as the service does: one key at a time,
// each published a full overlap before it signs, each signing about 30 days, and every token
// a key signed verifiable (its key published) for the longest token lifetime after it.
TEST(signing_keys, following_the_plan_for_a_hundred_days_keeps_every_promise) {
  signing_key_set s;
  int next = 0;
  const auto tick = 10min;
  for (auto now = t0; now < t0 + 100 * 24h; now += tick) {
    if (const auto step = plan(s, now, policy)) {
      if (const auto* due = std::get_if<new_key_due>(&*step)) {
        std::string kid = "sig_" + std::string(21, 'K') + static_cast<char>('a' + next++);
        s = after(s, create(kid, due->activation, now, due->activate_after));
      } else {
        s = after(s, std::get<activate_signing_key>(*step));
      }
    }
    ASSERT_NE(s.active(), nullptr) << "no key signs at tick " << (now - t0) / tick;
    // What signed within the longest token lifetime is still published.
    const auto pub = published(s, now);
    const auto pub_kids = kids(pub);
    const std::set<std::string> published_kids(pub_kids.begin(), pub_kids.end());
    for (const auto& k : s.keys) {
      if (k.retired_at && now - *k.retired_at < max_access_token_lifetime) {
        EXPECT_TRUE(published_kids.count(k.kid)) << k.kid;
      }
    }
    int active = 0;
    for (const auto& k : s.keys) active += k.status == signing_key_status::active;
    ASSERT_EQ(active, 1);
  }
  ASSERT_EQ(s.keys.size(), 4u);  // days 0, 30, 60, 90
  for (std::size_t i = 1; i < s.keys.size(); ++i) {
    const auto& k = s.keys[i];
    ASSERT_TRUE(k.activated_at);
    EXPECT_GE(*k.activated_at - k.created_at, policy.overlap) << k.kid;
    EXPECT_LE(*k.activated_at - k.created_at, policy.overlap + tick) << k.kid;
    const auto period = *k.activated_at - *s.keys[i - 1].activated_at;
    EXPECT_GE(period, policy.every) << k.kid;
    EXPECT_LE(period, policy.every + 2 * tick) << k.kid;
  }
}

TEST(signing_keys, kids_are_sig_and_22_base62_as_new_id_makes_them) {
  testing::seeded_random random(7);
  const auto kid = new_id(signing_key_id_tag, random);
  EXPECT_TRUE(valid_signing_key_id(kid)) << kid;
  EXPECT_EQ(kid.substr(0, 4), "sig_");
  EXPECT_FALSE(valid_signing_key_id("sig_"));
  EXPECT_FALSE(valid_signing_key_id(kid + "A"));
  EXPECT_FALSE(valid_signing_key_id("cli_" + kid.substr(4)));
  EXPECT_EQ(to_string(signing_key_status::retired), "retired");
  EXPECT_EQ(to_string(signing_key_rejection::too_early), "too_early");
}

}  // namespace
}  // namespace keyledger::domain::oauth
