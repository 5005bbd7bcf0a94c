#pragma once

// Webhook endpoints (issue 10): a workspace's URL that receives signed postbacks of the events
// it subscribed to, as an event-sourced aggregate. decide(state, command) -> events |
// rejection, evolve(state, event) -> state; pure, time injected. No secret is ever in an event:
// an endpoint's signing secrets are minted and sealed by the caller and stored beside the log
// (schema/008), and the events only say which secret version is current. docs/webhooks.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain::webhooks {

inline constexpr std::size_t max_event_types = 32;
/// A rotated secret is still used to sign (beside the new one) this long at most.
inline constexpr std::chrono::seconds max_secret_overlap = std::chrono::days(7);
inline constexpr std::chrono::seconds default_secret_overlap = std::chrono::hours(24);

/// What a workspace chooses about its endpoint.
struct endpoint_settings {
  std::string url;  ///< as domain::valid_postback_url: https, or http only to loopback
  /// What it receives: names of the catalog (event_types.hpp) or the wildcards "*", "key.*",
  /// "oauth.*", "oauth.client.*". Distinct, 1-32.
  std::vector<std::string> event_types;
  bool operator==(const endpoint_settings&) const = default;
};

/// A PATCH: members left nullopt keep their value.
struct endpoint_settings_patch {
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> event_types;
  bool operator==(const endpoint_settings_patch&) const = default;

  endpoint_settings applied_to(endpoint_settings base) const;
};

/// Why an endpoint command was refused. Values, never exceptions.
enum class endpoint_rejection {
  endpoint_not_found,
  endpoint_already_exists,
  endpoint_deleted,
  invalid_endpoint_id,
  invalid_workspace,
  invalid_url,
  invalid_event_types,
  invalid_overlap,
  invalid_secret_version,
};
std::string_view to_string(endpoint_rejection r) noexcept;

std::optional<endpoint_rejection> check_settings(const endpoint_settings& s);

/// Why an endpoint was disabled: by a person (PATCH enabled=false) or by the dispatcher after
/// every delivery failed for the failure window (delivery.hpp).
enum class disable_reason { manual, failing };
std::string_view to_string(disable_reason r) noexcept;  ///< "manual" | "failing"
std::optional<disable_reason> parse_disable_reason(std::string_view text) noexcept;

// ---- events (no secret in any of them) -------------------------------------------------------

/// "WebhookEndpointCreated": its first secret is version 1.
struct endpoint_created {
  std::string endpoint_id;
  std::string workspace_id;
  endpoint_settings settings;
  bool enabled = true;
  std::string created_by;
  timestamp created_at{};
  bool operator==(const endpoint_created&) const = default;
};

/// "WebhookEndpointUpdated": only the members that changed are set.
struct endpoint_updated {
  std::string endpoint_id;
  endpoint_settings_patch changes;
  timestamp updated_at{};
  bool operator==(const endpoint_updated&) const = default;
};

/// "WebhookSecretRotated": `secret_version` signs from now on; the previous version signs too
/// (a second signature in the header) until previous_valid_until.
struct endpoint_secret_rotated {
  std::string endpoint_id;
  std::uint32_t secret_version = 2;
  timestamp previous_valid_until{};
  timestamp rotated_at{};
  bool operator==(const endpoint_secret_rotated&) const = default;
};

/// "WebhookEndpointDisabled". For reason failing, `failing_since` is when the failures began.
struct endpoint_disabled {
  std::string endpoint_id;
  disable_reason reason = disable_reason::manual;
  std::optional<timestamp> failing_since;
  timestamp at{};
  bool operator==(const endpoint_disabled&) const = default;
};

/// "WebhookEndpointEnabled".
struct endpoint_enabled {
  std::string endpoint_id;
  timestamp at{};
  bool operator==(const endpoint_enabled&) const = default;
};

/// "WebhookEndpointDeleted": final; nothing more is sent to it (pending deliveries are dropped
/// when they come due).
struct endpoint_deleted {
  std::string endpoint_id;
  timestamp at{};
  bool operator==(const endpoint_deleted&) const = default;
};

using endpoint_event = std::variant<endpoint_created, endpoint_updated, endpoint_secret_rotated,
                                    endpoint_disabled, endpoint_enabled, endpoint_deleted>;
std::string_view event_type(const endpoint_event& e) noexcept;

// ---- state ----------------------------------------------------------------------------------

struct endpoint_state {
  std::uint64_t version = 0;
  bool exists = false;
  bool deleted = false;
  bool enabled = true;
  std::optional<disable_reason> disabled_reason;  ///< set while disabled
  std::string endpoint_id;
  std::string workspace_id;
  endpoint_settings settings;
  std::uint32_t secret_version = 0;           ///< 1 once created
  std::uint32_t previous_secret_version = 0;  ///< 0: none
  std::optional<timestamp> previous_valid_until;
  std::string created_by;
  timestamp created_at{};
  std::optional<timestamp> updated_at;

  /// The secret versions a delivery sent at `now` is signed with: the current one, then the
  /// previous one while its overlap lasts. Empty for a deleted endpoint.
  std::vector<std::uint32_t> signing_versions(timestamp now) const;
  /// Whether an event of `type` goes to this endpoint now (exists, not deleted, enabled, and
  /// subscribed to the type).
  bool receives(std::string_view type) const;
};

// ---- commands -------------------------------------------------------------------------------

struct create_endpoint {
  std::string endpoint_id;  ///< "whe_" + 22 base62
  std::string workspace_id;
  endpoint_settings settings;
  bool enabled = true;
  std::string created_by;
  timestamp now{};
};
struct update_endpoint {
  std::string endpoint_id;
  endpoint_settings_patch changes;
  timestamp now{};
};
struct rotate_endpoint_secret {
  std::string endpoint_id;
  /// The version the caller stored the new secret under: above the current one (a version
  /// left by a rotation whose append failed is skipped, never reused).
  std::uint32_t secret_version = 0;
  std::chrono::seconds overlap{default_secret_overlap};
  timestamp now{};
};
struct disable_endpoint {
  std::string endpoint_id;
  disable_reason reason = disable_reason::manual;
  std::optional<timestamp> failing_since;
  timestamp now{};
};
struct enable_endpoint {
  std::string endpoint_id;
  timestamp now{};
};
struct delete_endpoint {
  std::string endpoint_id;
  timestamp now{};
};

using endpoint_command = std::variant<create_endpoint, update_endpoint, rotate_endpoint_secret,
                                      disable_endpoint, enable_endpoint, delete_endpoint>;

/// The tag of endpoint ids: new_id(endpoint_id_tag, random) gives "whe_" + 22 base62.
inline constexpr std::string_view endpoint_id_tag = "whe";
bool valid_endpoint_id(std::string_view id) noexcept;

/// The stream of one endpoint: "webhook_endpoint-<endpoint_id>".
std::string endpoint_stream_id(std::string_view endpoint_id);
/// The category of those streams.
inline constexpr std::string_view endpoint_category = "webhook_endpoint";

/// Refuses: create - endpoint_already_exists, invalid_endpoint_id, invalid_workspace, the
/// settings rules; every other command - endpoint_not_found, endpoint_deleted; update - the
/// settings rules (an update that changes nothing decides no event); rotate - invalid_overlap
/// (0 to 7 days), invalid_secret_version (not above the current one); disable/enable of an endpoint
/// already so decide nothing (a failing-disable of an endpoint a person disabled keeps the person's
/// reason).
result<std::vector<endpoint_event>, endpoint_rejection> decide(const endpoint_state& state,
                                                               const endpoint_command& command);

endpoint_state evolve(endpoint_state state, const endpoint_event& event);

}  // namespace keyledger::domain::webhooks
