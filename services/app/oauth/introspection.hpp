#pragma once

// RFC 7662 token introspection (issue 8), for access tokens, refresh tokens and keyledger API
// keys, answered from memory (no database round trip): the in-memory views of keys, clients,
// grants and people. What a token may do is what its user may do NOW: a removed user's tokens
// are inactive, a demoted user's scopes narrowed; a disabled or deleted client's tokens are
// inactive; a revoked family, grant or jti is inactive. docs/oauth.md ("Introspection").

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/types.hpp"

namespace keyledger::infra {
class hmac_key_hasher;
}

namespace keyledger::services {

class access_token_signer;
class active_key_view;
class directory_view;
class oauth_client_view;
class oauth_grant_view;

/// Who asks. A client sees the tokens issued to it and those of its own workspace; an API key
/// with the introspection scope sees the tokens and keys of its workspace. Everything else is
/// inactive to the caller (RFC 7662 4: no token scanning across tenants).
struct introspection_caller {
  std::string client_id;  ///< "" for an API key
  std::string workspace_id;
};

/// The scope an API key needs to introspect (keyledger's management scope "oauth:introspect").
inline constexpr std::string_view introspect_scope = "oauth:introspect";

/// RFC 7662 2.2. Inactive: every other member empty.
struct introspection {
  bool active = false;
  std::string token_type;  ///< "Bearer" (access token), "refresh_token", "api_key"
  std::vector<std::string> scopes;
  std::string client_id;  ///< access and refresh tokens
  std::string key_id;     ///< API keys
  std::string subject;    ///< the user, or the client (client_credentials)
  std::string workspace_id;
  std::string environment;  ///< API keys: live | test
  std::string issuer;
  std::string audience;
  std::string jti;
  std::optional<domain::timestamp> issued_at;
  std::optional<domain::timestamp> expires_at;
};

class introspection_service {
 public:
  struct dependencies {
    const infra::hmac_key_hasher& hasher;
    const domain::clock& clock;
    const access_token_signer& signer;
    const active_key_view& keys;
    const oauth_client_view& clients;
    const oauth_grant_view& grants;
    const directory_view& directory;
    std::string issuer;
  };
  explicit introspection_service(dependencies deps);

  /// The answer for `token` to `caller`. Never throws for any input.
  introspection introspect(std::string_view token, const introspection_caller& caller) const;

 private:
  introspection access_token(std::string_view token, const introspection_caller& caller) const;
  introspection refresh_token(std::string_view token, const introspection_caller& caller) const;
  introspection api_key(std::string_view token, const introspection_caller& caller) const;
  /// `scopes` as the user may hold them now in the workspace; nullopt: not a member any more.
  std::optional<std::vector<std::string>> scopes_now(const std::vector<std::string>& scopes,
                                                     std::string_view user_id,
                                                     std::string_view workspace_id) const;
  /// The client exists, is enabled, not deleted, and was not disabled after `issued_at`.
  bool client_live(std::string_view client_id, domain::timestamp issued_at) const;

  dependencies d_;
};

}  // namespace keyledger::services
