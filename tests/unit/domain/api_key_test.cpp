// create_key, update_key and revoke_key: every decide rule, given/when/then.
#include "domain/keys/api_key.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "domain/keys/key_format.hpp"
#include "fakes.hpp"
#include "key_fixtures.hpp"

namespace keyledger::domain {
namespace {

using namespace std::chrono;
using namespace std::string_literals;
using testing::a_create_command;
using testing::a_hash;
using testing::a_key;
using testing::apply;
using testing::events_of;
using testing::fixed_instant;
using testing::rejection_of;

const timestamp t0 = fixed_instant();

// ---- create --------------------------------------------------------------------------------

TEST(api_key_create, given_no_key_when_created_then_one_key_created_event_with_every_setting) {
  // Given no key and a command setting everything
  const auto c = a_create_command(t0);
  // When decided
  const auto events = events_of(api_key_state{}, c);
  // Then exactly one KeyCreated carrying every setting and the command's time
  ASSERT_EQ(events.size(), 1u);
  key_created expected;
  expected.key_id = c.key_id;
  expected.workspace_id = c.workspace_id;
  expected.name = c.settings.name;
  expected.env = c.env;
  expected.scopes = c.settings.scopes;
  expected.key_hash = c.key_hash;
  expected.start = c.start;
  expected.created_at = t0;
  expected.expires_at = t0 + days{90};
  expected.allowed_cidrs = c.settings.allowed_cidrs;
  expected.postback_url = c.settings.postback_url;
  expected.off_the_record = false;
  expected.enabled = true;
  expected.limit = rate_limit{100, 60};
  expected.rotated_from = "";
  EXPECT_EQ(events.front(), api_key_event{expected});
  EXPECT_EQ(event_type(events.front()), "KeyCreated");
}

TEST(api_key_create, given_minimal_settings_then_defaults_in_the_event) {
  auto c = a_create_command(t0);
  c.settings.scopes.clear();
  c.settings.allowed_cidrs.clear();
  c.settings.postback_url.clear();
  c.settings.limit.reset();
  c.settings.off_the_record = true;
  c.settings.enabled = false;
  const auto events = events_of(api_key_state{}, c);
  ASSERT_EQ(events.size(), 1u);
  const auto& e = std::get<key_created>(events.front());
  EXPECT_TRUE(e.scopes.empty());
  EXPECT_TRUE(e.allowed_cidrs.empty());
  EXPECT_EQ(e.postback_url, "");
  EXPECT_FALSE(e.limit.has_value());
  EXPECT_TRUE(e.off_the_record);
  EXPECT_FALSE(e.enabled);
  // A key created disabled is disabled from the start.
  EXPECT_EQ(a_key(c).status_at(t0), key_status::disabled);
}

TEST(api_key_create, given_an_existing_key_when_created_again_then_key_already_exists) {
  const auto state = a_key();
  EXPECT_EQ(rejection_of(state, a_create_command(t0)), rejection::key_already_exists);
  const auto revoked = apply(state, revoke_key{state.key_id, t0});
  EXPECT_EQ(rejection_of(revoked, a_create_command(t0)), rejection::key_already_exists);
}

TEST(api_key_create, given_an_invalid_policy_then_invalid_key_policy) {
  auto c = a_create_command(t0);
  c.policy.default_lifespan = days{400};  // above the maximum of 365
  EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_key_policy);
}

TEST(api_key_create, given_bad_names_then_invalid_name) {
  for (const std::string& name : {""s, std::string(65, 'a'), " padded"s, "padded "s, "tab\there"s,
                                  "nul\0x"s, "zero\xe2\x80\x8bwidth"s, "bad\xff"s,
                                  "\xef\xbb\xbf"
                                  "bom"s}) {
    auto c = a_create_command(t0);
    c.settings.name = name;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_name) << name;
  }
}

TEST(api_key_create, given_good_names_then_accepted) {
  for (const std::string& name : {"a"s, std::string(64, 'Z'), "ci.deploy-key_1"s, "0"s, "..."s,
                                  "Production key"s, "na\xc3\xafve"s, "a/b:c"s}) {
    auto c = a_create_command(t0);
    c.settings.name = name;
    const auto events = events_of(api_key_state{}, c);
    ASSERT_EQ(events.size(), 1u) << name;
    EXPECT_EQ(std::get<key_created>(events.front()).name, name);
  }
}

TEST(api_key_create, given_a_workspace_that_forbids_spaces_then_a_name_with_one_is_invalid) {
  auto c = a_create_command(t0);
  c.settings.name = "ci deploy";
  c.policy.names_allow_spaces = false;
  EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_name);
  c.policy.names_allow_spaces = true;
  EXPECT_TRUE(decide(api_key_state{}, c).ok());
}

TEST(api_key_create, given_a_name_that_is_a_key_then_invalid_name) {
  testing::seeded_random random{7};
  auto c = a_create_command(t0);
  c.settings.name = generate_key("kl", environment::live, random);
  EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_name);
}

TEST(api_key_create, given_bad_scopes_then_invalid_scopes) {
  std::vector<std::string> too_many;
  for (int i = 0; i < 33; ++i) too_many.push_back("res" + std::to_string(i) + ":read");
  const std::vector<std::vector<std::string>> bad = {
      {"leads"},
      {":read"},
      {"leads:"},
      {":"},
      {""},
      {"Leads:read"},
      {"leads:Read"},
      {"1eads:read"},
      {"leads:1ead"},
      {"_leads:read"},
      {"leads:read:extra"},
      {"leads::read"},
      {"le ads:read"},
      {"leads:read "},
      {"leads.x:read"},
      {"l" + std::string(32, 'a') + ":read"},  // resource of 33 characters
      {"leads:r" + std::string(32, 'a')},      // action of 33 characters
      {"leads:read", "leads:read"},            // duplicate
      {"leads:read", "bad"},
      {"leads:re\0ad"s},
      too_many,
  };
  for (const auto& scopes : bad) {
    auto c = a_create_command(t0);
    c.settings.scopes = scopes;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_scopes)
        << (scopes.empty() ? "" : scopes.front());
  }
}

TEST(api_key_create, given_good_scopes_then_accepted) {
  std::vector<std::string> thirty_two;
  for (int i = 0; i < 32; ++i) thirty_two.push_back("res" + std::to_string(i) + ":read");
  const std::vector<std::vector<std::string>> good = {
      {},
      {"a:b"},
      {"leads:read", "leads:write", "contacts:read"},
      {"my-res_1:do_it-2"},
      {std::string(32, 'r') + ":" + std::string(32, 'a')},
      thirty_two,
  };
  for (const auto& scopes : good) {
    auto c = a_create_command(t0);
    c.settings.scopes = scopes;
    EXPECT_TRUE(decide(api_key_state{}, c).ok()) << (scopes.empty() ? "" : scopes.front());
  }
}

TEST(api_key_create, given_a_hash_that_is_not_64_lowercase_hex_then_invalid_key_hash) {
  std::string upper = a_hash;
  upper[10] = 'A';
  std::string non_hex = a_hash;
  non_hex[0] = 'g';
  for (const std::string& hash : {""s, a_hash.substr(1), a_hash + "0", upper, non_hex,
                                  std::string(64, ' '), a_hash.substr(0, 63) + "\0"s}) {
    auto c = a_create_command(t0);
    c.key_hash = hash;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_key_hash) << hash;
  }
}

TEST(api_key_create, given_a_bad_start_then_invalid_key_start) {
  testing::seeded_random random{3};
  // A whole key passed as the start would put the secret in the event log.
  const std::string whole_key = generate_key("kl", environment::live, random);
  for (const std::string& start :
       {""s, whole_key, std::string(21, 'a'), "kl_live_Ab C"s, "kl_live_\xc3\xa9"s, "kl\0"s}) {
    auto c = a_create_command(t0);
    c.start = start;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_key_start) << start;
  }
  for (const std::string& start : {"kl_live_AbC1"s, "abcdefghij_test_zZ09"s}) {
    auto c = a_create_command(t0);
    c.start = start;
    EXPECT_TRUE(decide(api_key_state{}, c).ok()) << start;
  }
}

// Expiry: after now, at most now + the workspace's maximum; none only where allowed.
struct expiry_case {
  const char* what;
  std::optional<timestamp> expires_at;
  key_policy policy;
  bool accepted;
};

TEST(api_key_create, expiry_rules_table) {
  const key_policy normal{};
  key_policy no_expiry_ok{};
  no_expiry_ok.allow_no_expiry = true;
  key_policy short_max{};
  short_max.default_lifespan = days{7};
  short_max.max_lifespan = days{30};
  const expiry_case cases[] = {
      {"one microsecond from now", t0 + microseconds{1}, normal, true},
      {"90 days", t0 + days{90}, normal, true},
      {"exactly the maximum", t0 + days{365}, normal, true},
      {"one microsecond beyond the maximum", t0 + days{365} + microseconds{1}, normal, false},
      {"now", t0, normal, false},
      {"in the past", t0 - seconds{1}, normal, false},
      {"the epoch", timestamp{}, normal, false},
      {"never, not allowed", std::nullopt, normal, false},
      {"never, allowed", std::nullopt, no_expiry_ok, true},
      {"30 days under a 30-day maximum", t0 + days{30}, short_max, true},
      {"31 days under a 30-day maximum", t0 + days{31}, short_max, false},
  };
  for (const auto& tc : cases) {
    auto c = a_create_command(t0);
    c.expires_at = tc.expires_at;
    c.policy = tc.policy;
    const auto r = decide(api_key_state{}, c);
    EXPECT_EQ(r.ok(), tc.accepted) << tc.what;
    if (r.ok()) {
      EXPECT_EQ(std::get<key_created>(r->front()).expires_at, tc.expires_at) << tc.what;
    } else {
      EXPECT_EQ(r.error(), rejection::invalid_expiry) << tc.what;
    }
  }
}

TEST(api_key_create, given_cidrs_that_are_not_canonical_then_invalid_cidrs) {
  std::vector<std::string> thirty_three;
  for (int i = 0; i < 33; ++i) thirty_three.push_back("10.0.0." + std::to_string(i) + "/32");
  const std::vector<std::vector<std::string>> bad = {
      {"10.0.0.1/8"},                // host bits set
      {"192.0.2.7"},                 // bare address: canonical is 192.0.2.7/32
      {"2001:DB8::/32"},             // upper case
      {"2001:db8:0::/32"},           // not compressed
      {"10.0.0.0/8", "10.0.0.0/8"},  // duplicate
      {"::ffff:10.0.0.0/104"},       // canonical is 10.0.0.0/8
      {"anywhere"},
      {""},
      thirty_three,
  };
  for (const auto& cidrs : bad) {
    auto c = a_create_command(t0);
    c.settings.allowed_cidrs = cidrs;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_cidrs)
        << (cidrs.empty() ? "" : cidrs.front());
  }
  // What normalize_cidrs returns is always accepted.
  auto c = a_create_command(t0);
  c.settings.allowed_cidrs = normalize_cidrs({"192.0.2.7", "2001:DB8::/32", "10.0.0.0/8"}).value();
  EXPECT_TRUE(decide(api_key_state{}, c).ok());
}

TEST(api_key_create, given_a_bad_postback_url_then_invalid_postback_url) {
  for (const std::string& url : {"http://example.com/h"s, "https://u:p@example.com/"s,
                                 "https://example.com/#x"s, "ftp://example.com/"s}) {
    auto c = a_create_command(t0);
    c.settings.postback_url = url;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_postback_url) << url;
  }
  for (const std::string& url : {""s, "http://127.0.0.1:9000/h"s, "https://example.com/h"s}) {
    auto c = a_create_command(t0);
    c.settings.postback_url = url;
    EXPECT_TRUE(decide(api_key_state{}, c).ok()) << url;
  }
}

TEST(api_key_create, given_a_bad_rate_limit_then_invalid_rate_limit) {
  for (const rate_limit limit :
       {rate_limit{0, 60}, rate_limit{10, 0}, rate_limit{1'000'001, 1}, rate_limit{1, 86'401}}) {
    auto c = a_create_command(t0);
    c.settings.limit = limit;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_rate_limit);
  }
  auto c = a_create_command(t0);
  c.settings.limit.reset();
  EXPECT_TRUE(decide(api_key_state{}, c).ok());
}

// ---- owner (users and roles) --------------------------------------------------------------

const std::string an_owner = "usr_0123456789ABCDEFGHIJKL";

TEST(api_key_owner, given_an_owner_when_created_then_the_event_and_the_state_carry_it) {
  // Given a command naming the user the key acts for
  auto c = a_create_command(t0);
  c.owner_user_id = an_owner;
  // When decided
  const auto events = events_of(api_key_state{}, c);
  // Then KeyCreated carries the owner, and so does the folded state
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<key_created>(events.front()).owner_user_id, an_owner);
  EXPECT_EQ(a_key(c).owner_user_id, an_owner);
}

TEST(api_key_owner, given_no_owner_then_the_key_is_ownerless_as_before_users_existed) {
  const auto events = events_of(api_key_state{}, a_create_command(t0));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<key_created>(events.front()).owner_user_id, "");
  EXPECT_EQ(a_key().owner_user_id, "");
}

TEST(api_key_owner, given_an_owner_that_is_not_a_user_id_then_invalid_owner) {
  for (const std::string& owner :
       {"usr_0123456789ABCDEFGHIJK"s, "usr_0123456789ABCDEFGHIJKLM"s, "USR_0123456789ABCDEFGHIJKL"s,
        "key_0123456789ABCDEFGHIJKL"s, "ws_0123456789ABCDEFGHIJKL"s, " usr_0123456789ABCDEFGHIJKL"s,
        "usr_0123456789ABCDEFGHIJK-"s, "usr_0123456789ABCDEFGHIJK\0"s, "bootstrap"s, "usr_"s,
        "usr_0123456789ABCDEFGHIJ\xc3\xa9"s}) {
    auto c = a_create_command(t0);
    c.owner_user_id = owner;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_owner) << owner;
  }
}

TEST(api_key_owner, an_update_changes_settings_but_never_the_owner) {
  auto c = a_create_command(t0);
  c.owner_user_id = an_owner;
  update_key u;
  u.key_id = c.key_id;
  u.changes.name = "renamed";
  u.changes.scopes = std::vector<std::string>{"leads:read"};
  u.changes.enabled = false;
  u.now = t0 + seconds{1};
  const auto after = apply(a_key(c), u);
  EXPECT_EQ(after.name, "renamed");
  EXPECT_EQ(after.owner_user_id, an_owner);
}

TEST(api_key_owner, a_rotation_keeps_the_owner_in_the_new_key) {
  // Given an owned key
  auto c = a_create_command(t0);
  c.owner_user_id = an_owner;
  const auto old_key = a_key(c);
  // When rotated
  const auto r = decide_rotation(old_key, testing::a_rotate_command(t0 + days{1}));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  // Then the new key belongs to the same user, and the old one still does
  EXPECT_EQ(r->new_key_event.owner_user_id, an_owner);
  const auto pair = testing::rotate(old_key, testing::a_rotate_command(t0 + days{1}));
  EXPECT_EQ(pair.new_key.owner_user_id, an_owner);
  EXPECT_EQ(pair.old_key.owner_user_id, an_owner);
}

TEST(api_key_owner, an_ownerless_key_rotates_into_an_ownerless_key) {
  const auto r = decide_rotation(a_key(), testing::a_rotate_command(t0 + days{1}));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(r->new_key_event.owner_user_id, "");
}

// ---- update --------------------------------------------------------------------------------

update_key an_update(timestamp now = t0 + hours{1}) {
  update_key u;
  u.key_id = testing::a_key_id;
  u.now = now;
  return u;
}

TEST(api_key_update, given_no_key_then_key_not_found) {
  auto u = an_update();
  u.changes.name = "x";
  EXPECT_EQ(rejection_of(api_key_state{}, u), rejection::key_not_found);
}

TEST(api_key_update, given_a_revoked_key_then_key_revoked) {
  const auto state = apply(a_key(), revoke_key{testing::a_key_id, t0});
  auto u = an_update();
  u.changes.name = "renamed";
  EXPECT_EQ(rejection_of(state, u), rejection::key_revoked);
  // Even a no-op: a revoked key accepts no command.
  EXPECT_EQ(rejection_of(state, an_update()), rejection::key_revoked);
}

TEST(api_key_update, given_a_key_at_its_expiry_instant_then_key_expired) {
  const auto state = a_key();
  const timestamp expires_at = *state.expires_at;
  auto u = an_update(expires_at);
  u.changes.name = "renamed";
  EXPECT_EQ(rejection_of(state, u), rejection::key_expired);
  // One microsecond earlier it is still active.
  u.now = expires_at - microseconds{1};
  EXPECT_EQ(events_of(state, u).size(), 1u);
}

TEST(api_key_update, given_nothing_to_change_then_no_events_and_no_rejection) {
  const auto state = a_key();
  // Nothing given
  EXPECT_TRUE(events_of(state, an_update()).empty());
  // Everything given, equal to the current settings
  auto u = an_update();
  u.changes.name = state.name;
  u.changes.scopes = state.scopes;
  u.changes.allowed_cidrs = state.allowed_cidrs;
  u.changes.postback_url = state.postback_url;
  u.changes.off_the_record = state.off_the_record;
  u.changes.enabled = state.enabled;
  u.changes.limit = state.limit;
  const auto r = decide(state, u);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

// One member changed at a time: KeyUpdated carries exactly that member.
struct single_change_case {
  const char* what;
  std::function<void(update_key&)> change;
  std::function<void(key_updated&)> expected;
};

TEST(api_key_update, each_member_alone_table) {
  const auto state = a_key();
  const single_change_case cases[] = {
      {"name", [](update_key& u) { u.changes.name = "renamed"; },
       [](key_updated& e) { e.name = "renamed"; }},
      {"scopes", [](update_key& u) { u.changes.scopes = std::vector<std::string>{"leads:read"}; },
       [](key_updated& e) { e.scopes = std::vector<std::string>{"leads:read"}; }},
      {"scopes emptied", [](update_key& u) { u.changes.scopes = std::vector<std::string>{}; },
       [](key_updated& e) { e.scopes = std::vector<std::string>{}; }},
      {"cidrs",
       [](update_key& u) { u.changes.allowed_cidrs = std::vector<std::string>{"::1/128"}; },
       [](key_updated& e) { e.allowed_cidrs = std::vector<std::string>{"::1/128"}; }},
      {"cidrs cleared", [](update_key& u) { u.changes.allowed_cidrs = std::vector<std::string>{}; },
       [](key_updated& e) { e.allowed_cidrs = std::vector<std::string>{}; }},
      {"postback", [](update_key& u) { u.changes.postback_url = "https://hooks.example/x"; },
       [](key_updated& e) { e.postback_url = "https://hooks.example/x"; }},
      {"postback removed", [](update_key& u) { u.changes.postback_url = ""; },
       [](key_updated& e) { e.postback_url = ""; }},
      {"off the record", [](update_key& u) { u.changes.off_the_record = true; },
       [](key_updated& e) { e.off_the_record = true; }},
      {"rate limit",
       [](update_key& u) {
         u.changes.limit = std::optional<rate_limit>{{5, 1}};
       },
       [](key_updated& e) {
         e.limit = std::optional<rate_limit>{{5, 1}};
       }},
      {"rate limit removed", [](update_key& u) { u.changes.limit = std::optional<rate_limit>{}; },
       [](key_updated& e) { e.limit = std::optional<rate_limit>{}; }},
  };
  for (const auto& tc : cases) {
    auto u = an_update();
    tc.change(u);
    const auto events = events_of(state, u);
    key_updated expected;
    expected.key_id = state.key_id;
    expected.updated_at = u.now;
    tc.expected(expected);
    ASSERT_EQ(events.size(), 1u) << tc.what;
    EXPECT_EQ(events.front(), api_key_event{expected}) << tc.what;
    EXPECT_EQ(event_type(events.front()), "KeyUpdated");
  }
}

TEST(api_key_update, given_some_changed_and_some_equal_members_then_only_the_changed_ones) {
  const auto state = a_key();
  auto u = an_update();
  u.changes.name = state.name;                                   // equal
  u.changes.scopes = std::vector<std::string>{"contacts:read"};  // changed
  u.changes.off_the_record = false;                              // equal
  u.changes.limit = std::optional<rate_limit>{{100, 60}};        // equal
  u.changes.postback_url = "https://example.com/hooks/v2";       // changed
  const auto events = events_of(state, u);
  ASSERT_EQ(events.size(), 1u);
  const auto& e = std::get<key_updated>(events.front());
  EXPECT_FALSE(e.name);
  EXPECT_EQ(e.scopes, std::vector<std::string>{"contacts:read"});
  EXPECT_FALSE(e.off_the_record);
  EXPECT_FALSE(e.limit);
  EXPECT_EQ(e.postback_url, "https://example.com/hooks/v2");
  EXPECT_FALSE(e.allowed_cidrs);
}

TEST(api_key_update, removing_an_absent_rate_limit_or_postback_changes_nothing) {
  auto c = a_create_command(t0);
  c.settings.limit.reset();
  c.settings.postback_url.clear();
  const auto state = a_key(c);
  auto u = an_update();
  u.changes.limit = std::optional<rate_limit>{};
  u.changes.postback_url = "";
  EXPECT_TRUE(events_of(state, u).empty());
}

TEST(api_key_update, enabled_changes_are_their_own_events) {
  const auto active = a_key();
  // Disable
  auto u = an_update();
  u.changes.enabled = false;
  auto events = events_of(active, u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.front(), api_key_event{(key_disabled{active.key_id, u.now})});
  EXPECT_EQ(event_type(events.front()), "KeyDisabled");
  const auto disabled = apply(active, u);
  EXPECT_FALSE(disabled.enabled);
  EXPECT_EQ(disabled.status_at(u.now), key_status::disabled);
  // Disabling again changes nothing
  EXPECT_TRUE(events_of(disabled, u).empty());
  // Enable
  auto v = an_update(u.now + minutes{1});
  v.changes.enabled = true;
  events = events_of(disabled, v);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.front(), api_key_event{(key_enabled{active.key_id, v.now})});
  EXPECT_EQ(event_type(events.front()), "KeyEnabled");
  const auto enabled = apply(disabled, v);
  EXPECT_EQ(enabled.status_at(v.now), key_status::active);
  EXPECT_EQ(enabled.updated_at, v.now);
}

TEST(api_key_update, settings_and_enabled_together_give_key_updated_then_key_disabled) {
  const auto state = a_key();
  auto u = an_update();
  u.changes.name = "renamed";
  u.changes.enabled = false;
  const auto events = events_of(state, u);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<key_updated>(events[0]));
  EXPECT_TRUE(std::holds_alternative<key_disabled>(events[1]));
  const auto after = apply(state, u);
  EXPECT_EQ(after.name, "renamed");
  EXPECT_FALSE(after.enabled);
  EXPECT_EQ(after.version, state.version + 2);
}

TEST(api_key_update, changed_members_are_validated_like_create) {
  const auto state = a_key();
  struct bad_case {
    const char* what;
    std::function<void(update_key&)> change;
    rejection expected;
  };
  const bad_case cases[] = {
      {"empty name", [](update_key& u) { u.changes.name = ""; }, rejection::invalid_name},
      {"control in name", [](update_key& u) { u.changes.name = "a\x01"; }, rejection::invalid_name},
      {"space when forbidden",
       [](update_key& u) {
         u.changes.name = "a b";
         u.policy.names_allow_spaces = false;
       },
       rejection::invalid_name},
      {"bad scope", [](update_key& u) { u.changes.scopes = std::vector<std::string>{"bad"}; },
       rejection::invalid_scopes},
      {"non-canonical cidr",
       [](update_key& u) { u.changes.allowed_cidrs = std::vector<std::string>{"10.0.0.1/8"}; },
       rejection::invalid_cidrs},
      {"http postback", [](update_key& u) { u.changes.postback_url = "http://example.com/"; },
       rejection::invalid_postback_url},
      {"zero rate limit",
       [](update_key& u) {
         u.changes.limit = std::optional<rate_limit>{{0, 60}};
       },
       rejection::invalid_rate_limit},
      {"bad policy",
       [](update_key& u) {
         u.changes.name = "fine";
         u.policy.max_lifespan = days{0};
       },
       rejection::invalid_key_policy},
  };
  for (const auto& tc : cases) {
    auto u = an_update();
    tc.change(u);
    EXPECT_EQ(rejection_of(state, u), tc.expected) << tc.what;
  }
}

TEST(api_key_update, an_unchanged_member_is_not_revalidated_under_new_workspace_rules) {
  // Given a key named with a space while spaces were allowed
  auto c = a_create_command(t0);
  c.settings.name = "ci deploy";
  const auto state = a_key(c);
  // When the workspace now forbids spaces and a PATCH repeats the name
  auto u = an_update();
  u.changes.name = "ci deploy";
  u.policy.names_allow_spaces = false;
  // Then nothing changes and nothing is refused
  EXPECT_TRUE(events_of(state, u).empty());
}

TEST(api_key_update, given_a_disabled_key_settings_can_still_change) {
  auto c = a_create_command(t0);
  c.settings.enabled = false;
  const auto state = a_key(c);
  auto u = an_update();
  u.changes.scopes = std::vector<std::string>{"leads:read"};
  const auto after = apply(state, u);
  EXPECT_EQ(after.scopes, std::vector<std::string>{"leads:read"});
  EXPECT_EQ(after.status_at(u.now), key_status::disabled);
}

TEST(api_key_update, evolve_applies_only_present_members_and_sets_updated_at) {
  const auto before = a_key();
  key_updated e;
  e.key_id = before.key_id;
  e.scopes = std::vector<std::string>{"x:y"};
  e.limit = std::optional<rate_limit>{};
  e.postback_url = "";
  e.updated_at = t0 + hours{2};
  const auto after = evolve(before, e);
  EXPECT_EQ(after.version, before.version + 1);
  EXPECT_EQ(after.scopes, std::vector<std::string>{"x:y"});
  EXPECT_FALSE(after.limit.has_value());
  EXPECT_EQ(after.postback_url, "");
  EXPECT_EQ(after.updated_at, t0 + hours{2});
  // Untouched
  EXPECT_EQ(after.name, before.name);
  EXPECT_EQ(after.allowed_cidrs, before.allowed_cidrs);
  EXPECT_EQ(after.off_the_record, before.off_the_record);
  EXPECT_EQ(after.enabled, before.enabled);
  EXPECT_EQ(after.expires_at, before.expires_at);
}

// ---- revoke --------------------------------------------------------------------------------

TEST(api_key_revoke, given_no_key_when_revoked_then_key_not_found) {
  EXPECT_EQ(rejection_of(api_key_state{}, revoke_key{"key_missing", t0}), rejection::key_not_found);
}

TEST(api_key_revoke, given_an_active_key_when_revoked_then_one_key_revoked_event) {
  // Given an active key
  const auto state = a_key();
  // When revoked an hour later
  const auto later = t0 + hours{1};
  const auto events = events_of(state, revoke_key{state.key_id, later});
  // Then one KeyRevoked at that time, and the key is revoked from then on
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.front(), api_key_event{(key_revoked{state.key_id, later})});
  EXPECT_EQ(event_type(events.front()), "KeyRevoked");
  const auto after = apply(state, revoke_key{state.key_id, later});
  EXPECT_EQ(after.revoked_at, later);
  EXPECT_EQ(after.status_at(later), key_status::revoked);
}

TEST(api_key_revoke, given_a_revoked_key_when_revoked_again_then_key_already_revoked) {
  const auto state = apply(a_key(), revoke_key{testing::a_key_id, t0});
  EXPECT_EQ(rejection_of(state, revoke_key{state.key_id, t0 + seconds{1}}),
            rejection::key_already_revoked);
}

TEST(api_key_revoke, disabled_and_expired_keys_can_still_be_revoked) {
  auto c = a_create_command(t0);
  c.settings.enabled = false;
  EXPECT_EQ(events_of(a_key(c), revoke_key{c.key_id, t0}).size(), 1u);
  const auto state = a_key();
  const auto after_expiry = *state.expires_at + days{1};
  const auto revoked = apply(state, revoke_key{state.key_id, after_expiry});
  EXPECT_EQ(revoked.status_at(after_expiry), key_status::revoked);
}

// ---- names -----------------------------------------------------------------------------------

TEST(api_key_names, stream_id_event_types_and_rejection_names) {
  EXPECT_EQ(key_stream_id("key_abc"), "api_key-key_abc");
  const std::pair<api_key_event, std::string_view> types[] = {
      {key_created{}, "KeyCreated"},   {key_updated{}, "KeyUpdated"},
      {key_disabled{}, "KeyDisabled"}, {key_enabled{}, "KeyEnabled"},
      {key_rotated{}, "KeyRotated"},   {key_revoked{}, "KeyRevoked"},
      {key_expired{}, "KeyExpired"},   {key_expiry_approaching{}, "KeyExpiryApproaching"},
  };
  for (const auto& [e, name] : types) EXPECT_EQ(event_type(e), name);
  const std::pair<rejection, std::string_view> expected[] = {
      {rejection::key_already_exists, "key_already_exists"},
      {rejection::key_not_found, "key_not_found"},
      {rejection::key_already_revoked, "key_already_revoked"},
      {rejection::invalid_name, "invalid_name"},
      {rejection::invalid_scopes, "invalid_scopes"},
      {rejection::invalid_key_hash, "invalid_key_hash"},
      {rejection::invalid_key_start, "invalid_key_start"},
      {rejection::workspace_already_exists, "workspace_already_exists"},
      {rejection::invalid_workspace_name, "invalid_workspace_name"},
      {rejection::invalid_key_prefix, "invalid_key_prefix"},
      {rejection::key_revoked, "key_revoked"},
      {rejection::key_expired, "key_expired"},
      {rejection::key_already_rotated, "key_already_rotated"},
      {rejection::invalid_expiry, "invalid_expiry"},
      {rejection::invalid_cidrs, "invalid_cidrs"},
      {rejection::invalid_postback_url, "invalid_postback_url"},
      {rejection::invalid_rate_limit, "invalid_rate_limit"},
      {rejection::invalid_grace_period, "invalid_grace_period"},
      {rejection::not_due, "not_due"},
      {rejection::invalid_key_policy, "invalid_key_policy"},
      {rejection::invalid_owner, "invalid_owner"},
      {rejection::workspace_not_found, "workspace_not_found"},
  };
  for (const auto& [r, name] : expected) EXPECT_EQ(to_string(r), name);
}

}  // namespace
}  // namespace keyledger::domain
