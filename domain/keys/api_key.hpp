#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/keys/key_settings.hpp"
#include "domain/keys/leak_report.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain {

// ---- events -------------------------------------------------------------------------------
// Events carry no secret: only the keyed hash (HMAC-SHA256 under the server secret, lowercase
// hex) and the visible start. Every payload format is in docs/events.md; fields added after
// the first release decode with their documented default when absent.

/// Type name "KeyCreated". Also the first event of a key made by rotation (rotated_from set).
struct key_created {
  std::string key_id;
  std::string workspace_id;
  std::string name;
  environment env = environment::test;
  std::vector<std::string> scopes;
  std::string key_hash;  ///< 64 lowercase hex characters
  std::string start;     ///< e.g. "kl_live_AbC1"
  timestamp created_at{};
  std::optional<timestamp> expires_at;     ///< absent: never expires
  std::vector<std::string> allowed_cidrs;  ///< canonical CIDR text; empty: anywhere
  std::string postback_url;                ///< "" = none
  bool off_the_record = false;
  bool enabled = true;
  std::optional<rate_limit> limit;  ///< absent: unlimited
  std::string rotated_from;         ///< "" unless made by rotating that key
  /// The user the key belongs to and acts for (issue 4). "" in keys created before keys had
  /// owners (absent in their payload).
  std::string owner_user_id;
  bool operator==(const key_created&) const = default;
};

/// Type name "KeyUpdated": the settings a PATCH changed; only changed members are present.
struct key_updated {
  std::string key_id;
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> scopes;
  std::optional<std::vector<std::string>> allowed_cidrs;
  std::optional<std::string> postback_url;  ///< "" = removed
  std::optional<bool> off_the_record;
  std::optional<std::optional<rate_limit>> limit;  ///< set with nullopt inside = removed
  timestamp updated_at{};
  bool operator==(const key_updated&) const = default;
};

/// Type name "KeyDisabled".
struct key_disabled {
  std::string key_id;
  timestamp disabled_at{};
  bool operator==(const key_disabled&) const = default;
};

/// Type name "KeyEnabled".
struct key_enabled {
  std::string key_id;
  timestamp enabled_at{};
  bool operator==(const key_enabled&) const = default;
};

/// Type name "KeyRotated", in the OLD key's stream. The new key's KeyCreated (rotated_from =
/// this key) is appended in the same transaction. The old key works until grace_until.
struct key_rotated {
  std::string key_id;
  std::string rotated_to;
  timestamp rotated_at{};
  timestamp grace_until{};  ///< the old key's new expires_at (never later than the previous one)
  bool operator==(const key_rotated&) const = default;
};

/// Type name "KeyRevoked".
struct key_revoked {
  std::string key_id;
  timestamp revoked_at{};
  bool operator==(const key_revoked&) const = default;
};

/// Type name "KeyExpired": records that the key reached expires_at. Verification refuses the
/// key from expires_at on whether or not this event exists yet. Appended once per key.
struct key_expired {
  std::string key_id;
  timestamp expired_at{};  ///< == the key's expires_at
  bool operator==(const key_expired&) const = default;
};

/// Type name "KeyExpiryApproaching": the key expires within 14 days (postbacks use it), or
/// within 1 day (the last warning). Appended once per (key, expires_at, days_before).
struct key_expiry_approaching {
  std::string key_id;
  timestamp expires_at{};
  /// Which warning: 14 (the first, 14 days before) or 1 (the last, 1 day before). Absent in
  /// events written before the second warning existed: 14.
  int days_before = 14;
  bool operator==(const key_expiry_approaching&) const = default;
};

/// Type name "KeyLeaked": a signed leak report (GitHub secret scanning) named this key. Appended
/// in the same transaction as the KeyRevoked or KeyDisabled it caused (`action`), or alone when
/// the key was already refused (`action` none), so that every reader that knows only KeyRevoked
/// and KeyDisabled still refuses the key. Carries no secret: where the key was found, not the
/// key.
struct key_leaked {
  std::string key_id;
  std::string url;     ///< where it was found; "" when unknown or withheld (it held a key)
  std::string source;  ///< the reporter's source: "content", "commit", ..., "unknown"
  leak_response action = leak_response::none;
  timestamp reported_at{};  ///< when keyledger received the report
  bool operator==(const key_leaked&) const = default;
};

using api_key_event = std::variant<key_created, key_updated, key_disabled, key_enabled, key_rotated,
                                   key_revoked, key_expired, key_expiry_approaching, key_leaked>;

/// The stable type name stored in the event log.
std::string_view event_type(const api_key_event& e) noexcept;

/// True for an event that only records a notice (KeyExpiryApproaching): no command's decision
/// depends on it, so a person's command that lost its append to notices alone is decided again
/// on the newer state rather than refused with a conflict.
bool is_notice(const api_key_event& e) noexcept;

// ---- state --------------------------------------------------------------------------------

/// What a key is at one instant. Precedence: revoked > expired > disabled > active.
enum class key_status { active, disabled, expired, revoked };
std::string_view to_string(key_status s) noexcept;
/// Accepts exactly "active", "disabled", "expired", "revoked".
std::optional<key_status> parse_key_status(std::string_view text) noexcept;

/// The aggregate's state, folded from its stream. version = number of events applied.
struct api_key_state {
  std::uint64_t version = 0;
  bool exists = false;
  std::string key_id;
  std::string workspace_id;
  std::string name;
  environment env = environment::test;
  std::vector<std::string> scopes;
  std::string key_hash;
  std::string start;
  timestamp created_at{};
  std::optional<timestamp> expires_at;
  std::vector<std::string> allowed_cidrs;
  std::string postback_url;
  bool off_the_record = false;
  bool enabled = true;
  std::optional<rate_limit> limit;
  std::string rotated_from;
  std::string rotated_to;  ///< "" until rotated
  std::string owner_user_id;
  std::optional<timestamp> revoked_at;
  bool expiry_recorded = false;                ///< KeyExpired appended
  std::optional<timestamp> expiry_warned_for;  ///< expires_at of the last KeyExpiryApproaching
  int expiry_warned_days = 0;                  ///< its days_before (0 before any warning)
  std::optional<timestamp> updated_at;         ///< last KeyUpdated/Disabled/Enabled/Rotated
  std::optional<timestamp> leaked_at;          ///< reported_at of the last KeyLeaked

  /// The status at `now` (expiry is a matter of time, not of the KeyExpired event).
  key_status status_at(timestamp now) const noexcept;
};

// ---- commands -----------------------------------------------------------------------------

/// The secret was generated and hashed by the caller; the command carries only its hash.
/// Name: trimmed by the caller with normalize_key_name. Expiry: `expires_at` absolute (the
/// caller turns expires_in_days / the workspace default into it); nullopt = never, only if
/// policy.allow_no_expiry. CIDRs: canonical text (see normalize_cidrs).
struct create_key {
  std::string key_id;
  std::string workspace_id;
  key_settings settings;
  environment env = environment::test;
  std::string key_hash;
  std::string start;
  std::optional<timestamp> expires_at;
  std::string owner_user_id;  ///< must be a user id (domain::valid_user_id) or ""
  key_policy policy;
  timestamp now{};
};

/// PATCH: members left nullopt are not changed. Decides KeyUpdated with only the members
/// that really differ, then KeyDisabled/KeyEnabled if `enabled` changes; nothing at all (an
/// empty event list, not a rejection) when nothing differs.
struct update_key {
  std::string key_id;
  key_settings_patch changes;
  key_policy policy;
  timestamp now{};
};

/// Rotation: decided against the OLD key's state by decide_rotation (below), not decide().
/// The new key keeps the old key's owner.
struct rotate_key {
  std::string key_id;
  std::string new_key_id;
  std::string new_key_hash;
  std::string new_start;
  std::chrono::seconds grace_period = default_grace_period;
  key_policy policy;
  timestamp now{};
};

struct revoke_key {
  std::string key_id;
  timestamp now{};
};

/// Background job: KeyExpired if expires_at <= now and not yet recorded (else not_due).
struct expire_key {
  std::string key_id;
  timestamp now{};
};

/// Background job: KeyExpiryApproaching for the warning due_expiry_warning names (else
/// not_due). Never for a revoked key.
struct warn_key_expiry {
  std::string key_id;
  timestamp now{};
};

/// A signed leak report named this key (the caller matched the reported string by keyed hash).
/// Decides KeyLeaked plus, for a key not yet refused, KeyRevoked (on_leak revoke) or KeyDisabled
/// (on_leak disable); KeyLeaked alone (action none) for a key revoked, expired, or already
/// disabled under "disable". The URL is recorded as recorded_leak_url has it. Refuses
/// key_not_found, and invalid_leak_report for a URL or source outside valid_leak_url /
/// valid_leak_source.
struct report_leak {
  std::string key_id;
  std::string url;
  std::string source = "unknown";
  leak_action on_leak = leak_action::revoke;  ///< the workspace's setting
  timestamp now{};
};

using api_key_command =
    std::variant<create_key, update_key, revoke_key, expire_key, warn_key_expiry, report_leak>;

/// Why a command was refused. Values, never exceptions.
enum class rejection {
  key_already_exists,
  key_not_found,
  key_already_revoked,
  invalid_name,
  invalid_scopes,
  invalid_key_hash,
  invalid_key_start,
  workspace_already_exists,
  invalid_workspace_name,
  invalid_key_prefix,
  // since the lifecycle issue
  key_revoked,          ///< the command needs a key that is not revoked (409)
  key_expired,          ///< the command needs a key that has not expired (409)
  key_already_rotated,  ///< only the newest key of a rotation chain can be rotated (409)
  invalid_expiry,       ///< expires_at in the past, beyond the maximum, or none when not allowed
  invalid_cidrs,
  invalid_postback_url,
  invalid_rate_limit,
  invalid_grace_period,
  not_due,  ///< expire/warn: nothing to record (the job skips the key)
  invalid_key_policy,
  invalid_owner,  ///< create: owner_user_id neither "" nor a user id
  workspace_not_found,
  invalid_leak_report,  ///< a leak report's URL or source is not one an event may hold
};

std::string_view to_string(rejection r) noexcept;

/// The stream that holds one key's events: "api_key-<key_id>".
std::string key_stream_id(std::string_view key_id);

/// The expiry warning due at `now`, as its days_before: 1 from expires_at - 1 day, 14 from
/// expires_at - 14 days, until expires_at; nullopt when none is, when that warning (or the later
/// one: a key whose 14-day window was missed gets only the last) was recorded for this
/// expires_at, and for revoked keys and keys that never expire. Pure.
std::optional<int> due_expiry_warning(const api_key_state& state, timestamp now) noexcept;

/// decide(state, command) -> events | rejection. Pure.
result<std::vector<api_key_event>, rejection> decide(const api_key_state& state,
                                                     const api_key_command& command);

/// A rotation's two halves, appended atomically: KeyRotated for the old stream and KeyCreated
/// (same settings as the old key, env included; rotated_from = old key; expires_at = now + the
/// old key's original lifespan, capped by policy.max_lifespan, or none if it had none) for the
/// new stream.
struct rotation {
  key_rotated old_key_event;
  key_created new_key_event;
};

/// Refuses: key_not_found, key_revoked, key_expired (at c.now), key_already_rotated,
/// invalid_grace_period, invalid_key_hash, invalid_key_start.
result<rotation, rejection> decide_rotation(const api_key_state& old_key, const rotate_key& c);

/// evolve(state, event) -> state. Pure; increments version.
api_key_state evolve(api_key_state state, const api_key_event& event);

/// Folds a whole stream.
api_key_state replay(const std::vector<api_key_event>& events);

}  // namespace keyledger::domain
