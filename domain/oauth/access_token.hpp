#pragma once

// JWT access tokens (RFC 9068) as values, and their revocation (RFC 7009) as an event: a
// revoked token's `jti` is refused by every node until the token would have expired anyway.
// Pure; the signing is infra's (infra/crypto/jws), the claims' JSON infra/json's.
// docs/oauth.md ("Access tokens").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain::oauth {

/// The claims of an access token: RFC 9068 2.2 (iss, exp, aud, sub, client_id, iat, jti), with
/// nbf = iat, scope, and keyledger's workspace_id and sid (the refresh family of a user's token;
/// "" for client_credentials, whose sub is the client).
struct access_token_claims {
  std::string issuer;
  std::string subject;
  std::string audience;
  std::string client_id;
  std::vector<std::string> scopes;
  std::string workspace_id;
  std::string session_id;
  std::string jti;  ///< "atk_" + 22 base62
  timestamp issued_at{};
  timestamp expires_at{};
  bool operator==(const access_token_claims&) const = default;
};

inline constexpr std::string_view jti_tag = "atk";
bool valid_jti(std::string_view jti) noexcept;

/// Why a signed, well-formed token is not good now.
enum class token_refusal { wrong_issuer, not_yet_valid, expired };

/// RFC 9068 4: the issuer must be ours; iat/nbf not in the future (no leeway: one clock signs and
/// checks); exp after `now`.
std::optional<token_refusal> check_claims(const access_token_claims& c,
                                          std::string_view expected_issuer, timestamp now);

/// "AccessTokenRevoked" on stream "oauth_access_token-<jti>".
struct access_token_revoked {
  std::string jti;
  std::string client_id;
  std::string workspace_id;
  timestamp expires_at{};  ///< after this the denylist entry may be forgotten
  timestamp at{};
  bool operator==(const access_token_revoked&) const = default;
};
using access_token_event = std::variant<access_token_revoked>;
std::string_view event_type(const access_token_event& e) noexcept;

struct access_token_state {
  std::uint64_t version = 0;
  bool revoked = false;
};

struct revoke_access_token {
  std::string jti;
  std::string client_id;
  std::string workspace_id;
  timestamp expires_at{};
  timestamp now{};
};

enum class access_token_rejection { invalid_jti };

/// A token revoked already, or expired already, decides nothing (RFC 7009 2.2: 200 either way).
result<std::vector<access_token_event>, access_token_rejection> decide(
    const access_token_state& state, const revoke_access_token& command);
access_token_state evolve(access_token_state state, const access_token_event& event);

std::string access_token_stream_id(std::string_view jti);

}  // namespace keyledger::domain::oauth
