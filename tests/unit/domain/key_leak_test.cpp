// Leaked-key reports: report_leak decides KeyLeaked and, for a key still usable, KeyRevoked or
// KeyDisabled per the workspace's on_leak; the URL and source rules; the on_leak setting.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/keys/key_format.hpp"
#include "domain/keys/leak_report.hpp"
#include "domain/workspace/workspace.hpp"
#include "fakes.hpp"
#include "key_fixtures.hpp"

namespace keyledger::domain {
namespace {

using namespace std::chrono;
using testing::a_create_command;
using testing::a_key;
using testing::a_rotate_command;
using testing::apply;
using testing::events_of;
using testing::fixed_instant;
using testing::rejection_of;
using testing::rotate;

const timestamp t0 = fixed_instant();
const std::string a_url =
    "https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/a.txt";

report_leak a_report(const api_key_state& key, timestamp now,
                     leak_action on_leak = leak_action::revoke) {
  return report_leak{key.key_id, a_url, "content", on_leak, now};
}

key_leaked leaked(const api_key_state& key, leak_response action, timestamp at) {
  return key_leaked{key.key_id, a_url, "content", action, at};
}

// ---- decide ----------------------------------------------------------------------------------

TEST(key_leak, given_a_live_key_under_revoke_then_leaked_and_revoked_at_once) {
  const auto key = a_key();
  const auto now = t0 + hours{1};
  const auto events = events_of(key, a_report(key, now));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], api_key_event{leaked(key, leak_response::revoked, now)});
  EXPECT_EQ(events[1], api_key_event{(key_revoked{key.key_id, now})});
  EXPECT_EQ(event_type(events[0]), "KeyLeaked");
  // Then the key is revoked, and the state remembers the report
  auto after = key;
  for (const auto& e : events) after = evolve(after, e);
  EXPECT_EQ(after.status_at(now), key_status::revoked);
  EXPECT_EQ(after.leaked_at, now);
  EXPECT_EQ(after.version, key.version + 2);
}

TEST(key_leak, given_a_live_key_under_disable_then_leaked_and_disabled) {
  const auto key = a_key();
  const auto now = t0 + hours{1};
  const auto events = events_of(key, a_report(key, now, leak_action::disable));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], api_key_event{leaked(key, leak_response::disabled, now)});
  EXPECT_EQ(events[1], api_key_event{(key_disabled{key.key_id, now})});
  auto after = key;
  for (const auto& e : events) after = evolve(after, e);
  EXPECT_EQ(after.status_at(now), key_status::disabled);
}

TEST(key_leak, given_a_disabled_key_under_revoke_then_it_is_revoked_all_the_same) {
  auto c = a_create_command(t0);
  c.settings.enabled = false;
  const auto key = a_key(c);
  const auto events = events_of(key, a_report(key, t0 + hours{1}));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<key_leaked>(events[0]).action, leak_response::revoked);
  EXPECT_TRUE(std::holds_alternative<key_revoked>(events[1]));
}

TEST(key_leak, given_a_key_already_refused_then_only_the_report_is_recorded) {
  const auto key = a_key();
  const auto now = t0 + hours{2};
  auto c = a_create_command(t0);
  c.settings.enabled = false;
  const struct {
    const char* what;
    api_key_state state;
    timestamp at;
    leak_action on_leak;
  } cases[] = {
      {"revoked", apply(key, revoke_key{key.key_id, t0 + hours{1}}), now, leak_action::revoke},
      {"expired", key, *key.expires_at, leak_action::revoke},
      {"disabled under disable", a_key(c), now, leak_action::disable},
  };
  for (const auto& k : cases) {
    const auto events = events_of(k.state, a_report(k.state, k.at, k.on_leak));
    ASSERT_EQ(events.size(), 1u) << k.what;
    EXPECT_EQ(events[0], api_key_event{leaked(k.state, leak_response::none, k.at)}) << k.what;
  }
}

TEST(key_leak, given_a_key_in_its_rotation_grace_then_it_is_revoked) {
  const auto [old_after, new_key] = rotate(a_key(), a_rotate_command(t0 + hours{1}, hours{6}));
  const auto events = events_of(old_after, a_report(old_after, t0 + hours{2}));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<key_leaked>(events[0]).action, leak_response::revoked);
}

TEST(key_leak, given_no_key_then_key_not_found) {
  EXPECT_EQ(rejection_of(api_key_state{},
                         report_leak{"key_missing", a_url, "content", leak_action::revoke, t0}),
            rejection::key_not_found);
}

TEST(key_leak, given_a_url_or_source_an_event_may_not_hold_then_invalid_leak_report) {
  const auto key = a_key();
  const std::string too_long(max_leak_url_length + 1, 'a');
  for (const std::string& url : {too_long, std::string("https://x.example/a b"),
                                 std::string("https://x.example/\n"), std::string("\x7f")}) {
    auto r = a_report(key, t0);
    r.url = url;
    EXPECT_EQ(rejection_of(key, r), rejection::invalid_leak_report) << url.substr(0, 40);
  }
  for (const std::string& source : {std::string(), std::string(65, 'a'), std::string("con tent"),
                                    std::string("content\n"), std::string("c\xc3\xa9")}) {
    auto r = a_report(key, t0);
    r.source = source;
    EXPECT_EQ(rejection_of(key, r), rejection::invalid_leak_report) << source;
  }
}

TEST(key_leak, a_reported_type_is_printable_ascii_of_at_most_128) {
  EXPECT_TRUE(valid_leak_type("keyledger_api_key"));
  EXPECT_TRUE(valid_leak_type(std::string(max_leak_type_length, 't')));
  for (const std::string& bad : {std::string(), std::string(max_leak_type_length + 1, 't'),
                                 std::string("a b"), std::string("a\n"), std::string("\xc3\xa9")}) {
    EXPECT_FALSE(valid_leak_type(bad)) << bad;
  }
}

TEST(key_leak, given_an_empty_url_then_it_is_recorded_empty) {
  const auto key = a_key();
  auto r = a_report(key, t0);
  r.url = "";
  const auto events = events_of(key, r);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(std::get<key_leaked>(events[0]).url, "");
}

TEST(key_leak, given_a_url_that_holds_a_key_then_the_url_is_withheld) {
  // A URL is the reporter's text: it could carry a secret, and events never hold one.
  testing::seeded_random random(7);
  const auto secret = generate_key("kl", environment::live, random);
  const auto key = a_key();
  auto r = a_report(key, t0);
  r.url = "https://gist.github.com/x?token=" + secret;
  const auto events = events_of(key, r);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(std::get<key_leaked>(events[0]).url, "");
  EXPECT_EQ(recorded_leak_url(a_url), a_url);
}

TEST(key_leak, names_of_actions_and_responses_round_trip) {
  for (const auto a : {leak_action::revoke, leak_action::disable}) {
    EXPECT_EQ(parse_leak_action(to_string(a)), a);
  }
  for (const auto r : {leak_response::revoked, leak_response::disabled, leak_response::none}) {
    EXPECT_EQ(parse_leak_response(to_string(r)), r);
  }
  EXPECT_EQ(to_string(leak_action::revoke), "revoke");
  EXPECT_EQ(to_string(leak_response::none), "none");
  EXPECT_FALSE(parse_leak_action("Revoke"));
  EXPECT_FALSE(parse_leak_action(""));
  EXPECT_FALSE(parse_leak_response("revoke"));
  EXPECT_EQ(to_string(rejection::invalid_leak_report), "invalid_leak_report");
}

// ---- the workspace setting -------------------------------------------------------------------

workspace_state a_workspace() {
  create_workspace c{"ws_0123456789ABCDEFGHIJKL", "acme", "qg", {}, {}, t0};
  const auto r = decide(workspace_state{}, c);
  EXPECT_TRUE(r.ok());
  return r.ok() ? evolve(workspace_state{}, r->front()) : workspace_state{};
}

TEST(workspace_on_leak, defaults_to_revoke_and_changes_with_an_event) {
  const auto ws = a_workspace();
  EXPECT_EQ(ws.on_leak, leak_action::revoke);
  update_workspace_settings c;
  c.workspace_id = ws.workspace_id;
  c.changed_by = "usr_0123456789ABCDEFGHIJKL";
  c.now = t0 + hours{1};
  c.on_leak = leak_action::disable;
  const auto r = decide(ws, c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  const auto& e = std::get<workspace_settings_changed>(r->front());
  EXPECT_EQ(e.on_leak, leak_action::disable);
  EXPECT_FALSE(e.policy);
  EXPECT_FALSE(e.scope_catalog);
  const auto after = evolve(ws, r->front());
  EXPECT_EQ(after.on_leak, leak_action::disable);
  // The same value again changes nothing; other settings leave it as it is
  const auto again = decide(after, c);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  workspace_settings_changed catalog_only;
  catalog_only.scope_catalog = std::vector<std::string>{"leads:read"};
  EXPECT_EQ(evolve(after, catalog_only).on_leak, leak_action::disable);
}

}  // namespace
}  // namespace keyledger::domain
