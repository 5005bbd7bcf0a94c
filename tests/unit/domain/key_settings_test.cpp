// Given a setting a client sent, when the domain checks it, then a problem names the field
// (callers do not re-implement the bounds).
#include "domain/keys/key_settings.hpp"

#include <gtest/gtest.h>

#include "tests/unit/domain/fakes.hpp"

namespace keyledger::domain {
namespace {

using testing::fixed_instant;

key_policy policy_of(int default_days, int max_days, bool no_expiry) {
  key_policy p;
  p.default_lifespan = std::chrono::days(default_days);
  p.max_lifespan = std::chrono::days(max_days);
  p.allow_no_expiry = no_expiry;
  return p;
}

TEST(key_settings, given_no_choice_then_the_default_lifespan_applies) {
  const auto now = fixed_instant();
  const auto r = resolve_expiry({}, policy_of(30, 365, false), now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r.value(), now + std::chrono::days(30));
}

TEST(key_settings, given_a_bad_expiry_then_the_problem_names_its_field) {
  const auto now = fixed_instant();
  const auto policy = policy_of(30, 90, false);
  const auto field_of = [&](expiry_choice c) {
    return resolve_expiry(c, policy, now).error().field;
  };
  EXPECT_EQ(field_of({.expires_at = now + std::chrono::days(1), .expires_in_days = 1}),
            "expires_at");
  EXPECT_EQ(field_of({.never_expires = true}), "expires_at");  // the policy forbids it
  EXPECT_EQ(field_of({.expires_at = now}), "expires_at");      // not in the future
  EXPECT_EQ(field_of({.expires_at = now + std::chrono::days(91)}), "expires_at");
  EXPECT_EQ(field_of({.expires_in_days = 0}), "expires_in_days");
  EXPECT_EQ(field_of({.expires_in_days = 91}), "expires_in_days");
  const auto text = resolve_expiry({.expires_in_days = 91}, policy, now).error().text;
  EXPECT_EQ(text, "field 'expires_in_days' must be an integer from 1 to 90");
  EXPECT_TRUE(resolve_expiry({.expires_in_days = 90}, policy, now));
  EXPECT_FALSE(resolve_expiry({.never_expires = true}, policy_of(30, 90, true), now).value());
}

TEST(key_settings, given_rate_limit_members_then_each_bound_is_named) {
  EXPECT_EQ(check_rate_limit(0, 60).error().field, "rate_limit.limit");
  EXPECT_EQ(check_rate_limit(std::nullopt, 60).error().field, "rate_limit.limit");
  EXPECT_EQ(check_rate_limit(10, 86'401).error().field, "rate_limit.window_seconds");
  const auto ok = check_rate_limit(1'000'000, 86'400);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.value().limit, 1'000'000u);
}

TEST(key_settings, given_grace_periods_and_lifespans_then_bounds_hold) {
  EXPECT_TRUE(check_grace_period(0));
  EXPECT_TRUE(check_grace_period(2'592'000));
  EXPECT_EQ(check_grace_period(-1).error().field, "grace_period_seconds");
  EXPECT_FALSE(check_grace_period(2'592'001));
  const auto base = policy_of(30, 365, false);
  EXPECT_EQ(check_lifespans(base, 10, std::nullopt).value().default_lifespan,
            std::chrono::days(10));
  EXPECT_FALSE(check_lifespans(base, std::nullopt, max_lifespan_days + 1));
  EXPECT_FALSE(check_lifespans(base, 400, std::nullopt));  // default beyond the max
}

TEST(key_settings, given_a_patch_then_it_replaces_only_what_it_sets) {
  key_settings base;
  base.name = "old";
  base.scopes = {"leads:read"};
  key_settings_patch p;
  p.name = "new";
  p.enabled = false;
  p.limit = std::optional<rate_limit>{rate_limit{5, 60}};
  const auto after = p.applied_to(base);
  EXPECT_EQ(after.name, "new");
  EXPECT_EQ(after.scopes, base.scopes);
  EXPECT_FALSE(after.enabled);
  EXPECT_EQ(after.limit, (rate_limit{5, 60}));
  EXPECT_EQ(key_settings_patch{}.applied_to(base), base);
}

}  // namespace
}  // namespace keyledger::domain
