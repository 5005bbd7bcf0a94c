#pragma once

// The rules of a request to the authorization endpoint (RFC 6749 4.1.1 and 4.1.2.1, RFC 7636
// 4.3 and 4.4.1, RFC 8707 2, RFC 9700 2.1.1 and 4.1), pure: which client, which redirect URI,
// and then everything else. A failure before the client and its redirect URI are known is shown
// to the person on a page, never redirected (RFC 6749 4.1.2.1: an open redirector otherwise);
// after that, it is sent back to the client's redirect URI. docs/oauth.md ("Authorization").

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/oauth/client.hpp"
#include "domain/result.hpp"

namespace keyledger::domain::oauth {

/// At most this many bytes in `state` and in the `scope` parameter.
inline constexpr std::size_t max_state_length = 1024;
inline constexpr std::size_t max_scope_parameter_length = 2048;

/// The parameters as received: each present at most once (a parameter sent twice is named in
/// `duplicated`, RFC 6749 3.1: "MUST NOT be included more than once").
struct authorization_params {
  std::optional<std::string> response_type;
  std::optional<std::string> client_id;
  std::optional<std::string> redirect_uri;
  std::optional<std::string> scope;
  std::optional<std::string> state;
  std::optional<std::string> code_challenge;
  std::optional<std::string> code_challenge_method;
  std::optional<std::string> resource;
  /// `request` or `request_uri` (JAR, RFC 9101): not supported, refused.
  bool request_object = false;
  std::vector<std::string> duplicated;
};

/// A request every rule accepted.
struct authorization_request {
  std::string client_id;
  std::string redirect_uri;         ///< exactly one of the client's registered URIs
  std::vector<std::string> scopes;  ///< sorted, distinct, within the client's allowed scopes
  std::optional<std::string> state;
  std::string code_challenge;  ///< S256
  std::string resource;        ///< "" when none
  bool operator==(const authorization_request&) const = default;
};

/// RFC 6749 4.1.2.1 error codes (and RFC 8707's invalid_target).
enum class authorization_error {
  invalid_request,
  unauthorized_client,
  access_denied,
  unsupported_response_type,
  invalid_scope,
  server_error,
  invalid_target,
};
std::string_view to_string(authorization_error e) noexcept;

struct authorization_failure {
  /// False: show a page, do not redirect (no trustworthy redirect URI yet).
  bool redirect = false;
  authorization_error error = authorization_error::invalid_request;
  /// error_description: ASCII %x20-21 / %x23-5B / %x5D-7E only (RFC 6749 4.1.2.1); never echoes
  /// a parameter's value.
  std::string description;
  /// Where and with what to redirect when `redirect` (the validated URI and the state as sent).
  std::string redirect_uri;
  std::optional<std::string> state;
};

/// Checks, in this order: duplicated client_id or redirect_uri, the client (known, not
/// deleted, enabled), the redirect URI (exact match of a registered one; may be left out only
/// when exactly one is registered) - failures so far are shown, not redirected; then a state
/// that is not VSCHAR or too long (shown: it cannot be sent back safely); then, redirected:
/// other duplicated parameters, request objects, response_type (code only), the client's
/// grant types (authorization_code), PKCE (code_challenge required, method S256 required -
/// "plain" and a missing method are refused - and the challenge exactly 43 base64url
/// characters), scope (required, space-delimited, each a valid scope, all within the
/// client's allowed scopes), resource (an absolute URI without fragment).
/// `client`: the client named by client_id, or nullptr when there is none.
result<authorization_request, authorization_failure> check_authorization_request(
    const authorization_params& params, const client_state* client);

/// Splits an RFC 6749 3.3 scope string (single spaces between scope tokens); nullopt when empty,
/// malformed or too long. Duplicates are removed, the result is sorted.
std::optional<std::vector<std::string>> parse_scope_parameter(std::string_view text);

/// RFC 8707 2: an absolute URI (a scheme, then ':'), without fragment, printable ASCII, at most
/// 2048 bytes.
bool valid_resource(std::string_view uri) noexcept;

/// Whether `challenge` has the form of an S256 code challenge: 43 base64url characters.
bool valid_s256_challenge(std::string_view challenge) noexcept;

/// RFC 7636 4.1: a code_verifier is 43-128 characters of [A-Za-z0-9-._~].
bool valid_code_verifier(std::string_view verifier) noexcept;

}  // namespace keyledger::domain::oauth
