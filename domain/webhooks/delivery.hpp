#pragma once

// What a postback is and how it is retried (issue 10): the catalog of event types, which log
// events become which postback, the retry schedule and the failure window, and the exact bytes
// the Standard Webhooks signature covers. Pure; the HMAC itself is infra's. docs/webhooks.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/types.hpp"

namespace keyledger::domain::webhooks {

/// Every postback type, in catalog order.
std::span<const std::string_view> event_catalog() noexcept;

/// Whether `pattern` is a catalog type or one of the wildcards "*", "key.*", "oauth.*",
/// "oauth.client.*".
bool valid_event_pattern(std::string_view pattern) noexcept;
/// Whether a postback of `type` matches `pattern` (a valid one).
bool pattern_matches(std::string_view pattern, std::string_view type) noexcept;

/// The postback type of a stored event type ("KeyRevoked" -> "key.revoked"), or "" for an
/// event that is not sent anywhere (people, workspaces, audit, the webhooks' own events...).
std::string_view postback_type_of(std::string_view stored_type) noexcept;

// ---- retries --------------------------------------------------------------------------------

/// The waits before the 2nd, 3rd, ... 8th attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
/// After the 8th failure the delivery is given up (status failed); it can still be retried by
/// hand.
std::span<const std::chrono::seconds> retry_schedule() noexcept;
inline constexpr std::uint32_t max_attempts = 8;

/// When attempt `failed_attempts + 1` is due after `failed_attempts` failures (1-7) that ended
/// at `now`, with the wait spread by +-`jitter` (a fraction in [-1, 1], of at most 20% of the
/// wait) so that endpoints that fail together do not retry together. nullopt: give up.
std::optional<timestamp> next_attempt_at(std::uint32_t failed_attempts, timestamp now,
                                         double jitter) noexcept;

/// An endpoint whose deliveries have all failed since `failing_since` is disabled (event
/// WebhookEndpointDisabled, reason failing) once `window` has passed (5 days by default).
inline constexpr std::chrono::seconds default_failure_window = std::chrono::days(5);
bool failure_window_passed(timestamp failing_since, timestamp now,
                           std::chrono::seconds window) noexcept;

// ---- Standard Webhooks (https://www.standardwebhooks.com, spec v1) --------------------------

/// A message id: "msg_" + 22 base62; the `webhook-id` header, the same on every retry.
inline constexpr std::string_view message_id_tag = "msg";
bool valid_message_id(std::string_view id) noexcept;

/// The signed content: `<id>.<timestamp>.<body>` with the timestamp in integer seconds since the
/// Unix epoch (the `webhook-timestamp` header).
std::string signed_content(std::string_view message_id, std::int64_t unix_seconds,
                           std::string_view body);

/// The `webhook-signature` header: "v1,<base64 signature>" for each signature, separated by one
/// space (several during a secret rotation). `signatures` are raw HMAC-SHA256 outputs.
std::string signature_header(std::span<const std::string> signatures);

/// A signing secret as shown to people: "whsec_" + base64 (standard, padded) of 32 random
/// bytes, which is what Standard Webhooks' verifier libraries take.
inline constexpr std::string_view secret_prefix = "whsec_";
std::string secret_text(std::span<const std::uint8_t> key);
/// The key bytes of a secret_text, or nullopt for anything else.
std::optional<std::vector<std::uint8_t>> secret_key(std::string_view text);

}  // namespace keyledger::domain::webhooks
