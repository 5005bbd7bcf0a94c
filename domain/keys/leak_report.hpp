#pragma once

// Leaked-key reports (GitHub secret scanning's partner format): what a workspace does with a
// key found in public, what was done, and the rules for what a report may store in an event.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace keyledger::domain {

/// The workspace setting `on_leak`: what happens to a live key a signed report names.
enum class leak_action {
  revoke,   ///< KeyRevoked at once (the default): the key is gone for good
  disable,  ///< KeyDisabled: refused at once; an owner may look and re-enable it
};
/// "revoke" / "disable".
std::string_view to_string(leak_action a) noexcept;
std::optional<leak_action> parse_leak_action(std::string_view text) noexcept;

/// What a report did to the key (KeyLeaked.action).
enum class leak_response {
  revoked,   ///< KeyRevoked was appended with it
  disabled,  ///< KeyDisabled was appended with it
  none,      ///< the key was already refused (revoked, expired, or disabled under "disable")
};
/// "revoked" / "disabled" / "none".
std::string_view to_string(leak_response r) noexcept;
std::optional<leak_response> parse_leak_response(std::string_view text) noexcept;

/// A report's URL and source as an event may hold them.
inline constexpr std::size_t max_leak_url_length = 2048;
inline constexpr std::size_t max_leak_source_length = 64;

/// "" or at most 2048 printable ASCII characters (no space, no control character).
bool valid_leak_url(std::string_view url) noexcept;
/// 1-64 of [A-Za-z0-9_-] (GitHub's values: "content", "commit", "Pull_request_title", ...,
/// "unknown").
bool valid_leak_source(std::string_view source) noexcept;

/// A reported string's type as the reporter names it (GitHub: the secret type registered with the
/// partner program, e.g. "keyledger_api_key"), echoed in the answer: 1-128 printable ASCII
/// characters, no space.
inline constexpr std::size_t max_leak_type_length = 128;
bool valid_leak_type(std::string_view type) noexcept;

/// The URL as a KeyLeaked event records it: "" when it holds a well-formed key anywhere (events
/// never hold a secret, and a URL can), otherwise as given. Precondition: valid_leak_url.
std::string recorded_leak_url(std::string_view url);

}  // namespace keyledger::domain
