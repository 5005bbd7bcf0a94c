#include "domain/people/policy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fakes.hpp"

namespace keyledger::domain {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;
using testing::fixed_instant;
using testing::scripted_random;
using testing::seeded_random;

// ---- actions ----------------------------------------------------------------------------

TEST(actions, the_eighteen_dotted_names_round_trip) {
  const std::vector<std::string> expected = {
      "keys.create",        "keys.read_any",       "keys.read_own",    "keys.update_any",
      "keys.update_own",    "keys.rotate_any",     "keys.rotate_own",  "keys.revoke_any",
      "keys.revoke_own",    "users.read",          "users.invite",     "users.change_role",
      "users.remove",       "workspace.read",      "workspace.update", "audit.read",
      "oauth_clients.read", "oauth_clients.manage"};
  ASSERT_EQ(all_actions.size(), expected.size());
  for (std::size_t i = 0; i < all_actions.size(); ++i) {
    EXPECT_EQ(to_string(all_actions[i]), expected[i]);
    EXPECT_EQ(parse_action(expected[i]), all_actions[i]);
  }
  for (const std::string& bad : {""s, "keys"s, "keys.create "s, "Keys.Create"s, "keys:create"s}) {
    EXPECT_FALSE(parse_action(bad).has_value()) << bad;
  }
  EXPECT_EQ(to_string(static_cast<action>(18)), "");
}

// ---- the table: every role x every action ----------------------------------------------
// The expectation is written out by hand from the issue ("who may do what"), independently of
// the implementation's table: an action not listed for a role must be refused.

const std::map<role, std::set<std::string>>& expected_table() {
  static const std::map<role, std::set<std::string>> table = {
      {role::owner,
       {"keys.create", "keys.read_any", "keys.read_own", "keys.update_any", "keys.update_own",
        "keys.rotate_any", "keys.rotate_own", "keys.revoke_any", "keys.revoke_own", "users.read",
        "users.invite", "users.change_role", "users.remove", "workspace.read", "workspace.update",
        "audit.read", "oauth_clients.read", "oauth_clients.manage"}},
      {role::admin,
       {"keys.create", "keys.read_any", "keys.read_own", "keys.update_any", "keys.update_own",
        "keys.rotate_any", "keys.rotate_own", "keys.revoke_any", "keys.revoke_own", "users.read",
        "users.invite", "users.change_role", "users.remove", "workspace.read", "workspace.update",
        "audit.read", "oauth_clients.read", "oauth_clients.manage"}},
      // Members manage only their own keys and see nothing else of the workspace.
      {role::member,
       {"keys.create", "keys.read_own", "keys.update_own", "keys.rotate_own", "keys.revoke_own"}},
      // Auditors read; they never change anything.
      {role::auditor,
       {"keys.read_any", "users.read", "workspace.read", "audit.read", "oauth_clients.read"}},
  };
  return table;
}

TEST(policy_table, every_role_times_every_action) {
  std::size_t cells = 0;
  for (const role r : all_roles) {
    const auto& allowed_for_role = expected_table().at(r);
    for (const action a : all_actions) {
      const bool expected = allowed_for_role.contains(std::string(to_string(a)));
      EXPECT_EQ(allowed(r, a), expected) << to_string(r) << " x " << to_string(a);
      ++cells;
    }
  }
  EXPECT_EQ(cells, 4u * 18u);
}

TEST(policy_table, the_expected_table_names_only_real_actions) {
  for (const auto& [r, actions] : expected_table()) {
    for (const auto& name : actions) EXPECT_TRUE(parse_action(name).has_value()) << name;
  }
}

TEST(policy_table, auditors_and_members_never_write_outside_their_own_keys) {
  for (const action a : {action::keys_update_any, action::keys_rotate_any, action::keys_revoke_any,
                         action::users_invite, action::users_change_role, action::users_remove,
                         action::workspace_update}) {
    EXPECT_FALSE(allowed(role::auditor, a)) << to_string(a);
    EXPECT_FALSE(allowed(role::member, a)) << to_string(a);
  }
}

TEST(policy_table, values_outside_the_enums_are_refused) {
  EXPECT_FALSE(allowed(static_cast<role>(4), action::keys_read_own));
  EXPECT_FALSE(allowed(static_cast<role>(255), action::keys_create));
  EXPECT_FALSE(allowed(role::owner, static_cast<action>(18)));
  EXPECT_FALSE(allowed(role::owner, static_cast<action>(200)));
}

// ---- role changes, removals, invitations ------------------------------------------------

TEST(may_change_role, the_full_matrix) {
  std::size_t cells = 0;
  for (const role actor : all_roles) {
    for (const role target : all_roles) {
      for (const role to : all_roles) {
        bool expected = false;
        if (actor == role::owner) expected = true;
        // Admins manage admins, members and auditors, and never create an owner.
        if (actor == role::admin) expected = target != role::owner && to != role::owner;
        EXPECT_EQ(may_change_role(actor, target, to), expected)
            << to_string(actor) << " changes " << to_string(target) << " -> " << to_string(to);
        ++cells;
      }
    }
  }
  EXPECT_EQ(cells, 64u);
}

TEST(may_change_role, spot_checks_from_the_issue) {
  EXPECT_TRUE(may_change_role(role::owner, role::member, role::owner));
  EXPECT_TRUE(may_change_role(role::owner, role::owner, role::member));
  EXPECT_TRUE(may_change_role(role::admin, role::member, role::admin));
  EXPECT_FALSE(may_change_role(role::admin, role::owner, role::member));
  EXPECT_FALSE(may_change_role(role::admin, role::admin, role::owner));
  EXPECT_FALSE(may_change_role(role::member, role::member, role::member));
  EXPECT_FALSE(may_change_role(role::auditor, role::member, role::auditor));
  EXPECT_FALSE(may_change_role(role::owner, role::member, static_cast<role>(6)));
}

TEST(may_remove, the_full_matrix) {
  // rows: actor; columns: target (owner, admin, member, auditor)
  const std::map<role, std::vector<bool>> expected = {
      {role::owner, {true, true, true, true}},
      {role::admin, {false, true, true, true}},
      {role::member, {false, false, false, false}},
      {role::auditor, {false, false, false, false}},
  };
  for (const role actor : all_roles) {
    for (std::size_t t = 0; t < all_roles.size(); ++t) {
      EXPECT_EQ(may_remove(actor, all_roles[t]), expected.at(actor)[t])
          << to_string(actor) << " removes " << to_string(all_roles[t]);
    }
  }
  EXPECT_FALSE(may_remove(role::owner, static_cast<role>(9)));
}

TEST(may_invite, the_full_matrix) {
  const std::map<role, std::vector<bool>> expected = {
      {role::owner, {true, true, true, true}},
      {role::admin, {false, true, true, true}},
      {role::member, {false, false, false, false}},
      {role::auditor, {false, false, false, false}},
  };
  for (const role actor : all_roles) {
    for (std::size_t t = 0; t < all_roles.size(); ++t) {
      EXPECT_EQ(may_invite(actor, all_roles[t]), expected.at(actor)[t])
          << to_string(actor) << " invites as " << to_string(all_roles[t]);
    }
  }
}

// ---- scopes -----------------------------------------------------------------------------

const std::vector<std::string> catalog = {"leads:read", "leads:write", "proposals:read",
                                          "messages:write", "calendar:read"};

TEST(management_scopes, the_seven_and_only_those) {
  const std::vector<std::string> expected = {"keys:read",       "keys:write", "users:read",
                                             "users:write",     "workspace:admin", "audit:read",
                                             "oauth:introspect"};
  ASSERT_EQ(management_scopes.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(management_scopes[i], expected[i]);
    EXPECT_TRUE(is_management_scope(expected[i]));
  }
  EXPECT_FALSE(is_management_scope("leads:read"));
  EXPECT_FALSE(is_management_scope("keys:admin"));
  EXPECT_FALSE(is_management_scope(""));
}

TEST(valid_catalog, good_and_bad_catalogs) {
  EXPECT_TRUE(valid_catalog({}));
  EXPECT_TRUE(valid_catalog(catalog));
  EXPECT_FALSE(valid_catalog({"leads:read", "leads:read"}));  // duplicate
  EXPECT_FALSE(valid_catalog({"leads:read", "keys:read"}));   // a management scope
  EXPECT_FALSE(valid_catalog({"Leads:read"}));
  EXPECT_FALSE(valid_catalog({"leads"}));
  EXPECT_FALSE(valid_catalog({"leads:read "}));
  EXPECT_FALSE(valid_catalog({""}));
  std::vector<std::string> many;
  for (int i = 0; i < 64; ++i) {
    std::string scope = "r";
    scope += std::to_string(i);
    scope += ":read";
    many.push_back(std::move(scope));
  }
  EXPECT_TRUE(valid_catalog(many));
  many.push_back("r64:read");
  EXPECT_FALSE(valid_catalog(many));
}

TEST(allowed_scopes, per_role) {
  const std::vector<std::string> everything = {"leads:read",      "leads:write",   "proposals:read",
                                               "messages:write",  "calendar:read", "keys:read",
                                               "keys:write",      "users:read",    "users:write",
                                               "workspace:admin", "audit:read",    "oauth:introspect"};
  EXPECT_EQ(allowed_scopes(role::owner, catalog), everything);
  EXPECT_EQ(allowed_scopes(role::admin, catalog), everything);
  EXPECT_EQ(
      allowed_scopes(role::member, catalog),
      (std::vector<std::string>{"leads:read", "leads:write", "proposals:read", "messages:write",
                                "calendar:read", "keys:read", "keys:write"}));
  EXPECT_EQ(allowed_scopes(role::auditor, catalog),
            (std::vector<std::string>{"leads:read", "proposals:read", "calendar:read", "keys:read",
                                      "users:read", "audit:read"}));
  EXPECT_EQ(allowed_scopes(role::auditor, {}),
            (std::vector<std::string>{"keys:read", "users:read", "audit:read"}));
}

TEST(role_allows_scope, nothing_outside_the_catalog_and_the_management_scopes) {
  for (const role r : all_roles) {
    EXPECT_FALSE(role_allows_scope(r, "billing:read", catalog)) << to_string(r);
    EXPECT_FALSE(role_allows_scope(r, "", catalog)) << to_string(r);
  }
  EXPECT_FALSE(role_allows_scope(static_cast<role>(5), "leads:read", catalog));
  // ":read" is matched as a suffix of a catalog scope, not a substring.
  EXPECT_FALSE(role_allows_scope(role::auditor, "leads:readwrite", {"leads:readwrite"}));
}

TEST(effective_scopes, key_scopes_intersected_with_the_owners_role_in_key_order) {
  const std::vector<std::string> key = {"users:write",  "leads:write", "keys:read", "calendar:read",
                                        "billing:read", "audit:read",  "keys:write"};
  EXPECT_EQ(effective_scopes(key, role::owner, catalog),
            (std::vector<std::string>{"users:write", "leads:write", "keys:read", "calendar:read",
                                      "audit:read", "keys:write"}));
  EXPECT_EQ(effective_scopes(key, role::admin, catalog),
            effective_scopes(key, role::owner, catalog));
  EXPECT_EQ(effective_scopes(key, role::member, catalog),
            (std::vector<std::string>{"leads:write", "keys:read", "calendar:read", "keys:write"}));
  EXPECT_EQ(effective_scopes(key, role::auditor, catalog),
            (std::vector<std::string>{"keys:read", "calendar:read", "audit:read"}));
}

TEST(effective_scopes, demotion_narrows_and_removal_empties) {
  const std::vector<std::string> key = {"leads:read", "leads:write", "keys:write", "users:read"};
  // Given an admin's key with management scopes; when the admin is demoted to member
  EXPECT_EQ(effective_scopes(key, role::admin, catalog), key);
  EXPECT_EQ(effective_scopes(key, role::member, catalog),
            (std::vector<std::string>{"leads:read", "leads:write", "keys:write"}));
  // When removed from the workspace, the key keeps nothing.
  EXPECT_TRUE(effective_scopes(key, std::optional<role>{}, catalog).empty());
  EXPECT_EQ(effective_scopes(key, std::optional<role>{role::auditor}, catalog),
            (std::vector<std::string>{"leads:read", "users:read"}));
  EXPECT_TRUE(effective_scopes({}, role::owner, catalog).empty());
}

TEST(effective_scopes, a_scope_dropped_from_the_catalog_is_no_longer_effective) {
  const std::vector<std::string> key = {"leads:read", "proposals:read"};
  EXPECT_EQ(effective_scopes(key, role::owner, {"leads:read"}),
            (std::vector<std::string>{"leads:read"}));
}

// ---- sessions ---------------------------------------------------------------------------

TEST(session_tokens, are_43_base64url_characters_and_distinct) {
  seeded_random random(1);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string t = new_session_token(random);
    EXPECT_EQ(t.size(), session_token_length);
    EXPECT_TRUE(valid_session_token(t)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(session_tokens, encode_the_random_bytes_exactly) {
  scripted_random zeros({0x00});
  EXPECT_EQ(new_session_token(zeros), std::string(43, 'A'));
  scripted_random ones({0xFF});
  EXPECT_EQ(new_session_token(ones), std::string(42, '_') + "8");
  // RFC 4648 test vector "foobar" = Zm9vYmFy, cycled over 32 bytes: "foobarfoobar..." .
  scripted_random foobar({'f', 'o', 'o', 'b', 'a', 'r'});
  EXPECT_EQ(new_session_token(foobar).substr(0, 16), "Zm9vYmFyZm9vYmFy");
}

TEST(session_tokens, malformed_tokens_are_refused) {
  const std::string good = std::string(42, 'A') + "E";  // E = 4: low two bits clear
  EXPECT_TRUE(valid_session_token(good));
  for (const std::string& bad :
       {""s, std::string(42, 'A'), std::string(44, 'A'), std::string(42, 'A') + "B",
        std::string(42, 'A') + "=", std::string(42, 'A') + "+", std::string(41, 'A') + "/A",
        std::string(42, 'A') + " ", std::string(42, 'A') + "\0"s}) {
    EXPECT_FALSE(valid_session_token(bad)) << bad;
  }
}

TEST(session_valid, idle_and_absolute_timeouts_with_exact_boundaries) {
  const auto t0 = fixed_instant();
  const session_policy p{};
  EXPECT_EQ(p.idle_timeout, std::chrono::microseconds(30min));
  EXPECT_EQ(p.absolute_timeout, std::chrono::microseconds(12h));
  // Fresh.
  EXPECT_TRUE(session_valid(t0, t0, t0));
  // Idle: valid up to one microsecond before 30 minutes of inactivity, over at 30 minutes.
  EXPECT_TRUE(session_valid(t0, t0, t0 + 30min - 1us));
  EXPECT_FALSE(session_valid(t0, t0, t0 + 30min));
  // Used regularly: still valid after 11 hours...
  EXPECT_TRUE(session_valid(t0, t0 + 11h, t0 + 11h + 10min));
  // ...but never at or past 12 hours, however recently used.
  EXPECT_TRUE(session_valid(t0, t0 + 12h - 2us, t0 + 12h - 1us));
  EXPECT_FALSE(session_valid(t0, t0 + 12h - 1us, t0 + 12h));
  EXPECT_FALSE(session_valid(t0, t0 + 13h, t0 + 13h));
  // A last-seen before creation is corrupt: refused.
  EXPECT_FALSE(session_valid(t0, t0 - 1s, t0));
  // A custom policy.
  const session_policy short_policy{5min, 1h};
  EXPECT_FALSE(session_valid(t0, t0, t0 + 5min, short_policy));
  EXPECT_TRUE(session_valid(t0, t0 + 58min, t0 + 59min, short_policy));
  EXPECT_FALSE(session_valid(t0, t0 + 58min, t0 + 1h, short_policy));
}

TEST(session_expires_at, is_the_earlier_of_idle_and_absolute) {
  const auto t0 = fixed_instant();
  EXPECT_EQ(session_expires_at(t0, t0), t0 + 30min);
  EXPECT_EQ(session_expires_at(t0, t0 + 2h), t0 + 2h + 30min);
  EXPECT_EQ(session_expires_at(t0, t0 + 11h + 45min), t0 + 12h);
  // Consistent with session_valid: valid just before, not at.
  const auto end = session_expires_at(t0, t0 + 3h);
  EXPECT_TRUE(session_valid(t0, t0 + 3h, end - 1us));
  EXPECT_FALSE(session_valid(t0, t0 + 3h, end));
}

}  // namespace
}  // namespace keyledger::domain
