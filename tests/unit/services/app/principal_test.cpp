// The principal: scopes, the role the policy is evaluated with, and may/may_on_key for people
// (sessions) and for keys acting for their owner - every role x every action.

#include "services/app/principal.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace keyledger::services {
namespace {

using domain::action;
using domain::role;

principal session_of(role r, std::string user_id = "usr_alice") {
  principal p;
  p.workspace_id = "ws_1";
  p.user_id = std::move(user_id);
  p.member_role = r;
  p.session_id_hash = std::string(64, 'a');
  return p;
}

principal key_of(std::optional<role> r, std::vector<std::string> scopes,
                 std::string user_id = "usr_alice") {
  principal p;
  p.workspace_id = "ws_1";
  p.user_id = std::move(user_id);
  p.member_role = r;
  p.key_id = "key_1";
  p.scopes = std::move(scopes);
  return p;
}

/// The role x action table, written out again by hand from docs/users-and-roles.md.
bool expected(role r, action a) {
  static const std::set<action> member_actions = {action::keys_create, action::keys_read_own,
                                                  action::keys_update_own, action::keys_rotate_own,
                                                  action::keys_revoke_own};
  static const std::set<action> auditor_actions = {action::keys_read_any, action::users_read,
                                                   action::workspace_read, action::audit_read,
                                                   action::oauth_clients_read};
  switch (r) {
    case role::owner:
    case role::admin:
      return true;
    case role::member:
      return member_actions.contains(a);
    case role::auditor:
      return auditor_actions.contains(a);
  }
  return false;
}

TEST(principal_test, KindsAndScopes) {
  const auto s = session_of(role::member);
  EXPECT_TRUE(s.is_session());
  EXPECT_FALSE(s.is_key());
  const auto k = key_of(role::member, {"keys:read", "leads:read"});
  EXPECT_TRUE(k.is_key());
  EXPECT_FALSE(k.is_session());
  EXPECT_TRUE(k.has_scope("keys:read"));
  EXPECT_TRUE(k.has_scope("leads:read"));
  EXPECT_FALSE(k.has_scope("keys:write"));
  EXPECT_FALSE(k.has_scope(""));
  EXPECT_FALSE(k.has_scope("keys:rea"));
}

TEST(principal_test, EffectiveRole) {
  EXPECT_EQ(session_of(role::auditor).effective_role(), role::auditor);
  EXPECT_EQ(key_of(role::member, {}).effective_role(), role::member);
  // A key whose owner is no longer a member has no role at all.
  EXPECT_EQ(key_of(std::nullopt, {}).effective_role(), std::nullopt);
  // A key created before keys had owners acts as an implicit admin (bounded by its scopes).
  EXPECT_EQ(key_of(std::nullopt, {}, "").effective_role(), role::admin);
  // A session always names its user; without a role it is nobody.
  auto nobody = session_of(role::owner);
  nobody.member_role.reset();
  EXPECT_EQ(nobody.effective_role(), std::nullopt);
}

TEST(principal_test, ASessionMayWhatItsRoleAllowsEveryCell) {
  for (const role r : domain::all_roles) {
    for (const action a : domain::all_actions) {
      EXPECT_EQ(may(session_of(r), a, "keys:write"), expected(r, a))
          << to_string(r) << " " << to_string(a);
      // A session needs no scope.
      EXPECT_EQ(may(session_of(r), a, ""), expected(r, a)) << to_string(r) << " " << to_string(a);
    }
  }
}

TEST(principal_test, AKeyNeedsItsOwnersRoleAndTheScopeEveryCell) {
  const std::string scope = "users:write";
  for (const role r : domain::all_roles) {
    for (const action a : domain::all_actions) {
      EXPECT_EQ(may(key_of(r, {scope}), a, scope), expected(r, a))
          << to_string(r) << " " << to_string(a);
      // Without the scope, never - whatever the role.
      EXPECT_FALSE(may(key_of(r, {"keys:read", "leads:write"}), a, scope))
          << to_string(r) << " " << to_string(a);
    }
  }
}

TEST(principal_test, NoRoleMayNothing) {
  auto removed_owner_key = key_of(std::nullopt, {"keys:read", "keys:write", "users:write"});
  auto roleless_session = session_of(role::owner);
  roleless_session.member_role.reset();
  for (const action a : domain::all_actions) {
    EXPECT_FALSE(may(removed_owner_key, a, "keys:read")) << to_string(a);
    EXPECT_FALSE(may(roleless_session, a, "keys:read")) << to_string(a);
  }
  // A role outside the enum allows nothing either.
  EXPECT_FALSE(may(session_of(static_cast<role>(42)), action::keys_read_any, "keys:read"));
}

TEST(principal_test, AnOwnerlessLegacyKeyActsAsAnAdminWithinItsScopes) {
  const auto legacy = key_of(std::nullopt, {"keys:read", "keys:write"}, "");
  EXPECT_TRUE(may(legacy, action::keys_revoke_any, "keys:write"));
  EXPECT_TRUE(may(legacy, action::keys_read_any, "keys:read"));
  EXPECT_FALSE(may(legacy, action::users_invite, "users:write"));  // scope missing
  EXPECT_FALSE(may(legacy, action::workspace_update, "workspace:admin"));
}

TEST(principal_test, MayOnKeyTriesAnyThenOwn) {
  // A member: only own keys.
  const auto member = session_of(role::member, "usr_mia");
  EXPECT_TRUE(may_on_key(member, action::keys_revoke_any, action::keys_revoke_own, "usr_mia",
                         "keys:write"));
  EXPECT_FALSE(may_on_key(member, action::keys_revoke_any, action::keys_revoke_own, "usr_bob",
                          "keys:write"));
  EXPECT_FALSE(
      may_on_key(member, action::keys_revoke_any, action::keys_revoke_own, "", "keys:write"));
  // An admin: every key, owned or not (also ownerless ones).
  const auto admin = session_of(role::admin, "usr_ada");
  for (const std::string owner : {"usr_ada", "usr_bob", ""}) {
    EXPECT_TRUE(
        may_on_key(admin, action::keys_update_any, action::keys_update_own, owner, "keys:write"));
  }
  // An auditor reads any key, but has no _own actions to fall back on.
  const auto auditor = session_of(role::auditor, "usr_aud");
  EXPECT_TRUE(
      may_on_key(auditor, action::keys_read_any, action::keys_read_own, "usr_bob", "keys:read"));
  EXPECT_FALSE(may_on_key(auditor, action::keys_rotate_any, action::keys_rotate_own, "usr_aud",
                          "keys:write"));
  // A member's key: own keys with the scope only.
  const auto member_key = key_of(role::member, {"keys:read"}, "usr_mia");
  EXPECT_TRUE(
      may_on_key(member_key, action::keys_read_any, action::keys_read_own, "usr_mia", "keys:read"));
  EXPECT_FALSE(may_on_key(member_key, action::keys_rotate_any, action::keys_rotate_own, "usr_mia",
                          "keys:write"));
  EXPECT_FALSE(
      may_on_key(member_key, action::keys_read_any, action::keys_read_own, "usr_bob", "keys:read"));
  // An ownerless legacy key never matches "own" through an empty owner: only _any counts.
  const auto legacy = key_of(std::nullopt, {"keys:read"}, "");
  EXPECT_TRUE(may_on_key(legacy, action::keys_read_any, action::keys_read_own, "", "keys:read"));
  auto legacy_member_like = legacy;
  legacy_member_like.member_role = role::member;  // ignored: ownerless keys are admins
  EXPECT_TRUE(may_on_key(legacy_member_like, action::keys_read_any, action::keys_read_own, "",
                         "keys:read"));
}

TEST(principal_test, EmptyUserNeverOwnsAnEmptyOwner) {
  // A session without a user id (never built by the service) must not pass as the owner of
  // ownerless keys.
  auto odd = session_of(role::member, "");
  EXPECT_FALSE(may_on_key(odd, action::keys_revoke_any, action::keys_revoke_own, "", "keys:write"));
}

}  // namespace
}  // namespace keyledger::services
