#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain {

// ---- events -------------------------------------------------------------------------------
// Events carry no secret: only the keyed hash (HMAC-SHA256 under the server secret, lowercase
// hex) and the visible start. Rotate, expire, update and enable/disable will be added as
// further alternatives of api_key_event; state and decide() switch on the variant.

/// Type name "KeyCreated".
struct key_created {
  std::string key_id;
  std::string workspace_id;
  std::string name;
  environment env = environment::test;
  std::vector<std::string> scopes;
  std::string key_hash;  ///< 64 lowercase hex characters
  std::string start;     ///< e.g. "kl_live_AbC1"
  timestamp created_at{};
  bool operator==(const key_created&) const = default;
};

/// Type name "KeyRevoked".
struct key_revoked {
  std::string key_id;
  timestamp revoked_at{};
  bool operator==(const key_revoked&) const = default;
};

using api_key_event = std::variant<key_created, key_revoked>;

/// The stable type name stored in the event log.
std::string_view event_type(const api_key_event& e) noexcept;

// ---- state --------------------------------------------------------------------------------

enum class key_status { active, revoked };
std::string_view to_string(key_status s) noexcept;

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
  key_status status = key_status::active;
  timestamp created_at{};
  std::optional<timestamp> revoked_at;
};

// ---- commands -----------------------------------------------------------------------------

/// The secret was generated and hashed by the caller; the command carries only its hash.
struct create_key {
  std::string key_id;
  std::string workspace_id;
  std::string name;
  environment env = environment::test;
  std::vector<std::string> scopes;
  std::string key_hash;
  std::string start;
  timestamp now{};
};

struct revoke_key {
  std::string key_id;
  timestamp now{};
};

using api_key_command = std::variant<create_key, revoke_key>;

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
};

std::string_view to_string(rejection r) noexcept;

// ---- rules --------------------------------------------------------------------------------

/// Key names: 1-64 characters of [A-Za-z0-9._-] (descriptive, no spaces).
bool valid_key_name(std::string_view name) noexcept;

/// A scope is `resource:action`, each part [a-z][a-z0-9_-]{0,31}.
bool valid_scope(std::string_view scope) noexcept;

/// At most 32 scopes, each valid, no duplicates.
inline constexpr std::size_t max_scopes = 32;
bool valid_scopes(const std::vector<std::string>& scopes) noexcept;

/// The stream that holds one key's events: "api_key-<key_id>".
std::string key_stream_id(std::string_view key_id);

/// decide(state, command) -> events | rejection. Pure.
result<std::vector<api_key_event>, rejection> decide(const api_key_state& state,
                                                     const api_key_command& command);

/// evolve(state, event) -> state. Pure; increments version.
api_key_state evolve(api_key_state state, const api_key_event& event);

/// Folds a whole stream.
api_key_state replay(const std::vector<api_key_event>& events);

}  // namespace keyledger::domain
