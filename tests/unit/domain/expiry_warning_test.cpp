// The two expiry warnings: KeyExpiryApproaching 14 days before expires_at and again 1 day
// before, each once per (key, expires_at, warning). The instant is injected (the command's now).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <variant>

#include "domain/keys/api_key.hpp"
#include "fakes.hpp"
#include "key_fixtures.hpp"

namespace keyledger::domain {
namespace {

using namespace std::chrono;
using testing::a_key;
using testing::a_rotate_command;
using testing::apply;
using testing::events_of;
using testing::fixed_instant;
using testing::rejection_of;
using testing::rotate;

const timestamp t0 = fixed_instant();
constexpr microseconds one_us{1};

int days_before_of(const std::vector<api_key_event>& events) {
  EXPECT_EQ(events.size(), 1u);
  if (events.size() != 1) return 0;
  return std::get<key_expiry_approaching>(events.front()).days_before;
}

TEST(expiry_warning, the_last_warning_is_due_from_one_day_before) {
  // Given a key expiring at t0 + 90 days
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  EXPECT_EQ(last_expiry_warning_lead, seconds{24 * 3600});
  // Then the 14-day warning is due until one microsecond before the last day...
  EXPECT_EQ(due_expiry_warning(key, expiry - days{14}), 14);
  EXPECT_EQ(due_expiry_warning(key, expiry - days{1} - one_us), 14);
  // ...the 1-day warning from then until the expiry, and none from the expiry on
  EXPECT_EQ(due_expiry_warning(key, expiry - days{1}), 1);
  EXPECT_EQ(due_expiry_warning(key, expiry - one_us), 1);
  EXPECT_EQ(due_expiry_warning(key, expiry), std::nullopt);
  EXPECT_EQ(due_expiry_warning(key, expiry - days{14} - one_us), std::nullopt);
}

TEST(expiry_warning, both_warnings_once_each_in_order) {
  // Given a key warned 14 days before
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  const auto first = events_of(key, warn_key_expiry{key.key_id, expiry - days{10}});
  EXPECT_EQ(days_before_of(first), 14);
  const auto warned = evolve(key, first.front());
  EXPECT_EQ(warned.expiry_warned_days, 14);
  // When the job asks again before the last day: nothing
  EXPECT_EQ(rejection_of(warned, warn_key_expiry{key.key_id, expiry - days{2}}),
            rejection::not_due);
  // Then within the last day the 1-day warning, once
  const auto last = events_of(warned, warn_key_expiry{key.key_id, expiry - hours{20}});
  EXPECT_EQ(days_before_of(last), 1);
  EXPECT_EQ(std::get<key_expiry_approaching>(last.front()).expires_at, expiry);
  const auto warned_twice = evolve(warned, last.front());
  EXPECT_EQ(warned_twice.expiry_warned_days, 1);
  EXPECT_EQ(rejection_of(warned_twice, warn_key_expiry{key.key_id, expiry - hours{1}}),
            rejection::not_due);
}

TEST(expiry_warning, a_missed_fourteen_day_window_gets_only_the_last_warning) {
  // Given a key nobody warned (the job was down, or the key lives less than a day)
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  // When the job first runs within the last day: the 1-day warning only
  const auto warned = apply(key, warn_key_expiry{key.key_id, expiry - hours{3}});
  EXPECT_EQ(warned.expiry_warned_days, 1);
  // Then the 14-day one never comes after it
  EXPECT_EQ(due_expiry_warning(warned, expiry - hours{2}), std::nullopt);
}

TEST(expiry_warning, an_old_event_without_days_before_is_the_fourteen_day_warning) {
  // Given the event as stored before the 1-day warning existed (days_before defaulted)
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  const auto warned = evolve(key, key_expiry_approaching{key.key_id, expiry});
  // Then the 1-day warning is still due in the last day, the 14-day one not again
  EXPECT_EQ(due_expiry_warning(warned, expiry - days{5}), std::nullopt);
  EXPECT_EQ(due_expiry_warning(warned, expiry - hours{12}), 1);
}

TEST(expiry_warning, a_new_expires_at_is_warned_about_again) {
  // Given a key that had its 14-day warning
  const auto key = a_key();
  const timestamp expiry = *key.expires_at;
  const auto warned = apply(key, warn_key_expiry{key.key_id, expiry - days{10}});
  // When a rotation moves its expires_at to the end of a 5-day grace
  const timestamp now = expiry - days{10} + hours{1};
  const auto [old_after, new_key] = rotate(warned, a_rotate_command(now, days{5}));
  ASSERT_EQ(old_after.expires_at, now + days{5});
  // Then the new expires_at gets its 14-day warning (now within 14 days of it), then its last
  EXPECT_EQ(due_expiry_warning(old_after, now), 14);
  const auto again = apply(old_after, warn_key_expiry{key.key_id, now});
  EXPECT_EQ(due_expiry_warning(again, now + days{4} + hours{1}), 1);
}

TEST(expiry_warning, never_for_revoked_keys_keys_without_expiry_or_missing_keys) {
  const auto key = a_key();
  const auto revoked = apply(key, revoke_key{key.key_id, t0});
  EXPECT_EQ(due_expiry_warning(revoked, *key.expires_at - hours{1}), std::nullopt);
  api_key_state no_expiry = key;
  no_expiry.expires_at.reset();
  EXPECT_EQ(due_expiry_warning(no_expiry, t0), std::nullopt);
  EXPECT_EQ(due_expiry_warning(api_key_state{}, t0), std::nullopt);
}

}  // namespace
}  // namespace keyledger::domain
