// user_service over the in-memory event store and people store, with a directory view fed from
// the store's events: the policy for every command and role (tables), the last-owner rule,
// one-time tokens (single use, expiry), passwords, logins (same answer for unknown email and
// wrong password, throttling per account and per IP), sessions (idle and absolute expiry with an
// injected clock), CSRF, logout and the bootstrapped owner.

#include "services/app/user_service.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <latch>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "domain/keys/key_format.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/password.hpp"
#include "infra/json/user_codec.hpp"
#include "services/projections/directory_view.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/memory_people_store.hpp"

namespace keyledger::services {
namespace {

using domain::role;
using namespace std::chrono_literals;

/// Deterministic bytes (xorshift), so failures reproduce.
class fake_random final : public domain::random_source {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      b = static_cast<std::uint8_t>(state_);
    }
  }

 private:
  std::uint64_t state_ = 0x9E3779B97F4A7C15ull;
};

const std::string token_key_bytes(32, 't');
const std::string csrf_key_bytes(32, 'c');
const std::string good_password = "correct horse battery staple";

user_service::options test_options() {
  user_service::options o;
  o.login_failures_allowed = 3;  // small, so throttling tests need few Argon2 verifications
  return o;
}

std::string role_name(role r) { return std::string(to_string(r)); }

class user_service_test : public ::testing::Test {
 protected:
  user_service_test()
      : service_(infra::secret(token_key_bytes), infra::secret(csrf_key_bytes), random_, clock_,
                 test_options()) {}

  void SetUp() override {
    ws_ = domain::new_id("ws", random_);
    auto owner = service_.bootstrap_owner(store_, people_, ws_, "owner@example.com", ctx_);
    ASSERT_TRUE(owner.ok());
    owner_id_ = owner->user_id;
    owner_password_ = std::string(owner->password.reveal());
    sync();
  }

  /// Feeds the directory view everything appended since the last call.
  void sync() {
    for (const auto& e : store_.read_all(directory_.applied_seq(), 100'000)) directory_.apply(e);
  }

  /// A person acting through a session, with the role the directory gives them now.
  principal person(const std::string& user_id, const std::string& ws = "") {
    sync();
    principal p;
    p.workspace_id = ws.empty() ? ws_ : ws;
    p.user_id = user_id;
    p.member_role = directory_.role_of(p.workspace_id, user_id);
    p.session_id_hash = std::string(64, 'e');
    return p;
  }

  /// A key owned by `user_id`, with `scopes` as its effective scopes.
  principal key_of(const std::string& user_id, std::vector<std::string> scopes) {
    principal p = person(user_id);
    p.session_id_hash.clear();
    p.key_id = "key_" + std::string(22, 'K');
    p.scopes = std::move(scopes);
    return p;
  }

  /// The workspace owner invites `email` as `r`; returns the invitation.
  invitation invite(const std::string& email, role r, const std::string& ws = "",
                    const std::string& by = "") {
    auto inv = service_.invite(store_, people_, person(by.empty() ? owner_id_ : by, ws), email,
                               "Someone", r, ctx_);
    EXPECT_TRUE(inv.ok()) << email << ": " << (inv.ok() ? "" : to_string(inv.error()));
    sync();
    return inv.ok() ? std::move(inv.value()) : invitation{};
  }

  std::string add_member(const std::string& email, role r) { return invite(email, r).user_id; }

  /// Invites `email` and sets its password; returns the user id.
  std::string add_person(const std::string& email, role r, const std::string& ws = "") {
    auto inv = invite(email, r, ws);
    auto set = service_.set_password(store_, people_, inv.token.reveal(),
                                     infra::secret(good_password), ctx_);
    EXPECT_TRUE(set.ok());
    sync();
    return inv.user_id;
  }

  domain::result<new_session, user_error> login(const std::string& email,
                                                const std::string& password,
                                                const std::string& ws = "",
                                                const std::string& ip = "192.0.2.1",
                                                std::chrono::seconds* retry_after = nullptr) {
    sync();
    return service_.login(people_, directory_, email, infra::secret(password), ws, ip, retry_after);
  }

  std::optional<principal> authenticate(const new_session& s) {
    sync();
    return service_.authenticate_session(people_, directory_, s.session_id.reveal());
  }

  /// Creates another workspace with its own owner; returns its id.
  std::string other_workspace(const std::string& owner_email = "other-owner@example.com") {
    const auto ws = domain::new_id("ws", random_);
    auto owner = service_.bootstrap_owner(store_, people_, ws, owner_email, ctx_);
    EXPECT_TRUE(owner.ok());
    other_owner_id_ = owner.ok() ? owner->user_id : "";
    sync();
    return ws;
  }

  std::size_t events_of_type(std::string_view type) const {
    std::size_t n = 0;
    for (const auto& e : store_.events()) n += e.type == type;
    return n;
  }

  std::optional<role> role_in(const std::string& user_id, const std::string& ws = "") {
    sync();
    return directory_.role_of(ws.empty() ? ws_ : ws, user_id);
  }

  fake_random random_;
  test_support::manual_clock clock_{
      domain::timestamp(std::chrono::seconds(1'800'000'000 - 1'800'000'000 % 900))};
  user_service service_;
  test_support::memory_event_store store_;
  test_support::memory_people_store people_;
  directory_view directory_;
  request_context ctx_{"usr_actor", "req_1", "127.0.0.1", ""};
  std::string ws_;
  std::string owner_id_;
  std::string owner_password_;
  std::string other_owner_id_;
};

// ---- invite ---------------------------------------------------------------------------------

TEST_F(user_service_test, InviteRegistersTheUserAndStoresOnlyAKeyedHashOfTheToken) {
  const auto before = store_.head_seq();
  auto inv = service_.invite(store_, people_, person(owner_id_), "  Alice@Example.COM ", " Alice ",
                             role::admin, ctx_);
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(domain::valid_user_id(inv->user_id));
  EXPECT_EQ(inv->member_role, role::admin);
  EXPECT_TRUE(domain::valid_session_token(inv->token.reveal()));
  EXPECT_EQ(inv->expires_at, clock_.now() + std::chrono::hours(24 * 7));
  EXPECT_EQ(inv->global_seq, store_.head_seq());
  EXPECT_EQ(store_.head_seq(), before + 2);  // UserRegistered + MemberInvited

  const auto events = store_.read_all(before, 10);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "UserRegistered");
  EXPECT_EQ(events[0].stream_id, domain::user_stream_id(inv->user_id));
  EXPECT_EQ(events[1].type, "MemberInvited");
  const auto invited = infra::decode_member_event(events[1].type, events[1].payload);
  ASSERT_TRUE(invited);
  const auto& m = std::get<domain::member_invited>(*invited);
  EXPECT_EQ(m.invited_by, owner_id_);
  EXPECT_EQ(m.invite_expires_at, inv->expires_at);

  sync();
  const auto user = directory_.find_user_by_email("alice@example.com");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->user_id, inv->user_id);
  EXPECT_EQ(user->display_name, "Alice");
  EXPECT_EQ(role_in(inv->user_id), role::admin);

  const auto stored = people_.invitations();
  ASSERT_EQ(stored.size(), 1u);
  const auto& row = stored.begin()->second;
  const infra::hmac_key_hasher hmac{infra::secret(token_key_bytes)};
  EXPECT_EQ(row.token_hash, hmac.hash_hex(inv->token.reveal()));
  EXPECT_EQ(row.user_id, inv->user_id);
  EXPECT_EQ(row.workspace_id, ws_);
  EXPECT_EQ(row.expires_at_us, inv->expires_at.time_since_epoch().count());
  for (const auto& e : store_.events()) {
    EXPECT_EQ(e.payload.find(inv->token.reveal()), std::string::npos);
    EXPECT_EQ(e.payload.find(row.token_hash), std::string::npos);
  }
}

TEST_F(user_service_test, AnEmailIsOneUserAcrossWorkspaces) {
  const auto alice = add_member("alice@example.com", role::member);
  const auto ws2 = other_workspace();
  auto again = service_.invite(store_, people_, person(other_owner_id_, ws2), "ALICE@example.com",
                               "Another Name", role::auditor, ctx_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->user_id, alice);
  EXPECT_TRUE(domain::valid_session_token(again->token.reveal()));  // no password yet
  EXPECT_EQ(events_of_type("UserRegistered"), 3u);                  // two owners and alice, once
  EXPECT_EQ(role_in(alice, ws2), role::auditor);
  EXPECT_EQ(role_in(alice), role::member);
  EXPECT_EQ(directory_.find_user(alice)->display_name, "Someone");  // the first name stays
  // Each workspace's token stays; the fresh id tried first left nothing behind.
  EXPECT_EQ(people_.invitation_count(), 2u);
}

TEST_F(user_service_test, RacingInvitesOfOneEmailMakeOneUser) {
  // Two workspaces invite the same new address at the same moment, twenty times over: the
  // derived event id lets one UserRegistered through, and the loser invites the winner's user.
  const auto ws2 = other_workspace();
  infra::openssl_random_source random;  // thread-safe, unlike the fixture's
  const user_service service(infra::secret(token_key_bytes), infra::secret(csrf_key_bytes), random,
                             clock_, test_options());
  const auto owner1 = person(owner_id_);
  const auto owner2 = person(other_owner_id_, ws2);
  for (int round = 0; round < 20; ++round) {
    const std::string email = "racer" + std::to_string(round) + "@example.com";
    std::optional<domain::result<invitation, user_error>> a, b;
    std::latch start(2);
    std::thread ta([&] {
      start.arrive_and_wait();
      a.emplace(service.invite(store_, people_, owner1, email, "R", role::member, ctx_));
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      b.emplace(service.invite(store_, people_, owner2, email, "R", role::auditor, ctx_));
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(a->ok() && b->ok()) << round;
    EXPECT_EQ(a->value().user_id, b->value().user_id) << round;
    EXPECT_EQ(role_in(a->value().user_id), role::member) << round;
    EXPECT_EQ(role_in(a->value().user_id, ws2), role::auditor) << round;
  }
  EXPECT_EQ(events_of_type("UserRegistered"), 2u + 20u);
  EXPECT_EQ(people_.invitation_count(), 40u);  // one token per workspace, no orphans
}

TEST_F(user_service_test, InvitingAMemberAgainIsAlreadyMember) {
  add_member("alice@example.com", role::member);
  const auto head = store_.head_seq();
  const auto invitations = people_.invitation_count();
  auto again = service_.invite(store_, people_, person(owner_id_), "alice@example.com", "Alice",
                               role::admin, ctx_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), user_error::already_member);
  EXPECT_EQ(store_.head_seq(), head);
  EXPECT_EQ(people_.invitation_count(), invitations);
}

TEST_F(user_service_test, SomeoneWithAPasswordIsInvitedWithoutAToken) {
  const auto alice = add_person("alice@example.com", role::member);
  const auto ws2 = other_workspace();
  const auto head = store_.head_seq();
  auto inv = service_.invite(store_, people_, person(other_owner_id_, ws2), "alice@example.com",
                             "Alice", role::admin, ctx_);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->user_id, alice);
  EXPECT_TRUE(inv->token.empty());
  EXPECT_EQ(people_.invitation_count(), 0u);
  const auto events = store_.read_all(head, 10);
  ASSERT_EQ(events.size(), 1u);
  const auto invited = infra::decode_member_event(events[0].type, events[0].payload);
  ASSERT_TRUE(invited);
  EXPECT_EQ(std::get<domain::member_invited>(*invited).invite_expires_at, std::nullopt);
  // She logs into the new workspace with the password she has.
  EXPECT_TRUE(login("alice@example.com", good_password, ws2).ok());
}

TEST_F(user_service_test, InviteRefusesBadInputAndAppendsNothing) {
  const auto head = store_.head_seq();
  const auto owner = person(owner_id_);
  const auto try_invite = [&](std::string email, std::string name, role r) {
    auto inv = service_.invite(store_, people_, owner, email, name, r, ctx_);
    return inv.ok() ? std::optional<user_error>{} : std::optional{inv.error()};
  };
  EXPECT_EQ(try_invite("no-at-sign", "A", role::member), user_error::invalid_email);
  EXPECT_EQ(try_invite("", "A", role::member), user_error::invalid_email);
  EXPECT_EQ(try_invite("a@b\x01", "A", role::member), user_error::invalid_email);
  EXPECT_EQ(try_invite("a@example.com", "", role::member), user_error::invalid_display_name);
  EXPECT_EQ(try_invite("a@example.com", "A\u200b", role::member), user_error::invalid_display_name);
  EXPECT_EQ(try_invite("a@example.com", "A", static_cast<role>(9)), user_error::invalid_role);
  EXPECT_EQ(store_.head_seq(), head);
  EXPECT_EQ(people_.invitation_count(), 0u);
}

TEST_F(user_service_test, InvitePolicyForEveryActorRoleAndNewRole) {
  for (const role actor_role : domain::all_roles) {
    const auto actor = add_member("actor-" + role_name(actor_role) + "@example.com", actor_role);
    for (const role new_role : domain::all_roles) {
      // Written out by hand: owners invite anyone, admins anyone but an owner, others no one.
      const bool expected =
          actor_role == role::owner || (actor_role == role::admin && new_role != role::owner);
      const std::string label = role_name(actor_role) + " invites " + role_name(new_role);
      for (const bool by_key : {false, true}) {
        const auto who = by_key ? key_of(actor, {"users:write"}) : person(actor);
        const std::string email = "t-" + role_name(actor_role) + "-" + role_name(new_role) +
                                  (by_key ? "-key" : "") + "@example.com";
        const auto head = store_.head_seq();
        auto inv = service_.invite(store_, people_, who, email, "T", new_role, ctx_);
        EXPECT_EQ(inv.ok(), expected) << label << (by_key ? " (key)" : "");
        if (expected) {
          EXPECT_EQ(role_in(inv->user_id), new_role) << label;
        } else {
          EXPECT_EQ(inv.error(), user_error::forbidden) << label;
          EXPECT_EQ(store_.head_seq(), head) << label;
        }
      }
      // A key without users:write never invites, whatever its owner's role.
      auto no_scope = service_.invite(store_, people_, key_of(actor, {"users:read", "keys:write"}),
                                      "never@example.com", "N", new_role, ctx_);
      ASSERT_FALSE(no_scope.ok()) << label;
      EXPECT_EQ(no_scope.error(), user_error::forbidden) << label;
    }
  }
}

// ---- change role and remove -----------------------------------------------------------------

TEST_F(user_service_test, ChangeRolePolicyForEveryActorTargetAndNewRole) {
  int n = 0;
  for (const role actor_role : domain::all_roles) {
    const auto actor = add_member("actor-" + role_name(actor_role) + "@example.com", actor_role);
    for (const role from : domain::all_roles) {
      for (const role to : domain::all_roles) {
        const auto target = add_member("target-" + std::to_string(n++) + "@example.com", from);
        // By hand: owners change anyone to anything; admins neither touch an owner nor make
        // one; members and auditors change nobody.
        const bool expected =
            actor_role == role::owner ||
            (actor_role == role::admin && from != role::owner && to != role::owner);
        const std::string label =
            role_name(actor_role) + ": " + role_name(from) + " -> " + role_name(to);
        const auto head = store_.head_seq();
        auto changed = service_.change_role(store_, people_, person(actor), target, to, ctx_);
        ASSERT_EQ(changed.ok(), expected) << label;
        if (expected) {
          EXPECT_EQ(changed.value() == 0, from == to) << label;
          EXPECT_EQ(role_in(target), to) << label;
        } else {
          EXPECT_EQ(changed.error(), user_error::forbidden) << label;
          EXPECT_EQ(store_.head_seq(), head) << label;
          EXPECT_EQ(role_in(target), from) << label;
        }
      }
    }
  }
}

TEST_F(user_service_test, RemovePolicyForEveryActorAndTargetRole) {
  int n = 0;
  for (const role actor_role : domain::all_roles) {
    const auto actor = add_member("actor-" + role_name(actor_role) + "@example.com", actor_role);
    for (const role target_role : domain::all_roles) {
      for (const bool by_key : {false, true}) {
        const auto target =
            add_member("target-" + std::to_string(n++) + "@example.com", target_role);
        const bool expected =
            actor_role == role::owner || (actor_role == role::admin && target_role != role::owner);
        const std::string label =
            role_name(actor_role) + " removes " + role_name(target_role) + (by_key ? " (key)" : "");
        const auto who = by_key ? key_of(actor, {"users:write"}) : person(actor);
        auto removed = service_.remove(store_, people_, who, target, ctx_);
        ASSERT_EQ(removed.ok(), expected) << label;
        if (expected) {
          EXPECT_GT(removed.value(), 0u) << label;
          EXPECT_EQ(role_in(target), std::nullopt) << label;
        } else {
          EXPECT_EQ(removed.error(), user_error::forbidden) << label;
          EXPECT_EQ(role_in(target), target_role) << label;
        }
        // Without users:write a key removes no one.
        auto unscoped =
            service_.remove(store_, people_, key_of(actor, {"users:read"}), target, ctx_);
        ASSERT_FALSE(unscoped.ok()) << label;
      }
    }
  }
}

TEST_F(user_service_test, TheLastOwnerCanBeNeitherDemotedNorRemoved) {
  const auto owner = person(owner_id_);
  auto demoted = service_.change_role(store_, people_, owner, owner_id_, role::admin, ctx_);
  ASSERT_FALSE(demoted.ok());
  EXPECT_EQ(demoted.error(), user_error::last_owner);
  auto removed = service_.remove(store_, people_, owner, owner_id_, ctx_);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error(), user_error::last_owner);
  // An admin is refused by the policy before the rule is reached.
  const auto admin = add_member("admin@example.com", role::admin);
  auto by_admin = service_.remove(store_, people_, person(admin), owner_id_, ctx_);
  ASSERT_FALSE(by_admin.ok());
  EXPECT_EQ(by_admin.error(), user_error::forbidden);

  // With a second owner, the first may step down; then the second is the last.
  const auto second = add_member("second@example.com", role::owner);
  ASSERT_TRUE(service_.change_role(store_, people_, owner, owner_id_, role::admin, ctx_).ok());
  EXPECT_EQ(role_in(owner_id_), role::admin);
  auto last = service_.remove(store_, people_, person(second), second, ctx_);
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error(), user_error::last_owner);
  EXPECT_EQ(role_in(second), role::owner);
}

TEST_F(user_service_test, TheActorsCurrentRoleCountsNotTheOneTheyCameWith) {
  const auto admin = add_member("admin@example.com", role::admin);
  const auto stale = person(admin);  // says admin
  ASSERT_TRUE(
      service_.change_role(store_, people_, person(owner_id_), admin, role::member, ctx_).ok());
  // The directory has not seen the demotion when the request was authenticated; the command
  // loads the membership and decides with the role it finds there.
  auto inv = service_.invite(store_, people_, stale, "x@example.com", "X", role::member, ctx_);
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.error(), user_error::forbidden);
  const auto target = add_member("t@example.com", role::member);
  auto rm = service_.remove(store_, people_, stale, target, ctx_);
  ASSERT_FALSE(rm.ok());
  EXPECT_EQ(rm.error(), user_error::forbidden);
}

TEST_F(user_service_test, KeysActForTheirOwnerOnly) {
  const auto admin = add_member("admin@example.com", role::admin);
  const auto member = add_member("member@example.com", role::member);
  // An admin's key with users:write manages users like the admin.
  auto ok = service_.invite(store_, people_, key_of(admin, {"users:write"}), "a@example.com", "A",
                            role::member, ctx_);
  EXPECT_TRUE(ok.ok());
  // A member's key gains nothing from the scope.
  auto no = service_.change_role(store_, people_, key_of(member, {"users:write"}), member,
                                 role::admin, ctx_);
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.error(), user_error::forbidden);
  // A key created before keys had owners manages keys as an implicit admin, but no people:
  // every membership event names the person who made it.
  principal legacy;
  legacy.workspace_id = ws_;
  legacy.key_id = "key_" + std::string(22, 'L');
  legacy.scopes = {"users:write"};
  auto by_legacy =
      service_.invite(store_, people_, legacy, "l@example.com", "L", role::member, ctx_);
  ASSERT_FALSE(by_legacy.ok());
  EXPECT_EQ(by_legacy.error(), user_error::forbidden);
}

TEST_F(user_service_test, UsersOfAnotherWorkspaceAreNotFound) {
  const auto ws2 = other_workspace();
  const auto owner = person(owner_id_);
  for (const std::string& target : {other_owner_id_, std::string("usr_") + std::string(22, 'x'),
                                    std::string("nonsense"), std::string()}) {
    auto changed = service_.change_role(store_, people_, owner, target, role::member, ctx_);
    ASSERT_FALSE(changed.ok()) << target;
    EXPECT_EQ(changed.error(), user_error::not_found) << target;
    auto removed = service_.remove(store_, people_, owner, target, ctx_);
    ASSERT_FALSE(removed.ok()) << target;
    EXPECT_EQ(removed.error(), user_error::not_found) << target;
  }
  EXPECT_EQ(role_in(other_owner_id_, ws2), role::owner);
  // Members cannot even find out whether someone is a member.
  const auto member = add_member("member@example.com", role::member);
  auto probe = service_.remove(store_, people_, person(member), other_owner_id_, ctx_);
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.error(), user_error::forbidden);
}

TEST_F(user_service_test, ARoleChangeEndsTheSessionsOfThatWorkspaceOnly) {
  const auto alice = add_person("alice@example.com", role::admin);
  const auto ws2 = other_workspace();
  ASSERT_TRUE(service_
                  .invite(store_, people_, person(other_owner_id_, ws2), "alice@example.com",
                          "Alice", role::member, ctx_)
                  .ok());
  auto here = login("alice@example.com", good_password, ws_);
  auto there = login("alice@example.com", good_password, ws2);
  ASSERT_TRUE(here.ok());
  ASSERT_TRUE(there.ok());
  // The same role is no change: sessions stay.
  auto same = service_.change_role(store_, people_, person(owner_id_), alice, role::admin, ctx_);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same.value(), 0u);
  EXPECT_TRUE(authenticate(here.value()));

  auto changed =
      service_.change_role(store_, people_, person(owner_id_), alice, role::auditor, ctx_);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed.value(), store_.head_seq());
  EXPECT_FALSE(authenticate(here.value()));
  const auto still = authenticate(there.value());
  ASSERT_TRUE(still);
  EXPECT_EQ(still->member_role, role::member);
  // Logging in again gives the new role.
  auto again = login("alice@example.com", good_password, ws_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(authenticate(again.value())->member_role, role::auditor);
}

TEST_F(user_service_test, RemovalEndsSessionsAndDropsTheUnusedToken) {
  const auto alice = add_person("alice@example.com", role::member);
  auto session = login("alice@example.com", good_password);
  ASSERT_TRUE(session.ok());
  auto bob = invite("bob@example.com", role::member);
  ASSERT_TRUE(service_.remove(store_, people_, person(owner_id_), alice, ctx_).ok());
  ASSERT_TRUE(service_.remove(store_, people_, person(owner_id_), bob.user_id, ctx_).ok());
  EXPECT_FALSE(authenticate(session.value()));
  EXPECT_EQ(people_.session_count(), 0u);
  EXPECT_EQ(people_.invitation_count(), 0u);
  auto set = service_.set_password(store_, people_, bob.token.reveal(),
                                   infra::secret(good_password), ctx_);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error(), user_error::invalid_token);
  // Removed: no workspace to log into.
  auto denied = login("alice@example.com", good_password);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error(), user_error::bad_credentials);
  // Invited again, she is a member again (with her password, no new token).
  auto back = service_.invite(store_, people_, person(owner_id_), "alice@example.com", "Alice",
                              role::auditor, ctx_);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->user_id, alice);
  EXPECT_TRUE(back->token.empty());
  EXPECT_TRUE(login("alice@example.com", good_password).ok());
}

// ---- set password ---------------------------------------------------------------------------

TEST_F(user_service_test, ATokenSetsThePasswordOnce) {
  auto inv = invite("alice@example.com", role::member);
  const auto head = store_.head_seq();
  auto set = service_.set_password(store_, people_, inv.token.reveal(),
                                   infra::secret(good_password), ctx_);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.value().user_id, inv.user_id);
  EXPECT_GT(set.value().global_seq, 0u);
  const auto events = store_.read_all(head, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "UserPasswordSet");
  EXPECT_EQ(events[0].stream_id, domain::user_stream_id(inv.user_id));
  const auto hash = people_.password_hash(inv.user_id);
  ASSERT_TRUE(hash);
  EXPECT_TRUE(infra::verify_password(infra::secret(good_password), *hash));
  EXPECT_EQ(events[0].payload.find(*hash), std::string::npos);
  sync();
  EXPECT_TRUE(directory_.find_user(inv.user_id)->password_set);

  auto again = service_.set_password(store_, people_, inv.token.reveal(),
                                     infra::secret("another good password"), ctx_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), user_error::invalid_token);
  EXPECT_TRUE(
      infra::verify_password(infra::secret(good_password), *people_.password_hash(inv.user_id)));
}

TEST_F(user_service_test, AnExpiredTokenIsRefused) {
  auto inv = invite("alice@example.com", role::member);
  auto inv2 = invite("bob@example.com", role::member);
  clock_.advance(std::chrono::hours(24 * 7) - 1us);
  EXPECT_TRUE(
      service_
          .set_password(store_, people_, inv2.token.reveal(), infra::secret(good_password), ctx_)
          .ok());
  clock_.advance(1us);  // the instant of expiry is too late
  auto set = service_.set_password(store_, people_, inv.token.reveal(),
                                   infra::secret(good_password), ctx_);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error(), user_error::invalid_token);
  EXPECT_FALSE(people_.password_hash(inv.user_id));
}

TEST_F(user_service_test, AWeakPasswordDoesNotSpendTheToken) {
  auto inv = invite("alice@example.com", role::member);
  for (const std::string& weak : {std::string(), std::string(11, 'x'), std::string(1025, 'x')}) {
    auto set =
        service_.set_password(store_, people_, inv.token.reveal(), infra::secret(weak), ctx_);
    ASSERT_FALSE(set.ok());
    EXPECT_EQ(set.error(), user_error::weak_password) << weak.size();
  }
  EXPECT_EQ(people_.invitation_count(), 1u);
  EXPECT_TRUE(service_
                  .set_password(store_, people_, inv.token.reveal(),
                                infra::secret(std::string(12, 'x')), ctx_)
                  .ok());
}

TEST_F(user_service_test, MalformedOrUnknownTokensAreInvalid) {
  auto inv = invite("alice@example.com", role::member);
  const std::string real(inv.token.reveal());
  std::string flipped = real;
  flipped[0] = flipped[0] == 'A' ? 'B' : 'A';
  for (const std::string& token :
       {std::string(), std::string("abc"), real + "A", real.substr(1), flipped,
        std::string(43, '*'), domain::new_session_token(random_)}) {
    auto set = service_.set_password(store_, people_, token, infra::secret(good_password), ctx_);
    ASSERT_FALSE(set.ok());
    EXPECT_EQ(set.error(), user_error::invalid_token);
  }
  EXPECT_EQ(people_.invitation_count(), 1u);
}

TEST_F(user_service_test, AnotherWorkspacesTokenCannotReplaceAPassword) {
  // Invited to two workspaces before setting a password: the admin of one still holds a token
  // after she used the other one.
  auto here = invite("alice@example.com", role::member);
  const auto ws2 = other_workspace();
  auto there = service_.invite(store_, people_, person(other_owner_id_, ws2), "alice@example.com",
                               "Alice", role::member, ctx_);
  ASSERT_TRUE(there.ok());
  ASSERT_TRUE(
      service_
          .set_password(store_, people_, here.token.reveal(), infra::secret(good_password), ctx_)
          .ok());
  auto takeover = service_.set_password(store_, people_, there->token.reveal(),
                                        infra::secret("attacker chosen password"), ctx_);
  ASSERT_FALSE(takeover.ok());
  EXPECT_EQ(takeover.error(), user_error::invalid_token);
  EXPECT_TRUE(login("alice@example.com", good_password, ws2).ok());
  EXPECT_FALSE(login("alice@example.com", "attacker chosen password", ws2).ok());
}

// ---- login ----------------------------------------------------------------------------------

TEST_F(user_service_test, LoginOpensASessionWithACsrfToken) {
  const auto alice = add_person("alice@example.com", role::admin);
  auto s = login(" ALICE@example.com", good_password);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(domain::valid_session_token(s->session_id.reveal()));
  EXPECT_EQ(s->record.id_hash, infra::session_id_hash(s->session_id.reveal()));
  EXPECT_EQ(s->record.user_id, alice);
  EXPECT_EQ(s->record.workspace_id, ws_);
  EXPECT_EQ(s->record.created_at_us, clock_.now().time_since_epoch().count());
  EXPECT_EQ(s->record.last_seen_at_us, s->record.created_at_us);
  EXPECT_EQ(s->csrf_token,
            infra::csrf_token(infra::secret(csrf_key_bytes), s->session_id.reveal()));
  // Only the hash is stored.
  const auto stored = people_.sessions();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored.begin()->first, s->record.id_hash);

  const auto p = authenticate(s.value());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->workspace_id, ws_);
  EXPECT_EQ(p->user_id, alice);
  EXPECT_EQ(p->member_role, role::admin);
  EXPECT_EQ(p->session_id_hash, s->record.id_hash);
  EXPECT_TRUE(p->is_session());
  EXPECT_FALSE(p->is_key());
}

TEST_F(user_service_test, WrongPasswordAndUnknownEmailGetTheSameAnswer) {
  add_person("alice@example.com", role::member);
  invite("pending@example.com", role::member);  // invited, no password yet
  const auto answer = [&](const std::string& email, const std::string& password) {
    auto s = login(email, password, "", "198.51.100." + std::to_string(email.size()));
    return s.ok() ? std::optional<user_error>{} : std::optional{s.error()};
  };
  EXPECT_EQ(answer("alice@example.com", "wrong password!"), user_error::bad_credentials);
  EXPECT_EQ(answer("nobody@example.com", good_password), user_error::bad_credentials);
  EXPECT_EQ(answer("pending@example.com", good_password), user_error::bad_credentials);
  EXPECT_EQ(answer("not an email", good_password), user_error::bad_credentials);
  EXPECT_EQ(answer("alice@example.com", ""), user_error::bad_credentials);
  EXPECT_EQ(answer("alice@example.com", std::string(2000, 'p')), user_error::bad_credentials);
  EXPECT_EQ(people_.session_count(), 0u);
}

TEST_F(user_service_test, FailedLoginsAreThrottledPerAccount) {
  add_person("alice@example.com", role::member);
  add_person("bob@example.com", role::member);
  // Three failures (the limit in this test) from three addresses.
  for (int i = 0; i < 3; ++i) {
    auto s = login("alice@example.com", "wrong password " + std::to_string(i), "",
                   "203.0.113." + std::to_string(i));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error(), user_error::bad_credentials);
  }
  // Now even the right password from a fresh address is refused, before any verification.
  std::chrono::seconds retry_after{0};
  auto s = login("Alice@Example.com", good_password, "", "203.0.113.99", &retry_after);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), user_error::throttled);
  EXPECT_GT(retry_after.count(), 0);
  EXPECT_LE(retry_after.count(), 15 * 60);
  // Other accounts are not affected.
  EXPECT_TRUE(login("bob@example.com", good_password, "", "203.0.113.99").ok());
  // The next window lets her in.
  clock_.advance(retry_after);
  EXPECT_TRUE(login("alice@example.com", good_password, "", "203.0.113.99", &retry_after).ok());
  EXPECT_EQ(retry_after.count(), 0);
}

TEST_F(user_service_test, FailedLoginsAreThrottledPerAddress) {
  add_person("alice@example.com", role::member);
  const std::string ip = "2001:db8::7";
  for (int i = 0; i < 3; ++i) {
    auto s = login("guess" + std::to_string(i) + "@example.com", good_password, "", ip);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error(), user_error::bad_credentials);
  }
  std::chrono::seconds retry_after{0};
  auto s = login("alice@example.com", good_password, "", ip, &retry_after);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), user_error::throttled);
  EXPECT_GT(retry_after.count(), 0);
  // From elsewhere the account is fine: its own counter is clean.
  EXPECT_TRUE(login("alice@example.com", good_password, "", "2001:db8::8").ok());
}

TEST_F(user_service_test, SuccessfulLoginsAreNotCounted) {
  add_person("alice@example.com", role::member);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(login("alice@example.com", good_password, "", "192.0.2.50").ok()) << i;
  }
}

TEST_F(user_service_test, SeveralWorkspacesNeedAChoice) {
  const auto alice = add_person("alice@example.com", role::member);
  const auto ws2 = other_workspace();
  ASSERT_TRUE(service_
                  .invite(store_, people_, person(other_owner_id_, ws2), "alice@example.com",
                          "Alice", role::admin, ctx_)
                  .ok());
  auto unnamed = login("alice@example.com", good_password);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.error(), user_error::choose_workspace);
  // A wrong password never learns about the workspaces.
  auto wrong = login("alice@example.com", "wrong password!");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error(), user_error::bad_credentials);

  auto named = login("alice@example.com", good_password, ws2);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->record.workspace_id, ws2);
  EXPECT_EQ(authenticate(named.value())->member_role, role::admin);
  auto foreign = login("alice@example.com", good_password, domain::new_id("ws", random_));
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error(), user_error::bad_credentials);

  ASSERT_TRUE(service_.remove(store_, people_, person(other_owner_id_, ws2), alice, ctx_).ok());
  auto single = login("alice@example.com", good_password);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->record.workspace_id, ws_);
}

// ---- sessions -------------------------------------------------------------------------------

TEST_F(user_service_test, ASessionEndsAfterThirtyIdleMinutes) {
  add_person("alice@example.com", role::member);
  auto s = login("alice@example.com", good_password);
  ASSERT_TRUE(s.ok());
  clock_.advance(29min);
  ASSERT_TRUE(authenticate(s.value()));  // and touched
  EXPECT_EQ(people_.find_session(s->record.id_hash)->last_seen_at_us,
            clock_.now().time_since_epoch().count());
  clock_.advance(29min);
  ASSERT_TRUE(authenticate(s.value()));
  clock_.advance(30min);
  EXPECT_FALSE(authenticate(s.value()));
  EXPECT_EQ(people_.find_session(s->record.id_hash), std::nullopt);  // deleted, not just refused
}

TEST_F(user_service_test, ASessionEndsAfterTwelveHoursHoweverBusy) {
  add_person("alice@example.com", role::member);
  auto s = login("alice@example.com", good_password);
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 35; ++i) {  // 35 x 20 min = 11 h 40 min
    clock_.advance(20min);
    ASSERT_TRUE(authenticate(s.value())) << i;
  }
  clock_.advance(19min);  // 11:59
  ASSERT_TRUE(authenticate(s.value()));
  clock_.advance(1min);  // 12:00
  EXPECT_FALSE(authenticate(s.value()));
}

TEST_F(user_service_test, OnlyAValidSessionOfAMemberAuthenticates) {
  const auto alice = add_person("alice@example.com", role::member);
  auto s = login("alice@example.com", good_password);
  ASSERT_TRUE(s.ok());
  for (const std::string& cookie :
       {std::string(), std::string("x"), std::string(s->session_id.reveal()) + "A",
        s->record.id_hash, domain::new_session_token(random_)}) {
    EXPECT_FALSE(service_.authenticate_session(people_, directory_, cookie)) << cookie;
  }
  // A session row of someone who is no member (any more) authenticates nobody.
  const auto stranger = domain::new_session_token(random_);
  const auto now_us = clock_.now().time_since_epoch().count();
  people_.add_session(
      {infra::session_id_hash(stranger), alice, domain::new_id("ws", random_), now_us, now_us});
  EXPECT_FALSE(service_.authenticate_session(people_, directory_, stranger));
}

TEST_F(user_service_test, CsrfTokensAreBoundToTheirSession) {
  add_person("alice@example.com", role::member);
  auto a = login("alice@example.com", good_password);
  auto b = login("alice@example.com", good_password);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->csrf_token, b->csrf_token);
  EXPECT_TRUE(service_.csrf_valid(a->session_id.reveal(), a->csrf_token));
  EXPECT_FALSE(service_.csrf_valid(a->session_id.reveal(), b->csrf_token));
  EXPECT_FALSE(service_.csrf_valid(a->session_id.reveal(), ""));
  EXPECT_FALSE(service_.csrf_valid(a->session_id.reveal(), a->csrf_token + "A"));
  std::string altered = a->csrf_token;
  altered[5] = altered[5] == 'x' ? 'y' : 'x';
  EXPECT_FALSE(service_.csrf_valid(a->session_id.reveal(), altered));
}

TEST_F(user_service_test, LogoutEndsTheSession) {
  add_person("alice@example.com", role::member);
  auto a = login("alice@example.com", good_password);
  auto b = login("alice@example.com", good_password);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  service_.logout(people_, a->session_id.reveal());
  EXPECT_FALSE(authenticate(a.value()));
  EXPECT_TRUE(authenticate(b.value()));              // the other one lives on
  service_.logout(people_, a->session_id.reveal());  // twice is fine
  service_.logout(people_, "not a session");
  EXPECT_EQ(people_.session_count(), 1u);
}

// ---- bootstrap ------------------------------------------------------------------------------

TEST_F(user_service_test, BootstrapMakesAnOwnerWithAGeneratedPassword) {
  EXPECT_EQ(role_in(owner_id_), role::owner);
  ASSERT_EQ(owner_password_.size(), 24u);
  for (char c : owner_password_) {
    EXPECT_NE(domain::base62_alphabet.find(c), std::string_view::npos);
  }
  const auto events = store_.events();
  ASSERT_EQ(events.size(), 3u);  // one transaction: registered, password set, invited
  EXPECT_EQ(events[0].type, "UserRegistered");
  EXPECT_EQ(events[1].type, "UserPasswordSet");
  EXPECT_EQ(events[2].type, "MemberInvited");
  const auto invited = infra::decode_member_event(events[2].type, events[2].payload);
  ASSERT_TRUE(invited);
  const auto& m = std::get<domain::member_invited>(*invited);
  EXPECT_EQ(m.invited_by, "bootstrap");
  EXPECT_EQ(m.member_role, role::owner);
  EXPECT_EQ(m.invite_expires_at, std::nullopt);
  for (const auto& e : events) {
    EXPECT_EQ(e.payload.find(owner_password_), std::string::npos);
    EXPECT_EQ(e.metadata.find(owner_password_), std::string::npos);
  }
  auto s = login("owner@example.com", owner_password_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(authenticate(s.value())->member_role, role::owner);
}

TEST_F(user_service_test, BootstrapIsForAWorkspacesFirstMemberOnly) {
  const auto head = store_.head_seq();
  auto again = service_.bootstrap_owner(store_, people_, ws_, "owner@example.com", ctx_);
  ASSERT_FALSE(again.ok());
  auto other = service_.bootstrap_owner(store_, people_, ws_, "someone@example.com", ctx_);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(store_.head_seq(), head);
  auto bad = service_.bootstrap_owner(store_, people_, domain::new_id("ws", random_), "nope", ctx_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), user_error::invalid_email);
  EXPECT_TRUE(login("owner@example.com", owner_password_).ok());
}

TEST_F(user_service_test, BootstrapWithAKnownEmailMakesThatUserOwnerWithANewPassword) {
  const auto ws2 = domain::new_id("ws", random_);
  auto owner2 = service_.bootstrap_owner(store_, people_, ws2, "OWNER@example.com", ctx_);
  ASSERT_TRUE(owner2.ok());
  EXPECT_EQ(owner2->user_id, owner_id_);
  EXPECT_EQ(events_of_type("UserRegistered"), 1u);
  EXPECT_EQ(role_in(owner_id_, ws2), role::owner);
  EXPECT_EQ(role_in(owner_id_), role::owner);
  const std::string new_password(owner2->password.reveal());
  EXPECT_NE(new_password, owner_password_);
  EXPECT_FALSE(login("owner@example.com", owner_password_, ws_).ok());
  EXPECT_TRUE(login("owner@example.com", new_password, ws2).ok());
}

// ---- secrets stay out of the log ------------------------------------------------------------

TEST_F(user_service_test, NoTokenPasswordOrHashReachesTheLog) {
  auto inv = invite("alice@example.com", role::admin);
  const std::string token(inv.token.reveal());
  ASSERT_TRUE(
      service_.set_password(store_, people_, token, infra::secret(good_password), ctx_).ok());
  auto s = login("alice@example.com", good_password);
  ASSERT_TRUE(s.ok());
  const auto hash = *people_.password_hash(inv.user_id);
  for (const auto& e : store_.events()) {
    for (const std::string& secret_text :
         {token, good_password, hash, std::string(s->session_id.reveal()), s->record.id_hash,
          s->csrf_token}) {
      EXPECT_EQ(e.payload.find(secret_text), std::string::npos) << e.type;
      EXPECT_EQ(e.metadata.find(secret_text), std::string::npos) << e.type;
    }
  }
}

TEST(user_error_test, EveryErrorHasAName) {
  for (int i = 0; i <= static_cast<int>(user_error::throttled); ++i) {
    EXPECT_FALSE(to_string(static_cast<user_error>(i)).empty()) << i;
  }
  EXPECT_EQ(to_string(user_error::last_owner), "last_owner");
}

}  // namespace
}  // namespace keyledger::services
