#include "domain/people/user.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "domain/keys/key_format.hpp"
#include "fakes.hpp"

namespace keyledger::domain {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;
using testing::fixed_instant;
using testing::seeded_random;

const std::string alice = "usr_0123456789ABCDEFGHIJKL";
const std::string bob = "usr_abcdefghijklmnopqrstuv";
const std::string carol = "usr_ABCDEFGHIJKLMNOPQRSTUV";
const std::string dave = "usr_zyxwvutsrqponmlkjihgfe";
const std::string ws = "ws_8Jd2kP0qLm4nR7sT1vXy9b";

// ---- roles and ids ----------------------------------------------------------------------

TEST(roles, names_round_trip_and_nothing_else_parses) {
  for (const role r : all_roles) {
    EXPECT_EQ(parse_role(to_string(r)), r);
    EXPECT_TRUE(valid_role(r));
  }
  EXPECT_EQ(to_string(role::owner), "owner");
  EXPECT_EQ(to_string(role::auditor), "auditor");
  for (const std::string& bad : {""s, "Owner"s, "OWNER"s, " owner"s, "root"s, "owner\0"s}) {
    EXPECT_FALSE(parse_role(bad).has_value()) << bad;
  }
  EXPECT_FALSE(valid_role(static_cast<role>(7)));
  EXPECT_EQ(to_string(static_cast<role>(7)), "");
}

TEST(user_ids, new_id_with_the_user_tag_is_a_valid_user_id) {
  seeded_random random(42);
  for (int i = 0; i < 100; ++i) {
    const std::string id = new_id(user_id_tag, random);
    EXPECT_TRUE(valid_user_id(id)) << id;
  }
}

TEST(user_ids, malformed_ids_are_refused) {
  for (const std::string& bad :
       {""s, "usr_"s, "usr_0123456789ABCDEFGHIJK"s, "usr_0123456789ABCDEFGHIJKLM"s,
        "key_0123456789ABCDEFGHIJKL"s, "usr-0123456789ABCDEFGHIJKL"s, "USR_0123456789ABCDEFGHIJKL"s,
        "usr_0123456789ABCDEFGHIJ-L"s, "usr_0123456789ABCDEFGHIJ L"s, "bootstrap"s}) {
    EXPECT_FALSE(valid_user_id(bad)) << bad;
  }
}

TEST(streams, user_and_membership_stream_ids) {
  EXPECT_EQ(user_stream_id(alice), "user-" + alice);
  EXPECT_EQ(members_stream_id(ws), "workspace_members-" + ws);
}

// ---- emails -----------------------------------------------------------------------------

TEST(emails, normalization_trims_and_lowercases_ascii_only) {
  EXPECT_EQ(normalize_email("  Alice@Example.COM\t"), "alice@example.com");
  // Non-ASCII bytes are kept as they are (no locale-dependent folding).
  EXPECT_EQ(normalize_email("J\xc3\x9cRGEN@Example.de"), "j\xc3\x9crgen@example.de");
}

TEST(emails, good_addresses_are_valid) {
  for (const std::string& good : {"a@b"s, "alice@example.com"s, "first.last+tag@sub.example.co.uk"s,
                                  "j\xc3\xbcrgen@b\xc3\xbc"s
                                  "cher.de"s,
                                  std::string(64, 'x') + "@" + std::string(189, 'y')}) {
    EXPECT_TRUE(valid_email(good)) << good;
  }
}

TEST(emails, bad_addresses_are_refused) {
  const std::string longest = std::string(64, 'x') + "@" + std::string(189, 'y');
  ASSERT_EQ(longest.size(), max_email_length);
  for (const std::string& bad :
       {""s, "ab"s, "@ab"s, "ab@"s, "abc"s, "a@b@c"s, "Alice@example.com"s, "al ice@example.com"s,
        "alice@exa\tmple.com"s, "alice@example.com\n"s, "ali\0ce@example.com"s,
        "alice\x7f@example.com"s, "alice\xc2\x85@example.com"s /* NEL, a C1 control */,
        "alice\xc2\xa0@example.com"s /* no-break space */, "al\xe2\x80\x8bice@example.com"s,
        "alice@\xff.com"s, "alice@\xc3.com"s /* truncated UTF-8 */, longest + "y"}) {
    EXPECT_FALSE(valid_email(bad)) << bad;
  }
}

TEST(emails, an_api_key_in_any_case_is_refused) {
  seeded_random random(7);
  const std::string key = generate_key("kl", environment::live, random);
  EXPECT_FALSE(valid_email(key + "@example.com"));
  // Lowercased (as normalize_email would) the checksum no longer matches, but the key could be
  // recovered from it: still refused.
  EXPECT_FALSE(valid_email(normalize_email(key + "@example.com")));
  EXPECT_FALSE(valid_email("x@" + normalize_email(key) + ".com"));
  EXPECT_FALSE(valid_email("ops." + normalize_email(key) + "@example.com"));
  // Something merely key-like is fine: too short a body, no environment.
  EXPECT_TRUE(valid_email(normalize_email(key.substr(0, 40)) + "@example.com"));
  EXPECT_TRUE(valid_email("kl_prod_" + std::string(38, 'a') + "@example.com"));
}

// ---- display names ----------------------------------------------------------------------

TEST(display_names, good_names_are_valid) {
  for (const std::string& good :
       {"A"s, "Alice Smith"s, "Zo\xc3\xab O'Brien-M\xc3\xbcller"s, "\xe5\xb1\xb1\xe7\x94\xb0"s,
        std::string(100, 'x'), "x@y (ops)"s}) {
    EXPECT_TRUE(valid_display_name(good)) << good;
  }
  // 100 characters, not bytes: 100 two-byte characters are fine.
  std::string umlauts;
  for (int i = 0; i < 100; ++i) umlauts += "\xc3\xbc";
  EXPECT_TRUE(valid_display_name(umlauts));
  EXPECT_FALSE(valid_display_name(umlauts + "\xc3\xbc"));
}

TEST(display_names, bad_names_are_refused) {
  for (const std::string& bad :
       {""s, " Alice"s, "Alice "s, std::string(101, 'x'), "Ali\nce"s, "Ali\tce"s, "Ali\0ce"s,
        "Ali\x7f"s, "Al\xe2\x80\xaeice"s /* right-to-left override */,
        "\xef\xbb\xbf"s
        "Alice"s,
        "Alice\xff"s, "Alice\xed\xa0\x80"s /* a surrogate */, "\xef\xb7\x90"s /* U+FDD0 */}) {
    EXPECT_FALSE(valid_display_name(bad)) << bad;
  }
}

TEST(display_names, a_name_containing_an_api_key_is_refused) {
  seeded_random random(9);
  const std::string key = generate_key("qg", environment::test, random);
  EXPECT_FALSE(valid_display_name(key));
  EXPECT_FALSE(valid_display_name("my key " + key));
  EXPECT_FALSE(valid_display_name("(" + key + ")"));
  EXPECT_FALSE(valid_display_name("x_" + key));
  std::string upper = key;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(valid_display_name(upper));
  EXPECT_TRUE(valid_display_name(key.substr(0, 30)));
}

TEST(display_names, normalization_trims_ascii_whitespace) {
  EXPECT_EQ(normalize_display_name("\t Alice Smith \r\n"), "Alice Smith");
  EXPECT_EQ(normalize_display_name("   "), "");
}

// ---- user aggregate ---------------------------------------------------------------------

user_state registered(const std::string& id = alice) {
  const auto r =
      decide(user_state{}, register_user{id, "alice@example.com", "Alice", fixed_instant()});
  EXPECT_TRUE(r.ok());
  return evolve(user_state{}, r->front());
}

member_rejection user_rejection(const user_state& state, const user_command& c) {
  const auto r = decide(state, c);
  EXPECT_FALSE(r.ok());
  return r.ok() ? member_rejection::user_not_found : r.error();
}

TEST(user_register, given_no_user_when_registered_then_normalized_user_registered) {
  // Given no user; when registered with a mixed-case email and padded name
  const auto r = decide(
      user_state{}, register_user{alice, "  Alice@Example.COM ", " Alice Smith ", fixed_instant()});
  // Then one UserRegistered with the normalized values
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(
      r->front(),
      user_event{(user_registered{alice, "alice@example.com", "Alice Smith", fixed_instant()})});
  EXPECT_EQ(event_type(r->front()), "UserRegistered");
}

TEST(user_register, given_a_registered_user_when_registered_again_then_already_exists) {
  EXPECT_EQ(user_rejection(registered(), register_user{alice, "a@b.c", "A", fixed_instant()}),
            member_rejection::user_already_exists);
}

TEST(user_register, bad_fields_are_refused_with_the_matching_rejection) {
  EXPECT_EQ(user_rejection(user_state{}, register_user{"usr_short", "a@b.c", "A", fixed_instant()}),
            member_rejection::invalid_user_id);
  EXPECT_EQ(
      user_rejection(user_state{}, register_user{alice, "not-an-email", "A", fixed_instant()}),
      member_rejection::invalid_email);
  EXPECT_EQ(user_rejection(user_state{}, register_user{alice, "a@b.c", "  ", fixed_instant()}),
            member_rejection::invalid_display_name);
  EXPECT_EQ(user_rejection(user_state{}, register_user{alice, "a@b.c", "A\nB", fixed_instant()}),
            member_rejection::invalid_display_name);
}

TEST(user_password, given_a_user_when_password_set_then_user_password_set_and_state_records_it) {
  const auto state = registered();
  EXPECT_FALSE(state.password_set_at.has_value());
  const auto later = fixed_instant() + 5min;
  const auto r = decide(state, set_user_password{alice, later});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(), user_event{(user_password_set{alice, later})});
  EXPECT_EQ(event_type(r->front()), "UserPasswordSet");
  const auto after = evolve(state, r->front());
  EXPECT_EQ(after.password_set_at, later);
  EXPECT_EQ(after.version, 2u);
}

TEST(user_password, given_no_user_or_another_user_then_user_not_found) {
  EXPECT_EQ(user_rejection(user_state{}, set_user_password{alice, fixed_instant()}),
            member_rejection::user_not_found);
  EXPECT_EQ(user_rejection(registered(), set_user_password{bob, fixed_instant()}),
            member_rejection::user_not_found);
}

TEST(user_display_name, change_is_recorded_same_name_is_no_event_bad_name_refused) {
  const auto state = registered();
  const auto r = decide(state, change_display_name{alice, " Alice B. ", fixed_instant() + 1h});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(),
            user_event{(user_display_name_changed{alice, "Alice B.", fixed_instant() + 1h})});
  EXPECT_EQ(event_type(r->front()), "UserDisplayNameChanged");
  EXPECT_EQ(evolve(state, r->front()).display_name, "Alice B.");

  const auto same = decide(state, change_display_name{alice, "Alice ", fixed_instant()});
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());

  EXPECT_EQ(user_rejection(state, change_display_name{alice, "", fixed_instant()}),
            member_rejection::invalid_display_name);
  EXPECT_EQ(user_rejection(user_state{}, change_display_name{alice, "A", fixed_instant()}),
            member_rejection::user_not_found);
}

TEST(user_evolve, registered_user_state_holds_the_facts) {
  const auto state = registered();
  EXPECT_TRUE(state.exists);
  EXPECT_EQ(state.version, 1u);
  EXPECT_EQ(state.user_id, alice);
  EXPECT_EQ(state.email, "alice@example.com");
  EXPECT_EQ(state.display_name, "Alice");
  EXPECT_EQ(state.registered_at, fixed_instant());
}

// ---- membership aggregate ---------------------------------------------------------------

membership_state apply(membership_state state, const member_command& c) {
  const auto r = decide(state, c);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
  if (!r.ok()) return state;
  for (const auto& e : r.value()) state = evolve(std::move(state), e);
  return state;
}

member_rejection member_rejection_of(const membership_state& state, const member_command& c) {
  const auto r = decide(state, c);
  EXPECT_FALSE(r.ok());
  return r.ok() ? member_rejection::user_not_found : r.error();
}

// A workspace with alice as its bootstrap owner.
membership_state with_owner() {
  return apply(membership_state{},
               invite_member{ws, alice, role::owner, std::string(bootstrap_actor), std::nullopt,
                             fixed_instant()});
}

TEST(member_invite, given_an_empty_workspace_when_bootstrap_invites_an_owner_then_member_invited) {
  // Given no members; when bootstrap invites alice as owner
  const auto r = decide(membership_state{}, invite_member{ws, alice, role::owner, "bootstrap",
                                                          std::nullopt, fixed_instant()});
  // Then MemberInvited, and alice is the owner
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(), member_event{(member_invited{ws, alice, role::owner, "bootstrap",
                                                     fixed_instant(), std::nullopt})});
  EXPECT_EQ(event_type(r->front()), "MemberInvited");
  const auto state = evolve(membership_state{}, r->front());
  EXPECT_EQ(state.version, 1u);
  EXPECT_EQ(state.workspace_id, ws);
  EXPECT_EQ(state.role_of(alice), role::owner);
  EXPECT_EQ(state.owner_count(), 1u);
  EXPECT_FALSE(state.role_of(bob).has_value());
}

TEST(member_invite, the_first_member_must_be_an_owner) {
  for (const role r : {role::admin, role::member, role::auditor}) {
    EXPECT_EQ(member_rejection_of(membership_state{}, invite_member{ws, alice, r, "bootstrap",
                                                                    std::nullopt, fixed_instant()}),
              member_rejection::first_member_not_owner);
  }
}

TEST(member_invite, bootstrap_may_only_create_the_first_member) {
  EXPECT_EQ(member_rejection_of(with_owner(), invite_member{ws, bob, role::owner, "bootstrap",
                                                            std::nullopt, fixed_instant()}),
            member_rejection::invalid_actor);
}

TEST(member_invite, given_an_owner_when_she_invites_bob_then_bob_has_the_role_and_the_expiry) {
  const auto expires = fixed_instant() + 72h;
  const auto r =
      decide(with_owner(), invite_member{ws, bob, role::member, alice, expires, fixed_instant()});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(),
            member_event{(member_invited{ws, bob, role::member, alice, fixed_instant(), expires})});
  EXPECT_EQ(evolve(with_owner(), r->front()).role_of(bob), role::member);
}

TEST(member_invite, refusals) {
  const auto state = with_owner();
  const auto now = fixed_instant();
  // An existing member.
  EXPECT_EQ(
      member_rejection_of(state, invite_member{ws, alice, role::admin, alice, std::nullopt, now}),
      member_rejection::member_already_exists);
  // A malformed user id.
  EXPECT_EQ(
      member_rejection_of(state, invite_member{ws, "bob", role::member, alice, std::nullopt, now}),
      member_rejection::invalid_user_id);
  // A role outside the enum.
  EXPECT_EQ(member_rejection_of(
                state, invite_member{ws, bob, static_cast<role>(9), alice, std::nullopt, now}),
            member_rejection::invalid_role);
  // An actor that is not a user id.
  for (const std::string& actor : {""s, "key_0123456789ABCDEFGHIJKL"s, "admin"s}) {
    EXPECT_EQ(
        member_rejection_of(state, invite_member{ws, bob, role::member, actor, std::nullopt, now}),
        member_rejection::invalid_actor)
        << actor;
  }
  // An invitation that has already expired.
  EXPECT_EQ(member_rejection_of(state, invite_member{ws, bob, role::member, alice, now, now}),
            member_rejection::invalid_invite_expiry);
  EXPECT_EQ(member_rejection_of(state, invite_member{ws, bob, role::member, alice, now - 1s, now}),
            member_rejection::invalid_invite_expiry);
  // Another workspace's id, or none.
  EXPECT_EQ(member_rejection_of(
                state, invite_member{"ws_other", bob, role::member, alice, std::nullopt, now}),
            member_rejection::invalid_workspace_id);
  EXPECT_EQ(member_rejection_of(membership_state{}, invite_member{"", alice, role::owner,
                                                                  "bootstrap", std::nullopt, now}),
            member_rejection::invalid_workspace_id);
}

TEST(member_change_role, given_a_member_when_promoted_then_member_role_changed_with_from_and_to) {
  auto state = apply(with_owner(),
                     invite_member{ws, bob, role::member, alice, std::nullopt, fixed_instant()});
  const auto r =
      decide(state, change_member_role{ws, bob, role::admin, alice, fixed_instant() + 1h});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(), member_event{(member_role_changed{ws, bob, role::member, role::admin, alice,
                                                          fixed_instant() + 1h})});
  EXPECT_EQ(event_type(r->front()), "MemberRoleChanged");
  state = evolve(state, r->front());
  EXPECT_EQ(state.role_of(bob), role::admin);
  EXPECT_EQ(state.version, 3u);
}

TEST(member_change_role, the_same_role_decides_nothing) {
  const auto r =
      decide(with_owner(), change_member_role{ws, alice, role::owner, alice, fixed_instant()});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(member_change_role, the_last_owner_cannot_be_demoted_to_any_role) {
  const auto state = apply(
      with_owner(), invite_member{ws, bob, role::admin, alice, std::nullopt, fixed_instant()});
  for (const role r : {role::admin, role::member, role::auditor}) {
    EXPECT_EQ(member_rejection_of(state, change_member_role{ws, alice, r, bob, fixed_instant()}),
              member_rejection::last_owner);
  }
}

TEST(member_change_role, with_two_owners_one_can_be_demoted_then_the_other_is_the_last) {
  auto state = apply(with_owner(),
                     invite_member{ws, bob, role::owner, alice, std::nullopt, fixed_instant()});
  EXPECT_EQ(state.owner_count(), 2u);
  state = apply(state, change_member_role{ws, alice, role::member, bob, fixed_instant()});
  EXPECT_EQ(state.owner_count(), 1u);
  EXPECT_EQ(state.role_of(alice), role::member);
  EXPECT_EQ(
      member_rejection_of(state, change_member_role{ws, bob, role::admin, bob, fixed_instant()}),
      member_rejection::last_owner);
}

TEST(member_change_role, refusals) {
  const auto state = with_owner();
  EXPECT_EQ(
      member_rejection_of(state, change_member_role{ws, bob, role::admin, alice, fixed_instant()}),
      member_rejection::member_not_found);
  EXPECT_EQ(member_rejection_of(
                state, change_member_role{ws, alice, static_cast<role>(4), alice, fixed_instant()}),
            member_rejection::invalid_role);
  EXPECT_EQ(member_rejection_of(
                state, change_member_role{ws, alice, role::admin, "bootstrap", fixed_instant()}),
            member_rejection::invalid_actor);
  EXPECT_EQ(member_rejection_of(
                state, change_member_role{"ws_x", alice, role::admin, alice, fixed_instant()}),
            member_rejection::invalid_workspace_id);
}

TEST(member_remove, given_a_member_when_removed_then_member_removed_and_gone_from_state) {
  auto state = apply(with_owner(),
                     invite_member{ws, bob, role::auditor, alice, std::nullopt, fixed_instant()});
  const auto r = decide(state, remove_member{ws, bob, alice, fixed_instant() + 2h});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(), member_event{(member_removed{ws, bob, alice, fixed_instant() + 2h})});
  EXPECT_EQ(event_type(r->front()), "MemberRemoved");
  state = evolve(state, r->front());
  EXPECT_FALSE(state.role_of(bob).has_value());
  // Removed members can be invited again.
  state =
      apply(state, invite_member{ws, bob, role::member, alice, std::nullopt, fixed_instant() + 3h});
  EXPECT_EQ(state.role_of(bob), role::member);
}

TEST(member_remove, the_last_owner_cannot_be_removed_but_one_of_two_can) {
  auto state = with_owner();
  EXPECT_EQ(member_rejection_of(state, remove_member{ws, alice, alice, fixed_instant()}),
            member_rejection::last_owner);
  state = apply(state, invite_member{ws, bob, role::owner, alice, std::nullopt, fixed_instant()});
  state = apply(state, remove_member{ws, alice, bob, fixed_instant()});
  EXPECT_EQ(state.owner_count(), 1u);
  EXPECT_EQ(member_rejection_of(state, remove_member{ws, bob, bob, fixed_instant()}),
            member_rejection::last_owner);
}

TEST(member_remove, refusals) {
  const auto state = with_owner();
  EXPECT_EQ(member_rejection_of(state, remove_member{ws, carol, alice, fixed_instant()}),
            member_rejection::member_not_found);
  EXPECT_EQ(member_rejection_of(state, remove_member{ws, alice, "", fixed_instant()}),
            member_rejection::invalid_actor);
  EXPECT_EQ(member_rejection_of(state, remove_member{"", alice, alice, fixed_instant()}),
            member_rejection::invalid_workspace_id);
}

TEST(member_evolve, a_long_history_folds_to_the_expected_roles) {
  auto state = with_owner();
  state = apply(state, invite_member{ws, bob, role::admin, alice, std::nullopt, fixed_instant()});
  state = apply(state,
                invite_member{ws, carol, role::member, bob, fixed_instant() + 1h, fixed_instant()});
  state = apply(state, invite_member{ws, dave, role::auditor, bob, std::nullopt, fixed_instant()});
  state = apply(state, change_member_role{ws, carol, role::admin, alice, fixed_instant()});
  state = apply(state, change_member_role{ws, bob, role::owner, alice, fixed_instant()});
  state = apply(state, remove_member{ws, dave, carol, fixed_instant()});
  EXPECT_EQ(state.version, 7u);
  EXPECT_EQ(state.members.size(), 3u);
  EXPECT_EQ(state.role_of(alice), role::owner);
  EXPECT_EQ(state.role_of(bob), role::owner);
  EXPECT_EQ(state.role_of(carol), role::admin);
  EXPECT_FALSE(state.role_of(dave).has_value());
  EXPECT_EQ(state.owner_count(), 2u);
}

TEST(member_rejections, every_rejection_has_a_distinct_name) {
  std::vector<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(member_rejection::invalid_invite_expiry); ++i) {
    const auto name = to_string(static_cast<member_rejection>(i));
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 0) << name;
    names.push_back(name);
  }
  EXPECT_EQ(to_string(member_rejection::last_owner), "last_owner");
}

}  // namespace
}  // namespace keyledger::domain
