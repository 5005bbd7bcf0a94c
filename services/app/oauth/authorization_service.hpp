#pragma once

// The person's side of OAuth (issue 8): in which of their workspaces an app may be let in,
// consent (remembered per app and workspace), the authorization code issued for it, the list
// of apps they authorized and its revocation. No HTTP here; the authorization endpoint and the
// pages are services/http/oauth. docs/oauth.md ("Authorization", "Grants").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/oauth/authorization_request.hpp"
#include "domain/oauth/grant.hpp"
#include "domain/people/policy.hpp"
#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "infra/core/event_store.hpp"
#include "infra/crypto/secret.hpp"
#include "services/app/key_service.hpp"

namespace keyledger::infra {
class hmac_key_hasher;
}

namespace keyledger::services {

class active_key_view;
class directory_view;
class oauth_grant_view;

/// A workspace the person may let the app into.
struct workspace_option {
  std::string workspace_id;
  std::string name;
  domain::role member_role = domain::role::member;
};

/// An authorization code, which leaves the process once, in the redirect.
struct issued_code {
  infra::secret code;
  std::string grant_id;
  std::uint64_t global_seq = 0;
};

class authorization_service {
 public:
  struct dependencies {
    const infra::hmac_key_hasher& hasher;
    domain::random_source& random;
    const domain::clock& clock;
    const directory_view& directory;
    const active_key_view& keys;  ///< workspace names and scope catalogs
    const oauth_grant_view& grants;
  };
  explicit authorization_service(dependencies deps);

  /// The person's workspaces in which every one of `scopes` is in the catalog and allowed by
  /// their role, ordered by workspace id.
  std::vector<workspace_option> workspaces_for(std::string_view user_id,
                                               const std::vector<std::string>& scopes) const;

  /// A remembered consent: the workspace (among `options`) whose live grant of `client_id`
  /// already covers `scopes`; nullopt when none does (the consent page is shown).
  std::optional<std::string> remembered(std::string_view user_id, std::string_view client_id,
                                        const std::vector<std::string>& scopes,
                                        const std::vector<workspace_option>& options) const;

  /// Consent given (or remembered) for `workspace_id`: records it (GrantCreated, or
  /// GrantExtended for wider scopes) and issues a code (CodeIssued) in one append. Refused
  /// (access_denied) when the workspace is not one of workspaces_for(user, scopes).
  domain::result<issued_code, domain::problem> approve(
      infra::event_store& store, const domain::oauth::authorization_request& request,
      std::string_view user_id, std::string_view workspace_id, const request_context& ctx) const;

  /// The person's live grants, newest first.
  std::vector<domain::oauth::grant_state> grants_of(std::string_view user_id) const;

  /// The person withdraws a grant of theirs (GrantRevoked): every token of it stops working.
  /// Another person's or an unknown grant: 404. The position appended, 0 if already revoked.
  domain::result<std::uint64_t, domain::problem> revoke(infra::event_store& store,
                                                        std::string_view user_id,
                                                        std::string_view grant_id,
                                                        const request_context& ctx) const;

 private:
  dependencies d_;
};

}  // namespace keyledger::services
