#include "domain/keys/api_key.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/keys/key_format.hpp"
#include "domain/net.hpp"
#include "domain/overloaded.hpp"
#include "domain/people/user.hpp"
#include "domain/text.hpp"
#include "domain/workspace/workspace.hpp"

namespace keyledger::domain {

namespace {

using decision = result<std::vector<api_key_event>, rejection>;

// The visible start is "<prefix>_<env>_" plus 4 characters: at most 10 + 1 + 4 + 1 + 4.
constexpr std::size_t max_key_start_length = 20;

// The start is shown in listings and stored in events, so it must never be a whole key (a
// caller bug passing the secret instead of its visible start would otherwise leak it).
bool valid_key_start(std::string_view start) noexcept {
  if (start.empty() || start.size() > max_key_start_length) return false;
  if (!std::all_of(start.begin(), start.end(),
                   [](char c) { return is_ascii_alnum(c) || c == '_'; })) {
    return false;
  }
  return !parse_key(start).ok();
}

// ---- decide ------------------------------------------------------------------------------

bool valid_expiry(const std::optional<timestamp>& expires_at, const key_policy& policy,
                  timestamp now) noexcept {
  if (!expires_at) return policy.allow_no_expiry;
  return *expires_at > now && *expires_at <= now + policy.max_lifespan;
}

// CIDRs in commands and events are already canonical: anything else means the caller skipped
// normalize_cidrs, and storing a non-canonical form would make equal settings compare unequal.
bool canonical_cidrs(const std::vector<std::string>& cidrs) {
  const auto normalized = normalize_cidrs(cidrs);
  return normalized.has_value() && *normalized == cidrs;
}

bool is_expired_at(const api_key_state& state, timestamp now) noexcept {
  return state.expires_at.has_value() && *state.expires_at <= now;
}

decision decide_create(const api_key_state& state, const create_key& c) {
  if (state.exists) return rejection::key_already_exists;
  if (!valid_key_policy(c.policy)) return rejection::invalid_key_policy;
  if (!valid_key_name(c.settings.name, c.policy.names_allow_spaces)) return rejection::invalid_name;
  if (!valid_scopes(c.settings.scopes)) return rejection::invalid_scopes;
  if (!is_keyed_hash(c.key_hash)) return rejection::invalid_key_hash;
  if (!valid_key_start(c.start)) return rejection::invalid_key_start;
  if (!valid_expiry(c.expires_at, c.policy, c.now)) return rejection::invalid_expiry;
  if (!canonical_cidrs(c.settings.allowed_cidrs)) return rejection::invalid_cidrs;
  if (!valid_postback_url(c.settings.postback_url)) return rejection::invalid_postback_url;
  if (c.settings.limit && !valid_rate_limit(*c.settings.limit))
    return rejection::invalid_rate_limit;
  if (!c.owner_user_id.empty() && !valid_user_id(c.owner_user_id)) return rejection::invalid_owner;

  key_created e;
  e.key_id = c.key_id;
  e.workspace_id = c.workspace_id;
  e.name = c.settings.name;
  e.env = c.env;
  e.scopes = c.settings.scopes;
  e.key_hash = c.key_hash;
  e.start = c.start;
  e.created_at = c.now;
  e.expires_at = c.expires_at;
  e.allowed_cidrs = c.settings.allowed_cidrs;
  e.postback_url = c.settings.postback_url;
  e.off_the_record = c.settings.off_the_record;
  e.enabled = c.settings.enabled;
  e.limit = c.settings.limit;
  e.owner_user_id = c.owner_user_id;
  return std::vector<api_key_event>{std::move(e)};
}

decision decide_update(const api_key_state& state, const update_key& c) {
  if (!state.exists) return rejection::key_not_found;
  if (state.revoked_at) return rejection::key_revoked;
  if (is_expired_at(state, c.now)) return rejection::key_expired;
  if (!valid_key_policy(c.policy)) return rejection::invalid_key_policy;

  // Only members that really differ are recorded, and only those are validated: a setting that
  // was valid when stored stays acceptable even if the workspace's rules changed since.
  key_updated u;
  u.key_id = state.key_id;
  u.updated_at = c.now;
  bool changed = false;
  if (c.changes.name && *c.changes.name != state.name) {
    if (!valid_key_name(*c.changes.name, c.policy.names_allow_spaces))
      return rejection::invalid_name;
    u.name = c.changes.name;
    changed = true;
  }
  if (c.changes.scopes && *c.changes.scopes != state.scopes) {
    if (!valid_scopes(*c.changes.scopes)) return rejection::invalid_scopes;
    u.scopes = c.changes.scopes;
    changed = true;
  }
  if (c.changes.allowed_cidrs && *c.changes.allowed_cidrs != state.allowed_cidrs) {
    if (!canonical_cidrs(*c.changes.allowed_cidrs)) return rejection::invalid_cidrs;
    u.allowed_cidrs = c.changes.allowed_cidrs;
    changed = true;
  }
  if (c.changes.postback_url && *c.changes.postback_url != state.postback_url) {
    if (!valid_postback_url(*c.changes.postback_url)) return rejection::invalid_postback_url;
    u.postback_url = c.changes.postback_url;
    changed = true;
  }
  if (c.changes.off_the_record && *c.changes.off_the_record != state.off_the_record) {
    u.off_the_record = c.changes.off_the_record;
    changed = true;
  }
  if (c.changes.limit && *c.changes.limit != state.limit) {
    if (*c.changes.limit && !valid_rate_limit(**c.changes.limit))
      return rejection::invalid_rate_limit;
    u.limit = c.changes.limit;
    changed = true;
  }

  std::vector<api_key_event> events;
  if (changed) events.emplace_back(std::move(u));
  if (c.changes.enabled && *c.changes.enabled != state.enabled) {
    if (*c.changes.enabled) {
      events.emplace_back(key_enabled{state.key_id, c.now});
    } else {
      events.emplace_back(key_disabled{state.key_id, c.now});
    }
  }
  return events;
}

decision decide_revoke(const api_key_state& state, const revoke_key& c) {
  if (!state.exists) return rejection::key_not_found;
  if (state.revoked_at) return rejection::key_already_revoked;
  // The aggregate's own id, not the command's: the stream was loaded by it.
  return std::vector<api_key_event>{key_revoked{state.key_id, c.now}};
}

decision decide_expire(const api_key_state& state, const expire_key& c) {
  if (!state.exists) return rejection::key_not_found;
  if (state.revoked_at || state.expiry_recorded || !is_expired_at(state, c.now)) {
    return rejection::not_due;
  }
  return std::vector<api_key_event>{key_expired{state.key_id, *state.expires_at}};
}

decision decide_warn(const api_key_state& state, const warn_key_expiry& c) {
  if (!state.exists) return rejection::key_not_found;
  const auto days = due_expiry_warning(state, c.now);
  if (!days) return rejection::not_due;
  return std::vector<api_key_event>{key_expiry_approaching{state.key_id, *state.expires_at, *days}};
}

decision decide_leak(const api_key_state& state, const report_leak& c) {
  if (!state.exists) return rejection::key_not_found;
  if (!valid_leak_url(c.url) || !valid_leak_source(c.source)) {
    return rejection::invalid_leak_report;
  }
  key_leaked leaked{state.key_id, recorded_leak_url(c.url), c.source, leak_response::none, c.now};
  std::vector<api_key_event> events;
  // A key that can never work again needs nothing more; a disabled one under "revoke" is
  // revoked all the same (a person could re-enable it).
  const bool dead = state.revoked_at.has_value() || is_expired_at(state, c.now);
  if (!dead && c.on_leak == leak_action::revoke) {
    leaked.action = leak_response::revoked;
    events.emplace_back(leaked);
    events.emplace_back(key_revoked{state.key_id, c.now});
  } else if (!dead && state.enabled) {
    leaked.action = leak_response::disabled;
    events.emplace_back(leaked);
    events.emplace_back(key_disabled{state.key_id, c.now});
  } else {
    events.emplace_back(leaked);
  }
  return events;
}

}  // namespace

std::string_view event_type(const api_key_event& e) noexcept {
  return std::visit(
      overloaded{
          [](const key_created&) -> std::string_view { return "KeyCreated"; },
          [](const key_updated&) -> std::string_view { return "KeyUpdated"; },
          [](const key_disabled&) -> std::string_view { return "KeyDisabled"; },
          [](const key_enabled&) -> std::string_view { return "KeyEnabled"; },
          [](const key_rotated&) -> std::string_view { return "KeyRotated"; },
          [](const key_revoked&) -> std::string_view { return "KeyRevoked"; },
          [](const key_expired&) -> std::string_view { return "KeyExpired"; },
          [](const key_expiry_approaching&) -> std::string_view { return "KeyExpiryApproaching"; },
          [](const key_leaked&) -> std::string_view { return "KeyLeaked"; },
      },
      e);
}

bool is_notice(const api_key_event& e) noexcept {
  return std::holds_alternative<key_expiry_approaching>(e);
}

std::string_view to_string(key_status s) noexcept {
  switch (s) {
    case key_status::active:
      return "active";
    case key_status::disabled:
      return "disabled";
    case key_status::expired:
      return "expired";
    case key_status::revoked:
      return "revoked";
  }
  return "unknown";
}

std::optional<key_status> parse_key_status(std::string_view text) noexcept {
  if (text == "active") return key_status::active;
  if (text == "disabled") return key_status::disabled;
  if (text == "expired") return key_status::expired;
  if (text == "revoked") return key_status::revoked;
  return std::nullopt;
}

key_status api_key_state::status_at(timestamp now) const noexcept {
  if (revoked_at) return key_status::revoked;
  if (expires_at && *expires_at <= now) return key_status::expired;
  if (!enabled) return key_status::disabled;
  return key_status::active;
}

std::string_view to_string(rejection r) noexcept {
  switch (r) {
    case rejection::key_already_exists:
      return "key_already_exists";
    case rejection::key_not_found:
      return "key_not_found";
    case rejection::key_already_revoked:
      return "key_already_revoked";
    case rejection::invalid_name:
      return "invalid_name";
    case rejection::invalid_scopes:
      return "invalid_scopes";
    case rejection::invalid_key_hash:
      return "invalid_key_hash";
    case rejection::invalid_key_start:
      return "invalid_key_start";
    case rejection::workspace_already_exists:
      return "workspace_already_exists";
    case rejection::invalid_workspace_name:
      return "invalid_workspace_name";
    case rejection::invalid_key_prefix:
      return "invalid_key_prefix";
    case rejection::key_revoked:
      return "key_revoked";
    case rejection::key_expired:
      return "key_expired";
    case rejection::key_already_rotated:
      return "key_already_rotated";
    case rejection::invalid_expiry:
      return "invalid_expiry";
    case rejection::invalid_cidrs:
      return "invalid_cidrs";
    case rejection::invalid_postback_url:
      return "invalid_postback_url";
    case rejection::invalid_rate_limit:
      return "invalid_rate_limit";
    case rejection::invalid_grace_period:
      return "invalid_grace_period";
    case rejection::not_due:
      return "not_due";
    case rejection::invalid_key_policy:
      return "invalid_key_policy";
    case rejection::invalid_owner:
      return "invalid_owner";
    case rejection::workspace_not_found:
      return "workspace_not_found";
    case rejection::invalid_leak_report:
      return "invalid_leak_report";
  }
  return "unknown";
}

std::optional<int> due_expiry_warning(const api_key_state& state, timestamp now) noexcept {
  if (!state.exists || state.revoked_at || !state.expires_at) return std::nullopt;
  const timestamp expires_at = *state.expires_at;
  if (now >= expires_at) return std::nullopt;
  int due = 0;
  if (now >= expires_at - last_expiry_warning_lead) {
    due = 1;
  } else if (now >= expires_at - expiry_warning_lead) {
    due = 14;
  } else {
    return std::nullopt;
  }
  // Warnings only get closer: one recorded at (or nearer than) this one makes it not due.
  if (state.expiry_warned_for == expires_at && state.expiry_warned_days > 0 &&
      state.expiry_warned_days <= due) {
    return std::nullopt;
  }
  return due;
}

std::string key_stream_id(std::string_view key_id) {
  std::string out = "api_key-";
  out.append(key_id);
  return out;
}

result<std::vector<api_key_event>, rejection> decide(const api_key_state& state,
                                                     const api_key_command& command) {
  return std::visit(overloaded{
                        [&](const create_key& c) { return decide_create(state, c); },
                        [&](const update_key& c) { return decide_update(state, c); },
                        [&](const revoke_key& c) { return decide_revoke(state, c); },
                        [&](const expire_key& c) { return decide_expire(state, c); },
                        [&](const warn_key_expiry& c) { return decide_warn(state, c); },
                        [&](const report_leak& c) { return decide_leak(state, c); },
                    },
                    command);
}

result<rotation, rejection> decide_rotation(const api_key_state& old_key, const rotate_key& c) {
  if (!old_key.exists) return rejection::key_not_found;
  if (old_key.revoked_at) return rejection::key_revoked;
  if (is_expired_at(old_key, c.now)) return rejection::key_expired;
  if (!old_key.rotated_to.empty()) return rejection::key_already_rotated;
  if (c.grace_period < std::chrono::seconds{0} || c.grace_period > max_grace_period) {
    return rejection::invalid_grace_period;
  }
  if (!is_keyed_hash(c.new_key_hash)) return rejection::invalid_key_hash;
  if (!valid_key_start(c.new_start)) return rejection::invalid_key_start;

  // The old key never lives longer than it was going to anyway.
  timestamp grace_until = c.now + c.grace_period;
  if (old_key.expires_at && *old_key.expires_at < grace_until) grace_until = *old_key.expires_at;

  // A key that was not rotated yet still carries its original expires_at, so the original
  // lifespan is expires_at - created_at.
  std::optional<timestamp> new_expires_at;
  if (old_key.expires_at) {
    auto lifespan = *old_key.expires_at - old_key.created_at;
    const auto cap = std::chrono::duration_cast<timestamp::duration>(c.policy.max_lifespan);
    if (lifespan > cap) lifespan = cap;
    new_expires_at = c.now + lifespan;
  }

  key_created created;
  created.key_id = c.new_key_id;
  created.workspace_id = old_key.workspace_id;
  created.name = old_key.name;
  created.env = old_key.env;
  created.scopes = old_key.scopes;
  created.key_hash = c.new_key_hash;
  created.start = c.new_start;
  created.created_at = c.now;
  created.expires_at = new_expires_at;
  created.allowed_cidrs = old_key.allowed_cidrs;
  created.postback_url = old_key.postback_url;
  created.off_the_record = old_key.off_the_record;
  created.enabled = old_key.enabled;
  created.limit = old_key.limit;
  created.rotated_from = old_key.key_id;
  created.owner_user_id = old_key.owner_user_id;

  return rotation{key_rotated{old_key.key_id, c.new_key_id, c.now, grace_until},
                  std::move(created)};
}

api_key_state evolve(api_key_state state, const api_key_event& event) {
  std::visit(overloaded{
                 [&](const key_created& e) {
                   state.exists = true;
                   state.key_id = e.key_id;
                   state.workspace_id = e.workspace_id;
                   state.name = e.name;
                   state.env = e.env;
                   state.scopes = e.scopes;
                   state.key_hash = e.key_hash;
                   state.start = e.start;
                   state.created_at = e.created_at;
                   state.expires_at = e.expires_at;
                   state.allowed_cidrs = e.allowed_cidrs;
                   state.postback_url = e.postback_url;
                   state.off_the_record = e.off_the_record;
                   state.enabled = e.enabled;
                   state.limit = e.limit;
                   state.rotated_from = e.rotated_from;
                   state.owner_user_id = e.owner_user_id;
                   state.rotated_to.clear();
                   state.revoked_at.reset();
                   state.expiry_recorded = false;
                   state.expiry_warned_for.reset();
                   state.expiry_warned_days = 0;
                   state.updated_at.reset();
                   state.leaked_at.reset();
                 },
                 [&](const key_updated& e) {
                   if (e.name) state.name = *e.name;
                   if (e.scopes) state.scopes = *e.scopes;
                   if (e.allowed_cidrs) state.allowed_cidrs = *e.allowed_cidrs;
                   if (e.postback_url) state.postback_url = *e.postback_url;
                   if (e.off_the_record) state.off_the_record = *e.off_the_record;
                   if (e.limit) state.limit = *e.limit;
                   state.updated_at = e.updated_at;
                 },
                 [&](const key_disabled& e) {
                   state.enabled = false;
                   state.updated_at = e.disabled_at;
                 },
                 [&](const key_enabled& e) {
                   state.enabled = true;
                   state.updated_at = e.enabled_at;
                 },
                 [&](const key_rotated& e) {
                   state.rotated_to = e.rotated_to;
                   state.expires_at = e.grace_until;
                   state.updated_at = e.rotated_at;
                 },
                 [&](const key_revoked& e) { state.revoked_at = e.revoked_at; },
                 [&](const key_expired&) { state.expiry_recorded = true; },
                 [&](const key_expiry_approaching& e) {
                   state.expiry_warned_for = e.expires_at;
                   state.expiry_warned_days = e.days_before;
                 },
                 [&](const key_leaked& e) { state.leaked_at = e.reported_at; },
             },
             event);
  ++state.version;
  return state;
}

api_key_state replay(const std::vector<api_key_event>& events) {
  api_key_state state;
  for (const auto& e : events) state = evolve(std::move(state), e);
  return state;
}

}  // namespace keyledger::domain
