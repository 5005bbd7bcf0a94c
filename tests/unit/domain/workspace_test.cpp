#include "domain/workspace.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>

#include "fakes.hpp"

namespace keyledger::domain {
namespace {

using namespace std::string_literals;
using testing::fixed_clock;
using testing::fixed_instant;

create_workspace a_create_command(const clock& clk) {
  return create_workspace{"ws_0123456789ABCDEFGHIJKL", "acme-prod", "qg", key_policy{}, {}, clk.now()};
}

rejection rejection_of(const workspace_state& state, const workspace_command& command) {
  const auto r = decide(state, command);
  EXPECT_FALSE(r.ok());
  return r.ok() ? rejection::key_not_found : r.error();
}

TEST(workspace_create, given_no_workspace_when_created_then_one_workspace_created_event) {
  // Given no workspace
  const fixed_clock clk{fixed_instant()};
  // When create_workspace is decided
  const auto r = decide(workspace_state{}, a_create_command(clk));
  // Then one WorkspaceCreated with the command's fields at the clock's time
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(), workspace_event{(workspace_created{"ws_0123456789ABCDEFGHIJKL", "acme-prod",
                                                           "qg", fixed_instant(), key_policy{}})});
  EXPECT_EQ(event_type(r->front()), "WorkspaceCreated");
}

TEST(workspace_create, given_an_existing_workspace_when_created_again_then_already_exists) {
  const fixed_clock clk{fixed_instant()};
  const auto first = decide(workspace_state{}, a_create_command(clk));
  ASSERT_TRUE(first.ok());
  const auto state = evolve(workspace_state{}, first->front());
  EXPECT_EQ(rejection_of(state, a_create_command(clk)), rejection::workspace_already_exists);
}

TEST(workspace_create, given_a_bad_name_then_invalid_workspace_name) {
  const fixed_clock clk{fixed_instant()};
  for (const std::string& name :
       {""s, std::string(64, 'a'), "-leading"s, "Acme"s, "acme_prod"s, "acme prod"s, "acme.io"s,
        "\xc3\xa9t\xc3\xa9"s, "a\0b"s, "acme\n"s}) {
    auto c = a_create_command(clk);
    c.name = name;
    EXPECT_EQ(rejection_of(workspace_state{}, c), rejection::invalid_workspace_name) << name;
  }
}

TEST(workspace_create, given_good_names_then_accepted) {
  const fixed_clock clk{fixed_instant()};
  for (const std::string& name : {"a"s, "0"s, std::string(63, 'z'), "acme-prod-2"s, "9-"s}) {
    auto c = a_create_command(clk);
    c.name = name;
    EXPECT_TRUE(decide(workspace_state{}, c).ok()) << name;
    EXPECT_TRUE(valid_workspace_name(name));
  }
}

TEST(workspace_create, given_a_bad_key_prefix_then_invalid_key_prefix) {
  const fixed_clock clk{fixed_instant()};
  for (const std::string& prefix : {""s, "q"s, "QG"s, "1q"s, "q_g"s, "abcdefghijk"s, "q-g"s}) {
    auto c = a_create_command(clk);
    c.key_prefix = prefix;
    EXPECT_EQ(rejection_of(workspace_state{}, c), rejection::invalid_key_prefix) << prefix;
  }
}

TEST(workspace_create, given_a_key_policy_then_it_is_carried_in_the_event) {
  // Given a workspace that forbids spaces in key names and allows keys without expiry
  const fixed_clock clk{fixed_instant()};
  auto c = a_create_command(clk);
  c.policy = key_policy{std::chrono::days{30}, std::chrono::days{180}, true, false};
  // When created
  const auto r = decide(workspace_state{}, c);
  // Then WorkspaceCreated carries the policy, and the state holds it
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(std::get<workspace_created>(r->front()).policy, c.policy);
  EXPECT_EQ(evolve(workspace_state{}, r->front()).policy, c.policy);
}

TEST(workspace_create, given_an_invalid_key_policy_then_invalid_key_policy) {
  const fixed_clock clk{fixed_instant()};
  using std::chrono::days;
  for (const key_policy& p :
       {key_policy{days{0}, days{365}, false, true}, key_policy{days{90}, days{30}, false, true},
        key_policy{days{90}, days{3651}, false, true},
        key_policy{days{-5}, days{-1}, false, true}}) {
    auto c = a_create_command(clk);
    c.policy = p;
    EXPECT_EQ(rejection_of(workspace_state{}, c), rejection::invalid_key_policy)
        << p.default_lifespan.count() << "/" << p.max_lifespan.count();
  }
}

TEST(workspace_evolve, given_workspace_created_then_state_holds_it_and_version_1) {
  const fixed_clock clk{fixed_instant()};
  const auto state =
      evolve(workspace_state{}, workspace_created{"ws_1", "acme", "kl", clk.now(), key_policy{}});
  EXPECT_TRUE(state.exists);
  EXPECT_EQ(state.version, 1u);
  EXPECT_EQ(state.workspace_id, "ws_1");
  EXPECT_EQ(state.name, "acme");
  EXPECT_EQ(state.key_prefix, "kl");
  EXPECT_EQ(state.created_at, fixed_instant());
}

TEST(workspace_names, stream_id) { EXPECT_EQ(workspace_stream_id("ws_abc"), "workspace-ws_abc"); }

}  // namespace
}  // namespace keyledger::domain
