#include "domain/oauth/access_token.hpp"

#include <algorithm>

#include "domain/encoding.hpp"

namespace keyledger::domain::oauth {

bool valid_jti(std::string_view jti) noexcept { return valid_id(jti_tag, jti); }

std::optional<token_refusal> check_claims(const access_token_claims& c,
                                          std::string_view expected_issuer, timestamp now) {
  if (c.issuer != expected_issuer) return token_refusal::wrong_issuer;
  if (c.issued_at > now) return token_refusal::not_yet_valid;
  if (now >= c.expires_at) return token_refusal::expired;
  return std::nullopt;
}

std::string_view event_type(const access_token_event&) noexcept { return "AccessTokenRevoked"; }

result<std::vector<access_token_event>, access_token_rejection> decide(
    const access_token_state& state, const revoke_access_token& command) {
  if (!valid_jti(command.jti)) return access_token_rejection::invalid_jti;
  if (state.revoked || command.now >= command.expires_at) return std::vector<access_token_event>{};
  return std::vector<access_token_event>{access_token_revoked{
      command.jti, command.client_id, command.workspace_id, command.expires_at, command.now}};
}

access_token_state evolve(access_token_state state, const access_token_event&) {
  ++state.version;
  state.revoked = true;
  return state;
}

std::string access_token_stream_id(std::string_view jti) {
  return "oauth_access_token-" + std::string(jti);
}

}  // namespace keyledger::domain::oauth
