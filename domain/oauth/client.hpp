#pragma once

// OAuth 2.0 clients (issue 8, first step): the event-sourced aggregate of a third-party app
// registered by a workspace's owners or admins. decide(state, command) -> events | rejection,
// evolve(state, event) -> state; pure, time injected. No secret is ever in an event: a
// confidential client's secret is generated and hashed by the caller (HMAC with the server
// secret, as for API keys) and only the keyed hash is carried. docs/oauth.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain::oauth {

enum class client_type { confidential, public_client };
std::string_view to_string(client_type t) noexcept;  ///< "confidential" | "public"
std::optional<client_type> parse_client_type(std::string_view text) noexcept;

enum class grant_type { authorization_code, refresh_token, client_credentials };
std::string_view to_string(grant_type g) noexcept;  ///< RFC 6749 names
std::optional<grant_type> parse_grant_type(std::string_view text) noexcept;

// ---- settings -------------------------------------------------------------------------------

inline constexpr std::size_t max_redirect_uris = 10;
inline constexpr std::size_t max_redirect_uri_length = 2048;
inline constexpr std::chrono::seconds default_access_token_lifetime = std::chrono::minutes(10);
inline constexpr std::chrono::seconds min_access_token_lifetime = std::chrono::minutes(1);
inline constexpr std::chrono::seconds max_access_token_lifetime = std::chrono::hours(24);
inline constexpr std::chrono::seconds default_refresh_lifetime = std::chrono::days(30);
inline constexpr std::chrono::seconds min_refresh_lifetime = std::chrono::hours(1);
inline constexpr std::chrono::seconds max_refresh_lifetime = std::chrono::days(365);
/// A rotated secret keeps working this long at most (as for keys: 30 days).
inline constexpr std::chrono::seconds max_secret_grace_period = std::chrono::days(30);

/// What the registering workspace chooses about its client. The type is fixed at registration.
struct client_settings {
  std::string name;
  std::vector<std::string> redirect_uris;  ///< compared by exact string match only
  std::vector<grant_type> grant_types;
  std::vector<std::string> allowed_scopes;  ///< resource:action; checked against the catalog of
                                            ///< the workspace a token is for, at issue time
  std::chrono::seconds access_token_lifetime = default_access_token_lifetime;
  std::chrono::seconds refresh_idle_lifetime = default_refresh_lifetime;
  std::chrono::seconds refresh_absolute_lifetime = default_refresh_lifetime;
  bool operator==(const client_settings&) const = default;
};

/// A PATCH: members left nullopt keep their value.
struct client_settings_patch {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> redirect_uris;
  std::optional<std::vector<grant_type>> grant_types;
  std::optional<std::vector<std::string>> allowed_scopes;
  std::optional<std::chrono::seconds> access_token_lifetime;
  std::optional<std::chrono::seconds> refresh_idle_lifetime;
  std::optional<std::chrono::seconds> refresh_absolute_lifetime;
  bool operator==(const client_settings_patch&) const = default;

  client_settings applied_to(client_settings base) const;
};

/// A redirect URI a client may register (RFC 6749 3.1.2, RFC 9700 2.1 and 4.1, RFC 8252 7.3):
/// absolute; `https`, or `http` only to a loopback IP literal (127.0.0.0/8, [::1]: never the
/// name "localhost"); a host; no userinfo, no fragment, no wildcard '*', no whitespace or
/// control characters; printable ASCII of at most 2048 bytes. A query is allowed. Matching at
/// the authorization endpoint is by exact string comparison.
bool valid_redirect_uri(std::string_view uri) noexcept;

/// Why a client command was refused. Values, never exceptions.
enum class client_rejection {
  client_not_found,
  client_already_exists,
  client_deleted,
  invalid_client_id,
  invalid_workspace,
  invalid_name,
  invalid_redirect_uris,  ///< a bad URI, a duplicate, more than 10, or none with authorization_code
  invalid_grant_types,    ///< none, a duplicate, refresh_token without authorization_code, or
                          ///< client_credentials for a public client
  invalid_scopes,
  invalid_lifetimes,
  invalid_secret,    ///< a confidential client without a well-formed secret hash, or a public one
                     ///< with one
  not_confidential,  ///< a public client has no secret to rotate
  invalid_grace_period,
};
std::string_view to_string(client_rejection r) noexcept;

/// Checks settings as registration and every update leave them (type-dependent rules).
std::optional<client_rejection> check_settings(const client_settings& s, client_type type);

// ---- events (no secret in any of them) -------------------------------------------------------

/// "ClientRegistered".
struct client_registered {
  std::string client_id;
  std::string workspace_id;
  client_type type = client_type::confidential;
  client_settings settings;
  std::string secret_hash;  ///< keyed hash (hex); "" for a public client
  std::string registered_by;
  timestamp registered_at{};
  bool operator==(const client_registered&) const = default;
};

/// "ClientUpdated": only the members that changed are set.
struct client_updated {
  std::string client_id;
  client_settings_patch changes;
  timestamp updated_at{};
  bool operator==(const client_updated&) const = default;
};

/// "ClientSecretRotated": the previous secret works until previous_valid_until.
struct client_secret_rotated {
  std::string client_id;
  std::string secret_hash;
  timestamp previous_valid_until{};
  timestamp rotated_at{};
  bool operator==(const client_secret_rotated&) const = default;
};

struct client_disabled {
  std::string client_id;
  timestamp at{};
  bool operator==(const client_disabled&) const = default;
};
struct client_enabled {
  std::string client_id;
  timestamp at{};
  bool operator==(const client_enabled&) const = default;
};
/// "ClientDeleted": final; every token of the client stops working.
struct client_deleted {
  std::string client_id;
  timestamp at{};
  bool operator==(const client_deleted&) const = default;
};

using client_event = std::variant<client_registered, client_updated, client_secret_rotated,
                                  client_disabled, client_enabled, client_deleted>;
std::string_view event_type(const client_event& e) noexcept;

// ---- state ----------------------------------------------------------------------------------

struct client_state {
  std::uint64_t version = 0;
  bool exists = false;
  bool deleted = false;
  bool enabled = true;
  std::string client_id;
  std::string workspace_id;
  client_type type = client_type::confidential;
  client_settings settings;
  std::string secret_hash;
  std::string previous_secret_hash;  ///< "" when none
  std::optional<timestamp> previous_valid_until;
  timestamp registered_at{};
  std::optional<timestamp> updated_at;
  /// The last ClientDisabled: every token and code issued until then stays dead when the client
  /// is enabled again (disabling ends its tokens, issue 8). nullopt: never disabled.
  std::optional<timestamp> tokens_not_before;

  /// The keyed hashes a presented secret may match at `now`: the current secret's, and the
  /// previous one's before its grace ended; none for a deleted, disabled or public client. The
  /// comparison itself is the caller's, in constant time (the domain has no CRYPTO_memcmp).
  std::vector<std::string_view> accepted_secret_hashes(timestamp now) const;
};

// ---- commands -------------------------------------------------------------------------------

struct register_client {
  std::string client_id;  ///< "cli_" + 22 base62
  std::string workspace_id;
  client_type type = client_type::confidential;
  client_settings settings;
  std::string secret_hash;
  std::string registered_by;
  timestamp now{};
};
struct update_client {
  std::string client_id;
  client_settings_patch changes;
  timestamp now{};
};
struct rotate_client_secret {
  std::string client_id;
  std::string secret_hash;
  std::chrono::seconds grace_period{std::chrono::hours(24)};
  timestamp now{};
};
struct disable_client {
  std::string client_id;
  timestamp now{};
};
struct enable_client {
  std::string client_id;
  timestamp now{};
};
struct delete_client {
  std::string client_id;
  timestamp now{};
};

using client_command = std::variant<register_client, update_client, rotate_client_secret,
                                    disable_client, enable_client, delete_client>;

/// The tag of client ids: new_id(client_id_tag, random) gives "cli_" + 22 base62.
inline constexpr std::string_view client_id_tag = "cli";
bool valid_client_id(std::string_view id) noexcept;

/// The stream of one client: "oauth_client-<client_id>".
std::string client_stream_id(std::string_view client_id);

/// Refuses: register - client_already_exists, invalid_client_id, invalid_workspace, the settings
/// rules, invalid_secret; every other command - client_not_found, client_deleted; update - the
/// settings rules (an update that changes nothing decides no event); rotate - not_confidential,
/// invalid_secret, invalid_grace_period; disable/enable of a client already so decide nothing.
result<std::vector<client_event>, client_rejection> decide(const client_state& state,
                                                           const client_command& command);

client_state evolve(client_state state, const client_event& event);

}  // namespace keyledger::domain::oauth
