#include "domain/api_key.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "fakes.hpp"

namespace keyledger::domain {
namespace {

using namespace std::chrono;
using namespace std::string_literals;
using testing::fixed_clock;
using testing::fixed_instant;

const std::string a_hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

create_key a_create_command(const clock& clk) {
  create_key c;
  c.key_id = "key_0123456789ABCDEFGHIJKL";
  c.workspace_id = "ws_0123456789ABCDEFGHIJKL";
  c.name = "ci-deploy";
  c.env = environment::live;
  c.scopes = {"leads:read", "leads:write"};
  c.key_hash = a_hash;
  c.start = "kl_live_AbC1";
  c.now = clk.now();
  return c;
}

api_key_state an_active_key(const clock& clk) {
  const auto events = decide(api_key_state{}, a_create_command(clk));
  EXPECT_TRUE(events.ok());
  return replay(events.value());
}

rejection rejection_of(const api_key_state& state, const api_key_command& command) {
  const auto r = decide(state, command);
  EXPECT_FALSE(r.ok());
  return r.ok() ? rejection::key_not_found : r.error();
}

// ---- create --------------------------------------------------------------------------------

TEST(api_key_create, given_no_key_when_created_then_one_key_created_event_with_every_field) {
  // Given no key and a fixed clock
  const fixed_clock clk{fixed_instant()};
  const auto command = a_create_command(clk);
  // When create_key is decided
  const auto r = decide(api_key_state{}, command);
  // Then exactly one KeyCreated carrying the command's fields and the clock's time
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  const auto* e = std::get_if<key_created>(&r->front());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(*e, (key_created{command.key_id, command.workspace_id, command.name, command.env,
                             command.scopes, command.key_hash, command.start, fixed_instant()}));
  EXPECT_EQ(event_type(r->front()), "KeyCreated");
}

TEST(api_key_create, given_an_existing_key_when_created_again_then_key_already_exists) {
  const fixed_clock clk{fixed_instant()};
  const auto state = an_active_key(clk);
  EXPECT_EQ(rejection_of(state, a_create_command(clk)), rejection::key_already_exists);
}

TEST(api_key_create, given_a_revoked_key_when_created_again_then_key_already_exists) {
  const fixed_clock clk{fixed_instant()};
  const auto state = evolve(an_active_key(clk), key_revoked{"key_x", clk.now()});
  EXPECT_EQ(rejection_of(state, a_create_command(clk)), rejection::key_already_exists);
}

TEST(api_key_create, given_a_bad_name_then_invalid_name) {
  const fixed_clock clk{fixed_instant()};
  for (const std::string& name :
       {""s, std::string(65, 'a'), "has space"s, "tab\there"s, "na\xc3\xafve"s, "a/b"s, "a:b"s,
        "nul\0x"s, "emoji\xf0\x9f\x94\x91"s, "<script>"s}) {
    auto c = a_create_command(clk);
    c.name = name;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_name) << name;
  }
}

TEST(api_key_create, given_good_names_then_accepted) {
  const fixed_clock clk{fixed_instant()};
  for (const std::string& name : {"a"s, std::string(64, 'Z'), "ci.deploy-key_1"s, "0"s, "..."s}) {
    auto c = a_create_command(clk);
    c.name = name;
    EXPECT_TRUE(decide(api_key_state{}, c).ok()) << name;
    EXPECT_TRUE(valid_key_name(name));
  }
}

TEST(api_key_create, given_bad_scopes_then_invalid_scopes) {
  const fixed_clock clk{fixed_instant()};
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
    auto c = a_create_command(clk);
    c.scopes = scopes;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_scopes)
        << (scopes.empty() ? "" : scopes.front());
  }
}

TEST(api_key_create, given_good_scopes_then_accepted) {
  const fixed_clock clk{fixed_instant()};
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
    auto c = a_create_command(clk);
    c.scopes = scopes;
    EXPECT_TRUE(decide(api_key_state{}, c).ok()) << (scopes.empty() ? "" : scopes.front());
    EXPECT_TRUE(valid_scopes(scopes));
  }
}

TEST(api_key_create, given_a_hash_that_is_not_64_lowercase_hex_then_invalid_key_hash) {
  const fixed_clock clk{fixed_instant()};
  std::string upper = a_hash;
  upper[10] = 'A';
  std::string non_hex = a_hash;
  non_hex[0] = 'g';
  for (const std::string& hash : {""s, a_hash.substr(1), a_hash + "0", upper, non_hex,
                                  std::string(64, ' '), a_hash.substr(0, 63) + "\0"s}) {
    auto c = a_create_command(clk);
    c.key_hash = hash;
    EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_key_hash) << hash;
  }
}

TEST(api_key_create, given_an_empty_start_then_invalid_key_start) {
  const fixed_clock clk{fixed_instant()};
  auto c = a_create_command(clk);
  c.start.clear();
  EXPECT_EQ(rejection_of(api_key_state{}, c), rejection::invalid_key_start);
}

// ---- revoke --------------------------------------------------------------------------------

TEST(api_key_revoke, given_no_key_when_revoked_then_key_not_found) {
  const fixed_clock clk{fixed_instant()};
  EXPECT_EQ(rejection_of(api_key_state{}, revoke_key{"key_missing", clk.now()}),
            rejection::key_not_found);
}

TEST(api_key_revoke, given_an_active_key_when_revoked_then_one_key_revoked_event) {
  // Given an active key
  const fixed_clock created{fixed_instant()};
  const auto state = an_active_key(created);
  // When revoked an hour later
  const fixed_clock later{fixed_instant() + hours{1}};
  const auto r = decide(state, revoke_key{state.key_id, later.now()});
  // Then one KeyRevoked at that time
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(), api_key_event{(key_revoked{state.key_id, later.now()})});
  EXPECT_EQ(event_type(r->front()), "KeyRevoked");
}

TEST(api_key_revoke, given_a_revoked_key_when_revoked_again_then_key_already_revoked) {
  const fixed_clock clk{fixed_instant()};
  auto state = an_active_key(clk);
  const auto first = decide(state, revoke_key{state.key_id, clk.now()});
  ASSERT_TRUE(first.ok());
  for (const auto& e : first.value()) state = evolve(state, e);
  EXPECT_EQ(rejection_of(state, revoke_key{state.key_id, clk.now()}),
            rejection::key_already_revoked);
}

// ---- evolve and replay ---------------------------------------------------------------------

TEST(api_key_evolve, given_key_created_then_state_holds_its_fields_and_version_1) {
  const fixed_clock clk{fixed_instant()};
  const auto c = a_create_command(clk);
  const auto state = evolve(api_key_state{}, key_created{c.key_id, c.workspace_id, c.name, c.env,
                                                         c.scopes, c.key_hash, c.start, c.now});
  EXPECT_EQ(state.version, 1u);
  EXPECT_TRUE(state.exists);
  EXPECT_EQ(state.key_id, c.key_id);
  EXPECT_EQ(state.workspace_id, c.workspace_id);
  EXPECT_EQ(state.name, c.name);
  EXPECT_EQ(state.env, c.env);
  EXPECT_EQ(state.scopes, c.scopes);
  EXPECT_EQ(state.key_hash, c.key_hash);
  EXPECT_EQ(state.start, c.start);
  EXPECT_EQ(state.status, key_status::active);
  EXPECT_EQ(state.created_at, fixed_instant());
  EXPECT_FALSE(state.revoked_at.has_value());
}

TEST(api_key_evolve, given_key_revoked_then_status_revoked_time_set_and_version_incremented) {
  const fixed_clock clk{fixed_instant()};
  const auto before = an_active_key(clk);
  const auto when = fixed_instant() + minutes{5};
  const auto after = evolve(before, key_revoked{before.key_id, when});
  EXPECT_EQ(after.version, before.version + 1);
  EXPECT_EQ(after.status, key_status::revoked);
  EXPECT_EQ(after.revoked_at, when);
  // And nothing else changed
  EXPECT_EQ(after.name, before.name);
  EXPECT_EQ(after.key_hash, before.key_hash);
  EXPECT_EQ(after.created_at, before.created_at);
}

TEST(api_key_replay, given_no_events_then_the_empty_state) {
  const auto state = replay({});
  EXPECT_EQ(state.version, 0u);
  EXPECT_FALSE(state.exists);
}

TEST(api_key_replay, given_the_events_decided_so_far_then_the_same_state_as_stepwise_evolve) {
  // Given a key created then revoked through decide
  const fixed_clock clk{fixed_instant()};
  std::vector<api_key_event> log;
  api_key_state stepwise;
  for (const api_key_command& command :
       {api_key_command{a_create_command(clk)},
        api_key_command{revoke_key{"key_0123456789ABCDEFGHIJKL", clk.now() + seconds{30}}}}) {
    const auto r = decide(stepwise, command);
    ASSERT_TRUE(r.ok()) << to_string(r.error());
    for (const auto& e : r.value()) {
      stepwise = evolve(stepwise, e);
      log.push_back(e);
    }
  }
  // When the log is replayed
  const auto replayed = replay(log);
  // Then it matches
  EXPECT_EQ(replayed.version, 2u);
  EXPECT_EQ(replayed.status, key_status::revoked);
  EXPECT_EQ(replayed.revoked_at, clk.now() + seconds{30});
  EXPECT_EQ(replayed.key_id, stepwise.key_id);
  EXPECT_EQ(replayed.version, stepwise.version);
  EXPECT_EQ(replayed.status, stepwise.status);
  EXPECT_EQ(replayed.revoked_at, stepwise.revoked_at);
}

// ---- names ---------------------------------------------------------------------------------

TEST(api_key_names, stream_id_and_status_and_rejection_names) {
  EXPECT_EQ(key_stream_id("key_abc"), "api_key-key_abc");
  EXPECT_EQ(to_string(key_status::active), "active");
  EXPECT_EQ(to_string(key_status::revoked), "revoked");
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
  };
  for (const auto& [r, name] : expected) EXPECT_EQ(to_string(r), name);
}

}  // namespace
}  // namespace keyledger::domain
