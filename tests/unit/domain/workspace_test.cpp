#include "domain/workspace/workspace.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "fakes.hpp"

namespace keyledger::domain {
namespace {

using namespace std::string_literals;
using testing::fixed_clock;
using testing::fixed_instant;

create_workspace a_create_command(const clock& clk) {
  return create_workspace{
      "ws_0123456789ABCDEFGHIJKL", "acme-prod", "qg", key_policy{}, {}, clk.now()};
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
  EXPECT_EQ(
      r->front(),
      workspace_event{(workspace_created{
          "ws_0123456789ABCDEFGHIJKL", "acme-prod", "qg", fixed_instant(), key_policy{}, {}})});
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
  const auto state = evolve(workspace_state{},
                            workspace_created{"ws_1", "acme", "kl", clk.now(), key_policy{}, {}});
  EXPECT_TRUE(state.exists);
  EXPECT_EQ(state.version, 1u);
  EXPECT_EQ(state.workspace_id, "ws_1");
  EXPECT_EQ(state.name, "acme");
  EXPECT_EQ(state.key_prefix, "kl");
  EXPECT_EQ(state.created_at, fixed_instant());
}

// ---- scope catalog -------------------------------------------------------------------------

TEST(workspace_create, given_a_scope_catalog_then_it_is_carried_in_the_event_and_the_state) {
  const fixed_clock clk{fixed_instant()};
  auto c = a_create_command(clk);
  c.scope_catalog = {"leads:read", "leads:write", "calendar:read"};
  const auto r = decide(workspace_state{}, c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(std::get<workspace_created>(r->front()).scope_catalog, c.scope_catalog);
  EXPECT_EQ(evolve(workspace_state{}, r->front()).scope_catalog, c.scope_catalog);
}

std::vector<std::vector<std::string>> invalid_catalogs() {
  std::vector<std::string> too_many;
  for (int i = 0; i < 65; ++i) too_many.push_back("res" + std::to_string(i) + ":read");
  return {
      {"leads:read", "leads:read"},  // duplicate
      {"keys:read"},                 // management scopes are keyledger's, not the platform's
      {"leads:read", "workspace:admin"},
      {"Leads:read"},
      {"leads"},
      {""},
      {"leads:read "},
      too_many,
  };
}

TEST(workspace_create, given_an_invalid_scope_catalog_then_invalid_scopes) {
  const fixed_clock clk{fixed_instant()};
  for (const auto& catalog : invalid_catalogs()) {
    auto c = a_create_command(clk);
    c.scope_catalog = catalog;
    EXPECT_EQ(rejection_of(workspace_state{}, c), rejection::invalid_scopes) << catalog.size();
  }
  // 64 scopes is the limit, not past it.
  auto c = a_create_command(clk);
  for (int i = 0; i < 64; ++i) c.scope_catalog.push_back("res" + std::to_string(i) + ":read");
  EXPECT_TRUE(decide(workspace_state{}, c).ok());
}

// ---- settings --------------------------------------------------------------------------------

const std::string an_admin = "usr_0123456789ABCDEFGHIJKL";

// A workspace with the default policy and catalog {leads:read, leads:write}.
workspace_state a_workspace() {
  const fixed_clock clk{fixed_instant()};
  auto c = a_create_command(clk);
  c.scope_catalog = {"leads:read", "leads:write"};
  const auto r = decide(workspace_state{}, c);
  EXPECT_TRUE(r.ok());
  return r.ok() ? evolve(workspace_state{}, r->front()) : workspace_state{};
}

update_workspace_settings a_settings_command() {
  update_workspace_settings c;
  c.workspace_id = "ws_0123456789ABCDEFGHIJKL";
  c.changed_by = an_admin;
  c.now = fixed_instant() + std::chrono::hours{1};
  return c;
}

std::vector<workspace_event> events_of(const workspace_state& state,
                                       const workspace_command& command) {
  const auto r = decide(state, command);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
  return r.ok() ? r.value() : std::vector<workspace_event>{};
}

TEST(workspace_settings, given_no_workspace_then_workspace_not_found) {
  auto c = a_settings_command();
  c.policy = key_policy{std::chrono::days{30}, std::chrono::days{60}, false, true};
  EXPECT_EQ(rejection_of(workspace_state{}, c), rejection::workspace_not_found);
  // Even a command that changes nothing needs a workspace.
  EXPECT_EQ(rejection_of(workspace_state{}, a_settings_command()), rejection::workspace_not_found);
}

TEST(workspace_settings, given_a_new_policy_then_an_event_with_the_policy_only) {
  // Given a workspace with the default policy
  const auto state = a_workspace();
  // When the policy changes
  auto c = a_settings_command();
  c.policy = key_policy{std::chrono::days{30}, std::chrono::days{60}, true, false};
  const auto events = events_of(state, c);
  // Then one WorkspaceSettingsChanged with the policy, no catalog, the actor and the time
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(event_type(events.front()), "WorkspaceSettingsChanged");
  workspace_settings_changed expected;
  expected.workspace_id = state.workspace_id;
  expected.policy = c.policy;
  expected.changed_by = an_admin;
  expected.changed_at = c.now;
  EXPECT_EQ(events.front(), workspace_event{expected});
  // And the state takes the policy and keeps its catalog
  const auto after = evolve(state, events.front());
  EXPECT_EQ(after.policy, *c.policy);
  EXPECT_EQ(after.scope_catalog, state.scope_catalog);
  EXPECT_EQ(after.version, state.version + 1);
  EXPECT_EQ(after.name, state.name);
  EXPECT_EQ(after.key_prefix, state.key_prefix);
}

TEST(workspace_settings, given_a_new_catalog_then_an_event_with_the_catalog_only) {
  const auto state = a_workspace();
  auto c = a_settings_command();
  c.scope_catalog = std::vector<std::string>{"leads:read", "calendar:read"};
  const auto events = events_of(state, c);
  ASSERT_EQ(events.size(), 1u);
  const auto& e = std::get<workspace_settings_changed>(events.front());
  EXPECT_FALSE(e.policy.has_value());
  EXPECT_EQ(e.scope_catalog, c.scope_catalog);
  const auto after = evolve(state, events.front());
  EXPECT_EQ(after.scope_catalog, *c.scope_catalog);
  EXPECT_EQ(after.policy, state.policy);
}

TEST(workspace_settings, given_an_empty_catalog_then_the_catalog_is_cleared) {
  const auto state = a_workspace();
  auto c = a_settings_command();
  c.scope_catalog = std::vector<std::string>{};
  const auto events = events_of(state, c);
  ASSERT_EQ(events.size(), 1u);
  const auto& e = std::get<workspace_settings_changed>(events.front());
  ASSERT_TRUE(e.scope_catalog.has_value());
  EXPECT_TRUE(e.scope_catalog->empty());
  EXPECT_TRUE(evolve(state, events.front()).scope_catalog.empty());
}

TEST(workspace_settings, given_values_equal_to_the_current_ones_then_no_event_and_no_rejection) {
  const auto state = a_workspace();
  // Nothing asked
  EXPECT_TRUE(events_of(state, a_settings_command()).empty());
  // The same policy and the same catalog
  auto c = a_settings_command();
  c.policy = state.policy;
  c.scope_catalog = state.scope_catalog;
  EXPECT_TRUE(events_of(state, c).empty());
}

TEST(workspace_settings, given_one_member_equal_and_one_changed_then_only_the_changed_one) {
  const auto state = a_workspace();
  auto c = a_settings_command();
  c.policy = state.policy;
  c.scope_catalog = std::vector<std::string>{"leads:write", "leads:read"};  // order matters
  auto events = events_of(state, c);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(std::get<workspace_settings_changed>(events.front()).policy.has_value());
  EXPECT_EQ(std::get<workspace_settings_changed>(events.front()).scope_catalog, c.scope_catalog);

  c.policy = key_policy{std::chrono::days{7}, std::chrono::days{365}, false, true};
  c.scope_catalog = state.scope_catalog;
  events = events_of(state, c);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<workspace_settings_changed>(events.front()).policy, c.policy);
  EXPECT_FALSE(std::get<workspace_settings_changed>(events.front()).scope_catalog.has_value());
}

TEST(workspace_settings, given_both_changed_then_one_event_with_both) {
  const auto state = a_workspace();
  auto c = a_settings_command();
  c.policy = key_policy{std::chrono::days{7}, std::chrono::days{30}, true, true};
  c.scope_catalog = std::vector<std::string>{"messages:write"};
  const auto events = events_of(state, c);
  ASSERT_EQ(events.size(), 1u);
  const auto after = evolve(state, events.front());
  EXPECT_EQ(after.policy, *c.policy);
  EXPECT_EQ(after.scope_catalog, *c.scope_catalog);
}

TEST(workspace_settings, given_an_invalid_policy_then_invalid_key_policy_and_nothing_changes) {
  const auto state = a_workspace();
  using std::chrono::days;
  for (const key_policy& p :
       {key_policy{days{0}, days{365}, false, true}, key_policy{days{90}, days{30}, false, true},
        key_policy{days{90}, days{3651}, false, true}}) {
    auto c = a_settings_command();
    c.policy = p;
    EXPECT_EQ(rejection_of(state, c), rejection::invalid_key_policy);
    // A valid catalog change beside it does not get through on its own.
    c.scope_catalog = std::vector<std::string>{"messages:write"};
    EXPECT_EQ(rejection_of(state, c), rejection::invalid_key_policy);
  }
}

TEST(workspace_settings, given_an_invalid_catalog_then_invalid_scopes) {
  const auto state = a_workspace();
  for (const auto& catalog : invalid_catalogs()) {
    auto c = a_settings_command();
    c.scope_catalog = catalog;
    EXPECT_EQ(rejection_of(state, c), rejection::invalid_scopes) << catalog.size();
    // A valid policy change beside it does not get through on its own.
    c.policy = key_policy{std::chrono::days{7}, std::chrono::days{30}, true, true};
    EXPECT_EQ(rejection_of(state, c), rejection::invalid_scopes) << catalog.size();
  }
}

TEST(workspace_settings, evolve_applies_only_present_members) {
  const auto state = a_workspace();
  workspace_settings_changed nothing;
  nothing.workspace_id = state.workspace_id;
  nothing.changed_by = an_admin;
  nothing.changed_at = fixed_instant();
  const auto after = evolve(state, nothing);
  EXPECT_EQ(after.policy, state.policy);
  EXPECT_EQ(after.scope_catalog, state.scope_catalog);
  EXPECT_EQ(after.version, state.version + 1);
}

TEST(workspace_names, stream_id) { EXPECT_EQ(workspace_stream_id("ws_abc"), "workspace-ws_abc"); }

}  // namespace
}  // namespace keyledger::domain
