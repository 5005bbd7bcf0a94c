// The key rules of the application layer, on their own (routes_test covers them over HTTP).
#include "services/app/key_authorization.hpp"

#include <gtest/gtest.h>

namespace keyledger::services {
namespace {

using domain::action;
using domain::problem_kind;
using domain::role;

principal person(role r, std::string user = "usr_me") {
  principal p;
  p.workspace_id = "ws_1";
  p.user_id = std::move(user);
  p.member_role = r;
  p.session_id_hash = "h";
  return p;
}

principal key_of(role r, std::vector<std::string> scopes) {
  principal p;
  p.workspace_id = "ws_1";
  p.user_id = "usr_me";
  p.member_role = r;
  p.key_id = "key_acting";
  p.scopes = std::move(scopes);
  return p;
}

domain::api_key_state key(std::string owner, std::vector<std::string> scopes = {}) {
  domain::api_key_state k;
  k.exists = true;
  k.key_id = "key_target";
  k.workspace_id = "ws_1";
  k.owner_user_id = std::move(owner);
  k.scopes = std::move(scopes);
  return k;
}

TEST(key_authorization, a_key_out_of_sight_is_not_found_and_a_visible_one_may_be_forbidden) {
  const auto member = person(role::member);
  // Someone else's key does not exist for a member.
  auto refused = refuse_key_command(member, key("usr_other"), action::keys_revoke_any,
                                    action::keys_revoke_own);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, problem_kind::not_found);
  // Their own key they may revoke.
  EXPECT_FALSE(
      refuse_key_command(member, key("usr_me"), action::keys_revoke_any, action::keys_revoke_own));
  // Another workspace's key is not found, whoever asks.
  auto elsewhere = key("usr_me");
  elsewhere.workspace_id = "ws_2";
  EXPECT_EQ(refuse_key_command(person(role::owner), elsewhere, action::keys_revoke_any,
                               action::keys_revoke_own)
                ->kind,
            problem_kind::not_found);
  // An auditor sees every key and may change none.
  auto auditor = refuse_key_command(person(role::auditor), key("usr_other"),
                                    action::keys_update_any, action::keys_update_own);
  ASSERT_TRUE(auditor);
  EXPECT_EQ(auditor->kind, problem_kind::forbidden);
}

TEST(key_authorization, scopes_come_from_the_catalog_and_never_escalate) {
  const std::vector<std::string> catalog{"leads:read"};
  EXPECT_FALSE(refuse_key_scopes(person(role::admin), {"leads:read", "keys:read"}, catalog));
  const auto unknown = refuse_key_scopes(person(role::admin), {"leads:write"}, catalog);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->kind, problem_kind::invalid);
  EXPECT_EQ(unknown->field, "scopes");
  // A key holding keys:write only cannot mint a key holding users:write.
  const auto escalation =
      refuse_key_scopes(key_of(role::owner, {"keys:write"}), {"users:write"}, catalog);
  ASSERT_TRUE(escalation);
  EXPECT_EQ(escalation->kind, problem_kind::forbidden);
}

TEST(key_authorization, an_owners_users_write_key_is_rotated_by_owners_only) {
  const auto owners_key = key("usr_owner", {"users:write", "keys:write"});
  const auto by_admin = refuse_rotation(person(role::admin), owners_key, role::owner);
  ASSERT_TRUE(by_admin);
  EXPECT_EQ(by_admin->kind, problem_kind::forbidden);
  EXPECT_FALSE(refuse_rotation(person(role::owner), owners_key, role::owner));
  EXPECT_FALSE(refuse_rotation(person(role::admin), owners_key, role::admin));
  // A key cannot rotate a key holding a management scope it lacks.
  EXPECT_TRUE(refuse_rotation(key_of(role::owner, {"keys:write"}), key("usr_me", {"users:read"}),
                              role::owner));
}

}  // namespace
}  // namespace keyledger::services
