#pragma once

// The token endpoint's grants (RFC 6749 4.1.3, 4.4, 6; RFC 7636 4.6; RFC 8707; RFC 9700 4.14)
// and revocation (RFC 7009), in the application layer: no HTTP here. The caller has
// authenticated the client (client_service::authenticate) and parsed the form. Every refusal
// is a domain::problem whose code is the RFC 6749 5.2 error (invalid_grant, invalid_scope,
// unauthorized_client, invalid_target, invalid_request), rendered by oauth_error.
// docs/oauth.md ("Token endpoint").

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/oauth/client.hpp"
#include "domain/oauth/grant.hpp"
#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "infra/core/event_store.hpp"
#include "infra/crypto/secret.hpp"
#include "services/app/key_service.hpp"

namespace keyledger::infra {
class hmac_key_hasher;
}

namespace keyledger::services {

class access_token_signer;
class active_key_view;
class directory_view;
class oauth_grant_view;

/// Who the tokens say issued them, and for whom by default.
struct oauth_settings {
  std::string issuer;            ///< KEYLEDGER_ISSUER, e.g. https://auth.example (no slash)
  std::string default_audience;  ///< `aud` when no resource was asked for (default: issuer)
};

/// Codes look like "klac_<grant id>.<43 base64url>", refresh tokens "klrt_<grant id>.<43>": the
/// grant id lets any node load the grant's stream directly (no view lag between nodes); the 32
/// random bytes are the secret. Only HMAC-SHA256 of the whole string is stored.
inline constexpr std::string_view code_prefix = "klac_";
inline constexpr std::string_view refresh_prefix = "klrt_";

/// The grant id inside a code or refresh token of ours, or nullopt when it is not of that form.
std::optional<std::string> grant_id_in(std::string_view token, std::string_view prefix);

/// A token response (RFC 6749 5.1). `refresh_token` is empty when none was issued.
struct issued_tokens {
  std::string access_token;
  std::chrono::seconds expires_in{};
  std::vector<std::string> scopes;
  infra::secret refresh_token;
  std::uint64_t global_seq = 0;  ///< 0 when nothing was appended (client_credentials)
};

/// RFC 6749 5.2 problems.
domain::problem oauth_problem(std::string_view error, std::string text);

/// A refusal of the token endpoint. A refusal may still append: the replay of a code or of a
/// superseded refresh token revokes its family, and so does a refresh by a person who left the
/// workspace. `global_seq` is then the position of that FamilyRevoked (else 0), for the
/// endpoint to wait until its node has applied it before answering: whoever got the
/// invalid_grant and introspects next must not find the revoked tokens still active.
struct token_refusal {
  domain::problem problem;
  std::uint64_t global_seq = 0;
};

class token_service {
 public:
  struct dependencies {
    const infra::hmac_key_hasher& hasher;
    domain::random_source& random;
    const domain::clock& clock;
    const access_token_signer& signer;
    const directory_view& directory;
    const active_key_view& keys;  ///< the workspaces' scope catalogs
    const oauth_grant_view& grants;
    oauth_settings settings;
    /// Where a token's jti comes from (unique, unguessable, not a secret); null: `random`.
    domain::random_source* identifiers = nullptr;
  };
  explicit token_service(dependencies deps);

  /// RFC 6749 4.4: a token for the client itself (sub = client_id, its own workspace). `scope`
  /// absent: every allowed scope of the client in its workspace's catalog; present: each must
  /// be allowed and in the catalog (invalid_scope). Appends nothing.
  domain::result<issued_tokens, domain::problem> client_credentials(
      const domain::oauth::client_state& client, const std::optional<std::string_view>& scope,
      const std::optional<std::string_view>& resource) const;

  /// Whether client_credentials may run on an I/O thread now (signing needs no database).
  bool signs_without_io() const;

  /// RFC 6749 4.1.3 + RFC 7636 4.6: redeems a code (single use, 60 s, bound to the client, the
  /// redirect URI and the challenge). A second use revokes the family the first one started
  /// (FamilyRevoked code_reused, its position in the refusal) and is invalid_grant.
  domain::result<issued_tokens, token_refusal> exchange_code(
      infra::event_store& store, const domain::oauth::client_state& client, std::string_view code,
      const std::optional<std::string_view>& redirect_uri,
      const std::optional<std::string_view>& code_verifier, const std::optional<std::string_view>& resource,
      const request_context& ctx) const;

  /// RFC 6749 6 + RFC 9700 4.14.2: rotates the refresh token; a superseded one revokes the
  /// family (FamilyRevoked refresh_reused, its position in the refusal) and is invalid_grant.
  /// `scope` may narrow, never widen.
  domain::result<issued_tokens, token_refusal> refresh(infra::event_store& store,
                                                       const domain::oauth::client_state& client,
                                                       std::string_view refresh_token,
                                                       const std::optional<std::string_view>& scope,
                                                       const std::optional<std::string_view>& resource,
                                                       const request_context& ctx) const;

  /// RFC 7009: a refresh token ends its family; an access token's jti joins the denylist until
  /// its exp. Unknown, malformed or expired tokens change nothing (200 anyway, RFC 7009 2.2); a
  /// token of another client is refused (invalid_request). The position appended, 0 if none.
  domain::result<std::uint64_t, domain::problem> revoke(infra::event_store& store,
                                                        const domain::oauth::client_state& client,
                                                        std::string_view token,
                                                        const request_context& ctx) const;

 private:
  /// The scopes the user may still be given in the workspace now: `wanted` within the catalog
  /// and the user's role. nullopt when the user is no longer a member.
  std::optional<std::vector<std::string>> grantable_now(const std::vector<std::string>& wanted,
                                                        std::string_view user_id,
                                                        std::string_view workspace_id) const;
  std::string mint_token(std::string_view prefix, std::string_view grant_id) const;
  std::string sign_access_token(const domain::oauth::client_state& client,
                                std::string_view subject, std::string_view workspace_id,
                                std::span<const std::string> scopes, std::string_view session_id,
                                std::string_view resource,
                                std::chrono::seconds& expires_in) const;
  /// The answer to a code or refresh that appended: an access token for the grant's user and
  /// workspace, the new refresh token (if any) and the position appended.
  issued_tokens tokens_of(const domain::oauth::client_state& client,
                          const domain::oauth::grant_state& grant, std::vector<std::string> scopes,
                          const std::string& family_id, const std::string& audience,
                          infra::secret refresh, std::uint64_t global_seq) const;
  domain::result<std::uint64_t, domain::problem> end_family(infra::event_store& store,
                                                            const domain::oauth::grant_state& grant,
                                                            const std::string& family_id,
                                                            domain::oauth::family_end reason,
                                                            const request_context& ctx) const;

  dependencies d_;
};

}  // namespace keyledger::services
