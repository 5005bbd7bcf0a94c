#pragma once

// The settings of an API key and their rules, apart from the aggregate's events and decisions
// (api_key.hpp): what a name, a scope list, allowed CIDRs, a postback URL and a rate limit may
// be, and the workspace's policy for keys. Callers validate with these and the domain's
// decide() checks the same, so a rule is written once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain {

// ---- settings -----------------------------------------------------------------------------

/// Per-key rate limit: at most `limit` accepted verifications per `window_seconds` (a fixed
/// window, counted per node). limit 1-1,000,000; window 1-86,400 seconds.
struct rate_limit {
  std::uint32_t limit = 0;
  std::uint32_t window_seconds = 0;
  bool operator==(const rate_limit&) const = default;
};
bool valid_rate_limit(const rate_limit& r) noexcept;

/// A workspace's rules for its keys (set in WorkspaceCreated; see workspace.hpp).
struct key_policy {
  std::chrono::days default_lifespan{90};
  std::chrono::days max_lifespan{365};
  bool allow_no_expiry = false;    ///< may a key be created with "expires_at": null?
  bool names_allow_spaces = true;  ///< may a key name contain spaces?
  bool operator==(const key_policy&) const = default;
};

/// Grace period of a rotation: 0 (the old key stops at once) to 30 days; default 24 h.
inline constexpr std::chrono::seconds max_grace_period = std::chrono::days(30);
inline constexpr std::chrono::seconds default_grace_period = std::chrono::hours(24);
/// The first KeyExpiryApproaching (days_before 14) is due this long before expires_at...
inline constexpr std::chrono::seconds expiry_warning_lead = std::chrono::days(14);
/// ...and the last one (days_before 1) this long before it.
inline constexpr std::chrono::seconds last_expiry_warning_lead = std::chrono::days(1);
/// At most this many allowed CIDRs per key.
inline constexpr std::size_t max_allowed_cidrs = 32;
inline constexpr std::size_t max_postback_url_length = 2048;

// ---- rules --------------------------------------------------------------------------------

/// Trims ASCII whitespace at both ends. Does not validate.
std::string normalize_key_name(std::string_view name);

/// Key names (after trimming): 1-64 Unicode characters of valid UTF-8, none a control
/// character (C0, DEL, C1) or an invisible format character (U+200B-U+200F, U+2028-U+202E,
/// U+2060-U+2064, U+FEFF); no leading/trailing whitespace; spaces only if `allow_spaces`; and
/// never something that parses as an API key (names are stored in events).
bool valid_key_name(std::string_view name, bool allow_spaces = true) noexcept;

/// A scope is `resource:action`, each part [a-z][a-z0-9_-]{0,31}.
bool valid_scope(std::string_view scope) noexcept;

/// At most 32 scopes, each valid, no duplicates.
inline constexpr std::size_t max_scopes = 32;
bool valid_scopes(const std::vector<std::string>& scopes) noexcept;

/// Parses each entry with parse_cidr and returns the canonical texts (duplicates removed,
/// order kept), or nullopt if any entry is invalid or there are more than 32.
std::optional<std::vector<std::string>> normalize_cidrs(const std::vector<std::string>& cidrs);

/// "" (none), or an absolute URL of at most 2048 characters: scheme https, or http only when
/// the host is a loopback address literal or "localhost"; a host is required; no userinfo
/// ("user:pass@" would put a credential in an event); no fragment; printable ASCII only.
bool valid_postback_url(std::string_view url) noexcept;

// ---- the settings value ----------------------------------------------------------------------

/// Everything about a key its owner chooses, apart from its identity, secret, environment and
/// lifetime: one value from the create request through the application to the domain's
/// create_key command. (KeyCreated and the folded state keep these members flat: the event is a
/// stored format, and the view's hot path reads the state.)
struct key_settings {
  std::string name;
  std::vector<std::string> scopes;
  std::vector<std::string> allowed_cidrs;  ///< canonical in commands (normalize_cidrs)
  std::string postback_url;                ///< "" = none
  bool off_the_record = false;
  bool enabled = true;
  std::optional<rate_limit> limit;
  bool operator==(const key_settings&) const = default;
};

// ---- a change of settings -------------------------------------------------------------------

/// A PATCH of a key's settings: each member left nullopt keeps its value. One value from the
/// HTTP body through the application to the domain's update_key command.
struct key_settings_patch {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> scopes;
  std::optional<std::vector<std::string>> allowed_cidrs;
  std::optional<std::string> postback_url;  ///< "" = remove
  std::optional<bool> off_the_record;
  std::optional<bool> enabled;
  std::optional<std::optional<rate_limit>> limit;  ///< nullopt inside = remove
  bool operator==(const key_settings_patch&) const = default;

  /// `base` with every member this patch sets replaced (a create request is a patch of the
  /// defaults).
  key_settings applied_to(key_settings base) const;
};

// ---- field-level checks ---------------------------------------------------------------------
// What a caller hands in, checked once, here, with the problem naming the field: callers (the
// HTTP API, the CLI through it, the console) do not re-implement the bounds.

/// Expiry as the client chose it: at most one of expires_at / expires_in_days / never_expires;
/// none of them = the workspace's default lifespan.
struct expiry_choice {
  std::optional<timestamp> expires_at;
  std::optional<std::int64_t> expires_in_days;
  bool never_expires = false;
};

/// The instant a new key expires (nullopt: never), from the choice and the workspace policy at
/// `now`. Problems: both expires_at and expires_in_days; no expiry where the policy forbids it;
/// expires_at not in the future or beyond max_lifespan; expires_in_days outside 1..max.
result<std::optional<timestamp>, problem> resolve_expiry(const expiry_choice& choice,
                                                         const key_policy& policy, timestamp now);

/// A rate limit from its two members; nullopt for a member that is not an integer. Problems
/// name rate_limit.limit / rate_limit.window_seconds.
result<rate_limit, problem> check_rate_limit(std::optional<std::int64_t> limit,
                                             std::optional<std::int64_t> window_seconds);

/// A rotation's grace period in seconds, 0 to max_grace_period.
result<std::chrono::seconds, problem> check_grace_period(std::int64_t seconds);

/// The longest lifespan a workspace may allow its keys, in days.
inline constexpr std::int64_t max_lifespan_days = 3650;

/// A key policy's lifespans in days (each 1..max_lifespan_days; nullopt: not an integer),
/// applied onto `policy`; then default <= max. Problems name key_policy.
result<key_policy, problem> check_lifespans(key_policy policy,
                                            std::optional<std::int64_t> default_days,
                                            std::optional<std::int64_t> max_days);

}  // namespace keyledger::domain
