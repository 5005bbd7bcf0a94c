#include "services/projections/key_entry.hpp"

#include <gtest/gtest.h>

#include "infra/crypto/crypto.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));

infra::sha256_digest digest_of(std::uint8_t n) {
  infra::sha256_digest d{};
  d.fill(n);
  return d;
}

domain::api_key_state plain_state(std::string id = "key_01HZZZZZZZZZZZZZZZZZZZZZ") {
  domain::api_key_state s;
  s.version = 1;
  s.exists = true;
  s.key_id = std::move(id);
  s.workspace_id = "ws_1";
  s.name = "billing key 123";
  s.env = domain::environment::live;
  s.scopes = {"leads:read", "keys:read"};
  s.key_hash = infra::to_hex(digest_of(7));
  s.start = "kl_live_2x8Q";
  s.created_at = t0;
  s.owner_user_id = "usr_1";
  return s;
}

std::shared_ptr<const key_profile> profile_of(const domain::api_key_state& s) {
  key_profile p;
  p.workspace_id = s.workspace_id;
  p.owner_user_id = s.owner_user_id;
  p.scopes = s.scopes;
  p.effective_scopes = {"leads:read"};
  p.allowed_cidr_texts = s.allowed_cidrs;
  for (const auto& c : s.allowed_cidrs) p.allowed_cidrs.push_back(*domain::parse_cidr(c));
  p.limit = s.limit;
  p.owner_role = domain::role::member;
  return std::make_shared<const key_profile>(std::move(p));
}

void expect_same_state(const domain::api_key_state& a, const domain::api_key_state& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.exists, b.exists);
  EXPECT_EQ(a.key_id, b.key_id);
  EXPECT_EQ(a.workspace_id, b.workspace_id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.env, b.env);
  EXPECT_EQ(a.scopes, b.scopes);
  EXPECT_EQ(a.key_hash, b.key_hash);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.allowed_cidrs, b.allowed_cidrs);
  EXPECT_EQ(a.postback_url, b.postback_url);
  EXPECT_EQ(a.off_the_record, b.off_the_record);
  EXPECT_EQ(a.enabled, b.enabled);
  EXPECT_EQ(a.limit, b.limit);
  EXPECT_EQ(a.rotated_from, b.rotated_from);
  EXPECT_EQ(a.rotated_to, b.rotated_to);
  EXPECT_EQ(a.owner_user_id, b.owner_user_id);
  EXPECT_EQ(a.revoked_at, b.revoked_at);
  EXPECT_EQ(a.expiry_recorded, b.expiry_recorded);
  EXPECT_EQ(a.expiry_warned_for, b.expiry_warned_for);
  EXPECT_EQ(a.expiry_warned_days, b.expiry_warned_days);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.leaked_at, b.leaked_at);
}

TEST(key_entry, given_a_plain_key_then_its_state_round_trips_and_the_accessors_match) {
  const auto s = plain_state();
  const key_entry e(s, profile_of(s), digest_of(7));
  expect_same_state(e.state(), s);
  EXPECT_EQ(e.key_id(), s.key_id);
  EXPECT_EQ(e.digest(), digest_of(7));
  EXPECT_EQ(e.created_at(), t0);
  EXPECT_FALSE(e.expires_at().has_value());
  EXPECT_FALSE(e.revoked_at().has_value());
  EXPECT_EQ(e.postback_url(), "");
  EXPECT_EQ(e.rotated_to(), "");
  EXPECT_EQ(e.effective_scopes(), (std::vector<std::string>{"leads:read"}));
  EXPECT_TRUE(e.has_scope("leads:read"));
  EXPECT_FALSE(e.has_scope("keys:read"));  // declared, but not within the owner's reach
  EXPECT_EQ(e.status_at(t0), domain::key_status::active);
}

TEST(key_entry, given_every_rare_field_set_then_they_round_trip_through_the_side_table) {
  auto s = plain_state();
  s.version = 9;
  s.expires_at = t0 + 24h;
  s.allowed_cidrs = {"10.0.0.0/8", "::1/128"};
  s.postback_url = "https://example.com/hook";
  s.off_the_record = true;
  s.enabled = false;
  s.limit = domain::rate_limit{1000, 60};
  s.rotated_from = "key_older";
  s.rotated_to = "key_newer";
  s.revoked_at = t0 + 2h;
  s.expiry_recorded = true;
  s.expiry_warned_for = t0 + 24h;
  s.expiry_warned_days = 1;
  s.updated_at = t0 + 1h;
  s.leaked_at = t0 + 90min;
  const key_entry e(s, profile_of(s), digest_of(7));
  expect_same_state(e.state(), s);
  EXPECT_EQ(e.postback_url(), "https://example.com/hook");
  EXPECT_EQ(e.rotated_from(), "key_older");
  EXPECT_EQ(e.rotated_to(), "key_newer");
  EXPECT_EQ(e.allowed_cidrs().size(), 2u);
  EXPECT_EQ(e.status_at(t0 + 3h), domain::key_status::revoked);
}

TEST(key_entry, given_an_id_longer_than_the_inline_buffer_then_it_is_kept_whole) {
  const std::string long_id(key_entry::inline_id_capacity + 5, 'x');
  const auto s = plain_state(long_id);
  const key_entry e(s, profile_of(s), digest_of(7));
  EXPECT_EQ(e.key_id(), long_id);
  expect_same_state(e.state(), s);
  const std::string exact(key_entry::inline_id_capacity, 'y');
  const auto t = plain_state(exact);
  EXPECT_EQ(key_entry(t, profile_of(t), digest_of(7)).key_id(), exact);
}

TEST(key_entry, given_timestamps_at_the_epoch_then_they_are_not_taken_for_none) {
  auto s = plain_state();
  s.created_at = domain::timestamp{};
  s.expires_at = domain::timestamp{};
  s.revoked_at = domain::timestamp(std::chrono::microseconds(-1));
  const key_entry e(s, profile_of(s), digest_of(7));
  expect_same_state(e.state(), s);
}

TEST(key_entry, given_an_owner_removed_profile_then_an_active_key_is_disabled) {
  const auto s = plain_state();
  key_profile p = *profile_of(s);
  p.owner_removed = true;
  p.owner_role.reset();
  const key_entry e(s, profile_of(s), digest_of(7));
  const key_entry removed = e.with_profile(std::make_shared<const key_profile>(std::move(p)));
  EXPECT_EQ(e.status_at(t0), domain::key_status::active);
  EXPECT_EQ(removed.status_at(t0), domain::key_status::disabled);
  EXPECT_EQ(removed.key_id(), e.key_id());
  expect_same_state(removed.state(), s);
}

// The creation constructor skips the fold: it must make exactly the entry the fold makes.
domain::key_created plain_creation(std::string id = "key_01HZZZZZZZZZZZZZZZZZZZZZ") {
  domain::key_created c;
  c.key_id = std::move(id);
  c.workspace_id = "ws_1";
  c.name = "billing key 123";
  c.env = domain::environment::live;
  c.scopes = {"leads:read", "keys:read"};
  c.key_hash = infra::to_hex(digest_of(7));
  c.start = "kl_live_2x8Q";
  c.created_at = t0;
  c.owner_user_id = "usr_1";
  return c;
}

void expect_creation_matches_the_fold(const domain::key_created& c) {
  const domain::api_key_state folded = domain::evolve(domain::api_key_state{}, c);
  const key_entry from_state(folded, profile_of(folded), digest_of(7));
  const key_entry from_creation(c, profile_of(folded), digest_of(7));
  expect_same_state(from_creation.state(), folded);
  expect_same_state(from_creation.state(), from_state.state());
  EXPECT_EQ(from_creation.key_id(), from_state.key_id());
  EXPECT_EQ(from_creation.created_at(), from_state.created_at());
  EXPECT_EQ(from_creation.expires_at(), from_state.expires_at());
  EXPECT_EQ(from_creation.revoked_at(), from_state.revoked_at());
  EXPECT_EQ(from_creation.postback_url(), from_state.postback_url());
  EXPECT_EQ(from_creation.rotated_from(), from_state.rotated_from());
  EXPECT_EQ(from_creation.rotated_to(), from_state.rotated_to());
  EXPECT_EQ(from_creation.enabled(), from_state.enabled());
  EXPECT_EQ(from_creation.off_the_record(), from_state.off_the_record());
  EXPECT_EQ(from_creation.expiry_recorded(), from_state.expiry_recorded());
  EXPECT_EQ(from_creation.status_at(t0), from_state.status_at(t0));
}

TEST(key_entry, given_a_plain_creation_then_its_entry_is_the_folded_one) {
  expect_creation_matches_the_fold(plain_creation());
}

TEST(key_entry, given_a_creation_with_every_optional_member_then_its_entry_is_the_folded_one) {
  auto c = plain_creation();
  c.env = domain::environment::test;
  c.expires_at = t0 + 24h;
  c.allowed_cidrs = {"10.0.0.0/8", "::1/128"};
  c.postback_url = "https://example.com/hook";
  c.off_the_record = true;
  c.enabled = false;
  c.limit = domain::rate_limit{1000, 60};
  c.rotated_from = "key_older";
  expect_creation_matches_the_fold(c);
  c.owner_user_id.clear();  // a key from before owners
  c.expires_at = domain::timestamp{};
  expect_creation_matches_the_fold(c);
}

TEST(key_entry, given_a_creation_with_a_long_id_then_its_entry_is_the_folded_one) {
  expect_creation_matches_the_fold(
      plain_creation(std::string(key_entry::inline_id_capacity + 5, 'x')));
  expect_creation_matches_the_fold(plain_creation(std::string(key_entry::inline_id_capacity, 'y')));
}

}  // namespace
}  // namespace keyledger::services
