#pragma once

// Builders shared by the api_key decide tests: one valid command of each kind at a fixed instant,
// and helpers that apply decisions to a state.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "fakes.hpp"

namespace keyledger::domain::testing {

inline const std::string a_hash =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
inline const std::string another_hash =
    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
inline const std::string a_key_id = "key_0123456789ABCDEFGHIJKL";
inline const std::string a_new_key_id = "key_NEW3456789ABCDEFGHIJKL";
inline const std::string a_workspace_id = "ws_0123456789ABCDEFGHIJKL";

/// A valid create_key at `now` that sets every setting (expires in 90 days).
inline create_key a_create_command(timestamp now = fixed_instant()) {
  create_key c;
  c.key_id = a_key_id;
  c.workspace_id = a_workspace_id;
  c.settings.name = "ci-deploy";
  c.env = environment::live;
  c.settings.scopes = {"leads:read", "leads:write"};
  c.key_hash = a_hash;
  c.start = "kl_live_AbC1";
  c.expires_at = now + std::chrono::days{90};
  c.settings.allowed_cidrs = {"10.0.0.0/8", "2001:db8::/32"};
  c.settings.postback_url = "https://example.com/hooks";
  c.settings.off_the_record = false;
  c.settings.enabled = true;
  c.settings.limit = rate_limit{100, 60};
  c.now = now;
  return c;
}

/// Applies the events of a successful decision (fails the test otherwise).
inline api_key_state apply(api_key_state state, const api_key_command& command) {
  const auto r = decide(state, command);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
  if (!r.ok()) return state;
  for (const auto& e : r.value()) state = evolve(std::move(state), e);
  return state;
}

/// The key created by a_create_command(now), or by `c`.
inline api_key_state a_key(const create_key& c = a_create_command()) {
  return apply(api_key_state{}, c);
}

/// The rejection of a command expected to be refused.
inline rejection rejection_of(const api_key_state& state, const api_key_command& command) {
  const auto r = decide(state, command);
  EXPECT_FALSE(r.ok());
  return r.ok() ? rejection::key_already_exists : r.error();
}

/// The events of a command expected to succeed (empty on failure, after failing the test).
inline std::vector<api_key_event> events_of(const api_key_state& state,
                                            const api_key_command& command) {
  const auto r = decide(state, command);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
  return r.ok() ? r.value() : std::vector<api_key_event>{};
}

/// A valid rotation of `old_key` at `now` with the given grace.
inline rotate_key a_rotate_command(timestamp now, std::chrono::seconds grace = default_grace_period,
                                   std::string new_key_id = a_new_key_id) {
  rotate_key c;
  c.key_id = a_key_id;
  c.new_key_id = std::move(new_key_id);
  c.new_key_hash = another_hash;
  c.new_start = "kl_live_XyZ9";
  c.grace_period = grace;
  c.now = now;
  return c;
}

/// Applies a successful rotation; returns {old key after KeyRotated, new key}.
struct rotated_pair {
  api_key_state old_key;
  api_key_state new_key;
};
inline rotated_pair rotate(const api_key_state& old_key, const rotate_key& c) {
  const auto r = decide_rotation(old_key, c);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
  if (!r.ok()) return {old_key, {}};
  return {evolve(old_key, r->old_key_event), evolve(api_key_state{}, r->new_key_event)};
}

}  // namespace keyledger::domain::testing
