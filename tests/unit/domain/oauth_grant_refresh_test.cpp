// OAuth grants, second half: refresh-token rotation (RFC 6749 6, RFC 9700 4.14.2), the end of
// families and of the grant, and how the state keeps codes small; given/when/then with an
// injected instant. Consent and codes: oauth_grant_test.cpp.
#include <gtest/gtest.h>

#include "tests/unit/domain/oauth_grant_fixture.hpp"

namespace keyledger::domain::oauth {
namespace {

using namespace grant_testing;
using scopes = std::vector<std::string>;

// ---- rotation ---------------------------------------------------------------------------------

TEST(oauth_grant_refresh, given_a_family_when_its_token_is_used_then_rotated_and_superseded) {
  const auto s = given_a_family();
  const auto now = t0() + 1h;
  const auto e = the_one<refresh_rotated>(s, rotate(refresh_1, refresh_2, now));
  EXPECT_EQ(e, (refresh_rotated{grant_id, family_id, refresh_2, now, now + idle_lifetime}));
  const auto next = given({created(), issued(), redeemed(), e});
  const auto* f = next.find_family(family_id);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->refresh_hash, refresh_2);
  EXPECT_EQ(f->superseded_hashes, (scopes{refresh_1}));
  EXPECT_EQ(f->last_used_at, now);
  EXPECT_EQ(f->idle_expires_at, now + idle_lifetime);
  EXPECT_EQ(f->started_at, t0() + 10s);
  EXPECT_EQ(next.family_of_refresh(refresh_1), f);  // still known, as superseded
  EXPECT_EQ(next.version, 4u);
}

TEST(oauth_grant_refresh, given_a_rotated_family_when_the_old_token_is_used_then_reused) {
  auto s = after(given_a_family(), rotate(refresh_1, refresh_2, t0() + 1h));
  s = after(s, rotate(refresh_2, refresh_3, t0() + 2h));
  for (const auto& old : {refresh_1, refresh_2}) {
    const auto replay = rotate(old, hash('9'), t0() + 3h);
    EXPECT_EQ(refusal(s, replay), grant_rejection::refresh_reused);
    EXPECT_EQ(family_of_reuse(s, replay, grant_rejection::refresh_reused), family_id);
    // The same command with another rejection names no family.
    EXPECT_EQ(family_of_reuse(s, replay, grant_rejection::refresh_expired), std::nullopt);
  }
  EXPECT_FALSE(refusal(s, rotate(refresh_3, hash('9'), t0() + 3h)));
}

TEST(oauth_grant_refresh, given_a_family_then_scopes_may_narrow_but_never_widen) {
  const auto s = given_a_family();  // the code's scopes: leads:read, leads:write
  const auto narrowed = the_one<refresh_rotated>(
      s, rotate(refresh_1, refresh_2, t0() + 1h, {"leads:read", "leads:read"}));
  // The refresh token keeps the family's scopes (RFC 6749 6); only the access token narrows.
  EXPECT_EQ(given({created(), issued(), redeemed(), narrowed}).find_family(family_id)->scopes,
            (scopes{"leads:read", "leads:write"}));
  EXPECT_EQ(refusal(s, rotate(refresh_1, refresh_2, t0() + 1h, {"leads:read", "calendar:read"})),
            grant_rejection::scope_widened);
  // Within the grant is not enough: the family's own scopes bound it.
  const auto narrow_family =
      given({created(), issued(code_hash, t0(), {"leads:read"}), redeemed()});
  EXPECT_EQ(refusal(narrow_family, rotate(refresh_1, refresh_2, t0() + 1h, {"leads:write"})),
            grant_rejection::scope_widened);
}

TEST(oauth_grant_refresh, given_a_family_when_idle_too_long_then_refresh_expired) {
  const auto s = given_a_family();  // redeemed at t0 + 10s
  const auto idle_end = t0() + 10s + idle_lifetime;
  EXPECT_EQ(refusal(s, rotate(refresh_1, refresh_2, idle_end)), grant_rejection::refresh_expired);
  EXPECT_FALSE(refusal(s, rotate(refresh_1, refresh_2, idle_end - 1us)));
  EXPECT_FALSE(s.find_family(family_id)->live(idle_end));
  EXPECT_TRUE(s.find_family(family_id)->live(idle_end - 1us));
}

TEST(oauth_grant_refresh, given_a_family_used_daily_then_it_ends_at_its_absolute_expiry) {
  auto s = given_a_family();
  const auto absolute_end = t0() + 10s + absolute_lifetime;
  // Used every 23 hours, the idle expiry keeps moving, but never past the absolute one.
  auto now = t0() + 10s;
  std::vector<std::string> tokens{refresh_1};
  for (const char c : std::string_view("456789abcde")) {
    if (now + 23h >= absolute_end) break;
    now += 23h;
    tokens.push_back(hash(c));
    s = after(s, rotate(tokens[tokens.size() - 2], tokens.back(), now));
  }
  ASSERT_EQ(tokens.size(), 8u);  // seven rotations, the last 161 hours after the first use
  const auto* f = s.find_family(family_id);
  EXPECT_EQ(f->idle_expires_at, absolute_end);  // capped: now + 1 day would pass it
  EXPECT_EQ(refusal(s, rotate(tokens.back(), hash('f'), absolute_end)),
            grant_rejection::refresh_expired);
  EXPECT_FALSE(refusal(s, rotate(tokens.back(), hash('f'), absolute_end - 1us)));
}

TEST(oauth_grant_refresh, a_family_is_live_before_both_expiries_and_until_it_ends) {
  family_entry f;
  f.idle_expires_at = t0() + 2h;
  f.absolute_expires_at = t0() + 1h;  // whichever comes first ends it
  EXPECT_TRUE(f.live(t0()));
  EXPECT_FALSE(f.live(t0() + 1h));
  f.absolute_expires_at = t0() + 3h;
  EXPECT_TRUE(f.live(t0() + 1h));
  EXPECT_FALSE(f.live(t0() + 2h));
  f.ended = family_end::user_removed;
  EXPECT_FALSE(f.live(t0()));
}

TEST(oauth_grant_refresh, given_an_ended_family_when_its_token_is_used_then_family_ended) {
  const auto s = given({created(), issued(), redeemed(),
                        family_revoked{grant_id, family_id, family_end::revoked, t0() + 1h}});
  EXPECT_EQ(refusal(s, rotate(refresh_1, refresh_2, t0() + 2h)), grant_rejection::family_ended);
}

TEST(oauth_grant_refresh, given_a_family_when_another_client_presents_its_token_then_mismatch) {
  auto c = rotate(refresh_1, refresh_2, t0() + 1h);
  c.client_id = other_client_id;
  EXPECT_EQ(refusal(given_a_family(), c), grant_rejection::code_mismatch);
}

TEST(oauth_grant_refresh, given_no_such_token_or_a_family_without_one_then_refresh_not_found) {
  EXPECT_EQ(refusal(given_a_family(), rotate(hash('e'), refresh_2, t0() + 1h)),
            grant_rejection::refresh_not_found);
  const auto tokenless = given({created(), issued(), redeemed(code_hash, family_id, "")});
  EXPECT_EQ(refusal(tokenless, rotate("", refresh_2, t0() + 1h)),
            grant_rejection::refresh_not_found);
}

TEST(oauth_grant_refresh, given_a_family_when_the_new_token_is_not_fresh_then_invalid_command) {
  const auto s = after(given_a_family(), rotate(refresh_1, refresh_2, t0() + 1h));
  EXPECT_EQ(refusal(s, rotate(refresh_2, refresh_1, t0() + 2h)), grant_rejection::invalid_command);
  EXPECT_EQ(refusal(s, rotate(refresh_2, refresh_2, t0() + 2h)), grant_rejection::invalid_command);
  EXPECT_EQ(refusal(s, rotate(refresh_2, "", t0() + 2h)), grant_rejection::invalid_command);
  auto c = rotate(refresh_2, refresh_3, t0() + 2h);
  c.idle_lifetime = 0s;
  EXPECT_EQ(refusal(s, c), grant_rejection::invalid_command);
}

// ---- ending families and the grant ------------------------------------------------------------

TEST(oauth_grant_revoke, given_a_family_when_revoked_then_ended_and_a_second_revoke_is_nothing) {
  const auto s = given_a_family();
  const auto e = the_one<family_revoked>(
      s, revoke_family{grant_id, family_id, family_end::refresh_reused, t0() + 1h});
  EXPECT_EQ(e, (family_revoked{grant_id, family_id, family_end::refresh_reused, t0() + 1h}));
  const auto ended = given({created(), issued(), redeemed(), e});
  const auto* f = ended.find_family(family_id);
  EXPECT_EQ(f->ended, family_end::refresh_reused);
  EXPECT_EQ(f->ended_at, t0() + 1h);
  EXPECT_FALSE(f->live(t0() + 1h));
  EXPECT_TRUE(
      when(ended, revoke_family{grant_id, family_id, family_end::revoked, t0() + 2h}).empty());
  EXPECT_EQ(refusal(s, revoke_family{grant_id, second_family_id, family_end::revoked, t0()}),
            grant_rejection::invalid_command);  // no such family
}

TEST(oauth_grant_revoke, given_families_when_the_grant_is_revoked_then_every_one_ends) {
  const auto s = given({created(), issued(), redeemed(), issued(hash('d'), t0() + 1min),
                        redeemed(hash('d'), second_family_id, refresh_2, t0() + 1min + 5s),
                        family_revoked{grant_id, family_id, family_end::code_reused, t0() + 2min}});
  const auto e = the_one<grant_revoked>(s, revoke_grant{grant_id, user_id, t0() + 1h});
  EXPECT_EQ(e, (grant_revoked{grant_id, user_id, t0() + 1h}));
  const auto revoked = evolve(s, e);
  EXPECT_TRUE(revoked.revoked);
  EXPECT_EQ(revoked.revoked_at, t0() + 1h);
  // The family already ended keeps its reason; the live one ends as revoked.
  EXPECT_EQ(revoked.find_family(family_id)->ended, family_end::code_reused);
  EXPECT_EQ(revoked.find_family(second_family_id)->ended, family_end::revoked);
  EXPECT_EQ(revoked.find_family(second_family_id)->ended_at, t0() + 1h);
  for (const auto& f : revoked.families) EXPECT_FALSE(f.live(t0() + 1h)) << f.family_id;
}

TEST(oauth_grant_revoke, given_a_revoked_grant_then_every_command_is_refused) {
  const auto s = after(given({created(), issued(), redeemed(), issued(hash('d'), t0() + 20s)}),
                       revoke_grant{grant_id, user_id, t0() + 30s});
  const auto later = t0() + 40s;
  auto redeem_other = redeem(later, second_family_id, refresh_2);
  redeem_other.code_hash = hash('d');  // issued, unexpired, never redeemed
  const std::vector<grant_command> commands{
      consent_to({"leads:read"}, later),
      issue({"leads:read"}, later),
      redeem_other,
      rotate(refresh_1, refresh_3, later),
      revoke_family{grant_id, family_id, family_end::revoked, later},
  };
  for (const auto& c : commands) {
    EXPECT_EQ(refusal(s, c), grant_rejection::grant_revoked) << c.index();
  }
  // Withdrawing it again decides nothing (an idempotent DELETE).
  EXPECT_TRUE(when(s, revoke_grant{grant_id, user_id, later}).empty());
}

TEST(oauth_grant_revoke, only_the_person_who_consented_withdraws_an_existing_grant) {
  EXPECT_EQ(refusal(given({created()}), revoke_grant{grant_id, "usr_ZYXWVUTSRQPONMLKJIHGFE", t0()}),
            grant_rejection::invalid_command);
  EXPECT_EQ(refusal(grant_state{}, revoke_grant{grant_id, user_id, t0()}),
            grant_rejection::grant_not_found);
}

// ---- the state stays small --------------------------------------------------------------------

TEST(oauth_grant_codes, given_codes_a_day_past_expiry_when_any_event_applies_then_dropped) {
  // Given two codes, one redeemed, both expired at t0 + 60s
  const auto s = given({created(), issued(), redeemed(), issued(hash('d'))});
  ASSERT_EQ(s.codes.size(), 2u);
  const auto expiry = t0() + code_lifetime;
  // When an event exactly one day after their expiry applies, then they are kept
  const auto day_later = evolve(s, grant_extended{grant_id, {"a:b", "leads:read"}, expiry + 24h});
  EXPECT_EQ(day_later.codes.size(), 2u);
  // When one more than a day after applies, then both are gone and the new code stays
  const auto pruned = evolve(day_later, issued(hash('e'), expiry + 24h + 1us));
  ASSERT_EQ(pruned.codes.size(), 1u);
  EXPECT_EQ(pruned.codes.front().code_hash, hash('e'));
  // And the redeemed code's reuse is still detected through its family
  const auto replay = redeem(expiry + 25h, second_family_id, refresh_2);
  EXPECT_EQ(refusal(pruned, replay), grant_rejection::code_reused);
  EXPECT_EQ(family_of_reuse(pruned, replay, grant_rejection::code_reused), family_id);
  // While the never-redeemed one is unknown now, and no hash is issued twice
  auto unused = replay;
  unused.code_hash = hash('d');
  EXPECT_EQ(refusal(pruned, unused), grant_rejection::code_not_found);
  auto reissue = issue({"leads:read"}, expiry + 25h);
  EXPECT_EQ(refusal(pruned, reissue), grant_rejection::invalid_command);  // code_hash redeemed
}

}  // namespace
}  // namespace keyledger::domain::oauth
