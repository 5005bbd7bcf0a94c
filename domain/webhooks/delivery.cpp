#include "domain/webhooks/delivery.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "domain/encoding.hpp"

namespace keyledger::domain::webhooks {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 16> catalog = {
    "key.created",
    "key.updated",
    "key.disabled",
    "key.enabled",
    "key.rotated",
    "key.revoked",
    "key.expired",
    "key.expiry_approaching",
    "key.leaked",
    "oauth.client.registered",
    "oauth.client.updated",
    "oauth.client.secret_rotated",
    "oauth.client.disabled",
    "oauth.client.enabled",
    "oauth.client.deleted",
    "oauth.grant.revoked",
};

// Stored type -> postback type. Only what the issue names is sent; a refresh family revoked
// after a replay is an oauth.grant.revoked too (every token of the grant family stops).
constexpr std::array<std::pair<std::string_view, std::string_view>, 17> by_stored_type = {{
    {"KeyCreated", "key.created"},
    {"KeyUpdated", "key.updated"},
    {"KeyDisabled", "key.disabled"},
    {"KeyEnabled", "key.enabled"},
    {"KeyRotated", "key.rotated"},
    {"KeyRevoked", "key.revoked"},
    {"KeyExpired", "key.expired"},
    {"KeyExpiryApproaching", "key.expiry_approaching"},
    {"KeyLeaked", "key.leaked"},
    {"ClientRegistered", "oauth.client.registered"},
    {"ClientUpdated", "oauth.client.updated"},
    {"ClientSecretRotated", "oauth.client.secret_rotated"},
    {"ClientDisabled", "oauth.client.disabled"},
    {"ClientEnabled", "oauth.client.enabled"},
    {"ClientDeleted", "oauth.client.deleted"},
    {"GrantRevoked", "oauth.grant.revoked"},
    {"FamilyRevoked", "oauth.grant.revoked"},
}};

constexpr std::array<std::chrono::seconds, 7> schedule = {
    5s, 5min, 30min, 2h, 5h, 10h, 10h,
};

constexpr std::array<std::string_view, 4> wildcards = {"*", "key.*", "oauth.*", "oauth.client.*"};

}  // namespace

std::span<const std::string_view> event_catalog() noexcept { return catalog; }

bool valid_event_pattern(std::string_view pattern) noexcept {
  return std::find(catalog.begin(), catalog.end(), pattern) != catalog.end() ||
         std::find(wildcards.begin(), wildcards.end(), pattern) != wildcards.end();
}

bool pattern_matches(std::string_view pattern, std::string_view type) noexcept {
  if (pattern == "*") return true;
  if (pattern.ends_with(".*")) {
    // "key.*" matches "key.created", not "keys.x" nor "key".
    const auto prefix = pattern.substr(0, pattern.size() - 1);
    return type.size() > prefix.size() && type.starts_with(prefix);
  }
  return pattern == type;
}

std::string_view postback_type_of(std::string_view stored_type) noexcept {
  for (const auto& [stored, postback] : by_stored_type) {
    if (stored == stored_type) return postback;
  }
  return {};
}

std::span<const std::chrono::seconds> retry_schedule() noexcept { return schedule; }

std::optional<timestamp> next_attempt_at(std::uint32_t failed_attempts, timestamp now,
                                         double jitter) noexcept {
  if (failed_attempts == 0 || failed_attempts >= max_attempts) return std::nullopt;
  const auto wait = schedule[failed_attempts - 1];
  if (!(jitter >= -1.0 && jitter <= 1.0)) jitter = 0.0;  // also NaN
  const auto wait_us = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
  const auto spread =
      static_cast<std::int64_t>(std::llround(static_cast<double>(wait_us) * 0.2 * jitter));
  return now + std::chrono::microseconds(wait_us + spread);
}

bool failure_window_passed(timestamp failing_since, timestamp now,
                           std::chrono::seconds window) noexcept {
  return now - failing_since >= window;
}

bool valid_message_id(std::string_view id) noexcept { return valid_id(message_id_tag, id); }

std::string signed_content(std::string_view message_id, std::int64_t unix_seconds,
                           std::string_view body) {
  std::string out;
  const auto ts = std::to_string(unix_seconds);
  out.reserve(message_id.size() + ts.size() + body.size() + 2);
  out.append(message_id).append(1, '.').append(ts).append(1, '.').append(body);
  return out;
}

std::string signature_header(std::span<const std::string> signatures) {
  std::string out;
  for (const auto& s : signatures) {
    if (!out.empty()) out.push_back(' ');
    out.append("v1,").append(base64_encode(std::string_view(s)));
  }
  return out;
}

std::string secret_text(std::span<const std::uint8_t> key) {
  return std::string(secret_prefix) + base64_encode(key);
}

std::optional<std::vector<std::uint8_t>> secret_key(std::string_view text) {
  if (!text.starts_with(secret_prefix)) return std::nullopt;
  const auto bytes = base64_decode(text.substr(secret_prefix.size()));
  if (!bytes || bytes->size() < 24 || bytes->size() > 64) return std::nullopt;
  return std::vector<std::uint8_t>(bytes->begin(), bytes->end());
}

}  // namespace keyledger::domain::webhooks
