#pragma once

// Builders shared by the grant tests (oauth_grant_test.cpp, oauth_grant_refresh_test.cpp): one
// grant's ids, a valid command of each kind at an injected instant, and given/when helpers that
// fold events into a state and decide a command against it.

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "domain/oauth/grant.hpp"
#include "tests/unit/domain/fakes.hpp"

namespace keyledger::domain::oauth::grant_testing {

using namespace std::chrono_literals;

inline const std::string grant_id = "grt_0123456789abcdefghijkl";
inline const std::string client_id = "cli_0123456789abcdefghijkl";
inline const std::string other_client_id = "cli_ZYXWVUTSRQPONMLKJIHGFE";
inline const std::string user_id = "usr_0123456789abcdefghijkl";
inline const std::string workspace_id = "ws_0123456789abcdefghijkl";
inline const std::string family_id = "rtf_0123456789abcdefghijkl";
inline const std::string second_family_id = "rtf_ZYXWVUTSRQPONMLKJIHGFE";
inline const std::string redirect_uri = "https://app.example.com/callback";
/// RFC 7636 appendix B: S256 of its example verifier.
inline const std::string challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
inline const std::string other_challenge = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
inline const std::string resource = "https://api.example.com/";

/// A keyed hash: 64 lowercase hex characters, all `c`.
inline std::string hash(char c) { return std::string(64, c); }
inline const std::string code_hash = hash('c');
inline const std::string refresh_1 = hash('1');
inline const std::string refresh_2 = hash('2');
inline const std::string refresh_3 = hash('3');

/// The injected instant every test starts from.
inline timestamp t0() { return testing::fixed_instant(); }

inline constexpr std::chrono::seconds idle_lifetime = std::chrono::days(1);
inline constexpr std::chrono::seconds absolute_lifetime = std::chrono::days(7);

// ---- events -----------------------------------------------------------------------------------

inline grant_created created(std::vector<std::string> scopes = {"leads:read", "leads:write"}) {
  return {grant_id, client_id, user_id, workspace_id, std::move(scopes), t0()};
}

inline code_issued issued(std::string hash = code_hash, timestamp at = t0(),
                          std::vector<std::string> scopes = {"leads:read", "leads:write"}) {
  return {grant_id,          std::move(hash), redirect_uri, challenge,
          std::move(scopes), resource,        at,           at + code_lifetime};
}

inline code_redeemed redeemed(std::string hash = code_hash, std::string family = family_id,
                              std::string refresh = refresh_1, timestamp at = t0() + 10s) {
  return {grant_id, std::move(hash),    std::move(family),     std::move(refresh),
          at,       at + idle_lifetime, at + absolute_lifetime};
}

// ---- commands ---------------------------------------------------------------------------------

inline consent consent_to(std::vector<std::string> scopes, timestamp now = t0()) {
  return {grant_id, client_id, user_id, workspace_id, std::move(scopes), now};
}

inline issue_code issue(std::vector<std::string> scopes = {"leads:read"}, timestamp now = t0()) {
  return {grant_id, code_hash, redirect_uri, challenge, std::move(scopes), resource, now};
}

/// What a correct token request for `issued()` presents.
inline redeem_code redeem(timestamp now = t0() + 10s, std::string family = family_id,
                          std::string refresh = refresh_1) {
  return {grant_id,          code_hash,          client_id,     redirect_uri,      challenge,
          std::move(family), std::move(refresh), idle_lifetime, absolute_lifetime, now};
}

inline rotate_refresh rotate(std::string presented, std::string next, timestamp now,
                             std::vector<std::string> scopes = {}) {
  return {grant_id,          std::move(presented), client_id, std::move(next),
          std::move(scopes), idle_lifetime,        now};
}

// ---- given / when ----------------------------------------------------------------------------

/// The state these events fold into, in order.
inline grant_state given(std::initializer_list<grant_event> events) {
  grant_state s;
  for (const auto& e : events) s = evolve(std::move(s), e);
  return s;
}

/// A grant with one code redeemed into `family_id` (refresh token `refresh_1`).
inline grant_state given_a_family() { return given({created(), issued(), redeemed()}); }

/// The events `command` decides; fails the test if it was refused.
inline std::vector<grant_event> when(const grant_state& s, const grant_command& command) {
  auto r = decide(s, command);
  EXPECT_TRUE(r.ok()) << to_string(r.error());
  if (!r.ok()) return {};
  return r.value();
}

/// The state after `command`'s events (the command must be accepted).
inline grant_state after(grant_state s, const grant_command& command) {
  for (const auto& e : when(s, command)) s = evolve(std::move(s), e);
  return s;
}

/// Why `command` was refused; nullopt if it was accepted.
inline std::optional<grant_rejection> refusal(const grant_state& s, const grant_command& command) {
  auto r = decide(s, command);
  if (r.ok()) return std::nullopt;
  return r.error();
}

/// The one event of this type `command` decides.
template <class Event>
Event the_one(const grant_state& s, const grant_command& command) {
  const auto events = when(s, command);
  EXPECT_EQ(events.size(), 1u);
  if (events.size() != 1 || !std::holds_alternative<Event>(events.front())) {
    ADD_FAILURE() << "not the one expected event";
    return {};
  }
  return std::get<Event>(events.front());
}

}  // namespace keyledger::domain::oauth::grant_testing
