#include "services/projections/directory_view.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "infra/json/user_codec.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;
using domain::role;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));

const std::string alice = "usr_a1ice00000000000000000";
const std::string bob = "usr_b0b0000000000000000000";
const std::string carol = "usr_caro1000000000000000000";

class directory_test : public ::testing::Test {
 protected:
  // A user event in its user's stream (or in `stream` if given).
  void user(const domain::user_event& e, std::string stream = {}) {
    const std::string user_id = std::visit([](const auto& alt) { return alt.user_id; }, e);
    feed(stream.empty() ? domain::user_stream_id(user_id) : std::move(stream),
         std::string(domain::event_type(e)), infra::encode_payload(e));
  }
  // A membership event in its workspace's stream (or in `stream` if given).
  void member(const domain::member_event& e, std::string stream = {}) {
    const std::string ws = std::visit([](const auto& alt) { return alt.workspace_id; }, e);
    feed(stream.empty() ? domain::members_stream_id(ws) : std::move(stream),
         std::string(domain::event_type(e)), infra::encode_payload(e));
  }
  void feed(std::string stream, std::string type, std::string payload) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = std::move(stream);
    r.type = std::move(type);
    r.payload = std::move(payload);
    view_.apply(r);
  }
  void registered(const std::string& id, std::string email, std::string name) {
    user(domain::user_registered{id, std::move(email), std::move(name), t0});
  }
  void invited(const std::string& id, role r, std::string ws = "ws_1") {
    member(domain::member_invited{std::move(ws), id, r, alice, t0, std::nullopt});
  }
  void changed(const std::string& id, role from, role to, std::string ws = "ws_1") {
    member(domain::member_role_changed{std::move(ws), id, from, to, alice, t0 + 1s});
  }
  void removed(const std::string& id, std::string ws = "ws_1") {
    member(domain::member_removed{std::move(ws), id, alice, t0 + 2s});
  }
  std::vector<std::string> member_ids(std::string_view ws) const {
    std::vector<std::string> out;
    for (const auto& m : view_.members(ws)) out.push_back(m.user.user_id);
    return out;
  }

  directory_view view_;
  std::uint64_t seq_ = 0;
};

TEST_F(directory_test, a_registered_user_is_found_by_id_and_by_email_in_any_case) {
  registered(alice, "alice@example.com", "Alice");
  const auto u = view_.find_user(alice);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->user_id, alice);
  EXPECT_EQ(u->email, "alice@example.com");
  EXPECT_EQ(u->display_name, "Alice");
  EXPECT_EQ(u->registered_at, t0);
  EXPECT_FALSE(u->password_set);

  for (const char* spelling :
       {"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.Com", "  alice@example.com\t"}) {
    const auto by_email = view_.find_user_by_email(spelling);
    ASSERT_TRUE(by_email.has_value()) << spelling;
    EXPECT_EQ(by_email->user_id, alice) << spelling;
  }
  EXPECT_FALSE(view_.find_user_by_email("bob@example.com").has_value());
  EXPECT_FALSE(view_.find_user_by_email("alice@example.co").has_value());
  EXPECT_FALSE(view_.find_user_by_email("").has_value());
  EXPECT_FALSE(view_.find_user(bob).has_value());
  EXPECT_FALSE(view_.find_user("").has_value());
  EXPECT_EQ(view_.applied_seq(), 1u);
}

TEST_F(directory_test, password_and_display_name_changes_follow) {
  registered(alice, "alice@example.com", "Alice");
  user(domain::user_password_set{alice, t0 + 1s});
  EXPECT_TRUE(view_.find_user(alice)->password_set);
  user(domain::user_display_name_changed{alice, "Alice B.", t0 + 2s});
  EXPECT_EQ(view_.find_user(alice)->display_name, "Alice B.");
  EXPECT_EQ(view_.find_user_by_email("ALICE@example.com")->display_name, "Alice B.");
  EXPECT_TRUE(view_.find_user(alice)->password_set);  // unchanged by the rename
  EXPECT_EQ(view_.find_user(alice)->email, "alice@example.com");
}

TEST_F(directory_test, roles_follow_invitations_changes_and_removals) {
  registered(alice, "alice@example.com", "Alice");
  registered(bob, "bob@example.com", "Bob");
  invited(alice, role::owner);
  invited(bob, role::member);
  EXPECT_EQ(view_.role_of("ws_1", alice), role::owner);
  EXPECT_EQ(view_.role_of("ws_1", bob), role::member);

  changed(bob, role::member, role::auditor);
  EXPECT_EQ(view_.role_of("ws_1", bob), role::auditor);

  removed(bob);
  EXPECT_EQ(view_.role_of("ws_1", bob), std::nullopt);
  EXPECT_EQ(member_ids("ws_1"), (std::vector<std::string>{alice}));
  EXPECT_TRUE(view_.memberships(bob).empty());
  // The user still exists; only the membership ended.
  EXPECT_TRUE(view_.find_user(bob).has_value());

  // A removed user can be invited again.
  invited(bob, role::admin);
  EXPECT_EQ(view_.role_of("ws_1", bob), role::admin);

  EXPECT_EQ(view_.role_of("ws_1", carol), std::nullopt);
  EXPECT_EQ(view_.role_of("ws_9", alice), std::nullopt);
}

TEST_F(directory_test, members_are_ordered_by_email_with_their_user_and_role) {
  registered(alice, "zed@example.com", "Zed");
  registered(bob, "adam@example.com", "Adam");
  registered(carol, "maria@example.com", "Maria");
  invited(alice, role::owner);
  invited(bob, role::auditor);
  invited(carol, role::member);
  invited(carol, role::admin, "ws_2");
  user(domain::user_password_set{carol, t0});

  const auto members = view_.members("ws_1");
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].user.email, "adam@example.com");
  EXPECT_EQ(members[0].member_role, role::auditor);
  EXPECT_EQ(members[1].user.email, "maria@example.com");
  EXPECT_EQ(members[1].user.display_name, "Maria");
  EXPECT_EQ(members[1].member_role, role::member);
  EXPECT_TRUE(members[1].user.password_set);
  EXPECT_EQ(members[2].user.email, "zed@example.com");
  EXPECT_EQ(members[2].member_role, role::owner);
  EXPECT_FALSE(members[2].user.password_set);

  // Workspaces are apart.
  EXPECT_EQ(member_ids("ws_2"), (std::vector<std::string>{carol}));
  EXPECT_TRUE(view_.members("ws_none").empty());
}

TEST_F(directory_test, memberships_list_every_workspace_of_a_user_with_the_role_there) {
  registered(alice, "alice@example.com", "Alice");
  invited(alice, role::owner, "ws_b");
  invited(alice, role::member, "ws_a");
  invited(alice, role::auditor, "ws_c");
  invited(bob, role::admin, "ws_a");
  using list = std::vector<std::pair<std::string, role>>;
  EXPECT_EQ(view_.memberships(alice),
            (list{{"ws_a", role::member}, {"ws_b", role::owner}, {"ws_c", role::auditor}}));
  changed(alice, role::member, role::admin, "ws_a");
  removed(alice, "ws_c");
  EXPECT_EQ(view_.memberships(alice), (list{{"ws_a", role::admin}, {"ws_b", role::owner}}));
  EXPECT_EQ(view_.memberships(bob), (list{{"ws_a", role::admin}}));
  EXPECT_TRUE(view_.memberships(carol).empty());
}

TEST_F(directory_test, a_membership_seen_before_the_users_registration_fills_in_when_it_arrives) {
  // Streams are independent: the invitation may come first in the log.
  invited(alice, role::owner);
  EXPECT_EQ(view_.role_of("ws_1", alice), role::owner);
  auto members = view_.members("ws_1");
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].user.user_id, alice);
  EXPECT_EQ(members[0].user.email, "");
  EXPECT_EQ(members[0].member_role, role::owner);

  registered(alice, "alice@example.com", "Alice");
  members = view_.members("ws_1");
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].user.email, "alice@example.com");
  EXPECT_EQ(members[0].user.display_name, "Alice");
}

TEST_F(directory_test, bad_or_foreign_events_are_skipped_and_the_position_advances) {
  registered(alice, "alice@example.com", "Alice");
  invited(alice, role::owner);

  feed(domain::user_stream_id(alice), "UserRegistered", "{not json");
  feed(domain::user_stream_id(alice), "UserDisplayNameChanged", R"({"user_id":"x"})");
  feed(domain::members_stream_id("ws_1"), "MemberInvited", "[]");
  // Changes to a user never registered
  user(domain::user_password_set{bob, t0});
  user(domain::user_display_name_changed{bob, "Bob", t0});
  // A second registration of the same user does not overwrite the first
  registered(alice, "other@example.com", "Other");
  // Payloads that name another user or workspace than their stream
  user(domain::user_display_name_changed{alice, "Mallory", t0}, domain::user_stream_id(bob));
  member(domain::member_removed{"ws_1", alice, bob, t0}, domain::members_stream_id("ws_2"));
  // Events that are not the directory's
  feed("api_key-key_a", "KeyRevoked", R"({"key_id":"key_a","revoked_at":"2026-11-23T19:36:02Z"})");
  feed("workspace-ws_1", "WorkspaceCreated", "{}");

  EXPECT_EQ(view_.applied_seq(), seq_);
  EXPECT_EQ(view_.applied_seq(), 12u);
  EXPECT_FALSE(view_.find_user(bob).has_value());
  const auto a = view_.find_user(alice);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->email, "alice@example.com");
  EXPECT_EQ(a->display_name, "Alice");
  EXPECT_FALSE(view_.find_user_by_email("other@example.com").has_value());
  EXPECT_EQ(view_.role_of("ws_1", alice), role::owner);
  EXPECT_TRUE(view_.members("ws_2").empty());

  // Still working afterwards.
  changed(alice, role::owner, role::admin);
  EXPECT_EQ(view_.role_of("ws_1", alice), role::admin);
}

TEST_F(directory_test, two_users_never_share_an_email_in_the_view) {
  registered(alice, "shared@example.com", "Alice");
  // Cannot be decided (the registration's event id derives from the email), but if a log held
  // it the first registration keeps the address.
  registered(bob, "shared@example.com", "Bob");
  EXPECT_EQ(view_.find_user_by_email("Shared@Example.com")->user_id, alice);
  EXPECT_TRUE(view_.find_user(bob).has_value());
}

TEST_F(directory_test, readers_run_beside_the_writer) {
  registered(alice, "alice@example.com", "Alice");
  invited(alice, role::owner);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const auto r = view_.role_of("ws_1", alice);
      const auto members = view_.members("ws_1");
      // Alice is always a member (owner or auditor); bob comes and goes.
      if (!r || members.empty() || members.size() > 2) ++bad;
      if (!view_.find_user_by_email("ALICE@example.com")) ++bad;
    }
  });
  for (int i = 0; i < 300; ++i) {
    changed(alice, role::owner, role::auditor);
    invited(bob, role::member);
    removed(bob);
    changed(alice, role::auditor, role::owner);
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(view_.role_of("ws_1", alice), role::owner);
  EXPECT_EQ(view_.applied_seq(), 2u + 4 * 300);
}

}  // namespace
}  // namespace keyledger::services
