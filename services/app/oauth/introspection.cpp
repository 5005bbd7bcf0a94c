#include "services/app/oauth/introspection.hpp"

#include <algorithm>

#include "domain/keys/key_format.hpp"
#include "domain/people/policy.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/token_codec.hpp"
#include "services/app/oauth/token_service.hpp"
#include "services/app/oauth/token_signer.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "services/projections/oauth_client_view.hpp"
#include "services/projections/oauth_grant_view.hpp"

namespace keyledger::services {
namespace {

namespace oauth = domain::oauth;

/// Generous bound on anything we would recognise (a JWT is ~500 bytes, a key ~60).
constexpr std::size_t max_token_length = 8192;

bool may_see(const introspection_caller& caller, std::string_view client_id,
             std::string_view workspace_id) {
  return (!caller.client_id.empty() && caller.client_id == client_id) ||
         caller.workspace_id == workspace_id;
}

}  // namespace

introspection_service::introspection_service(dependencies deps) : d_(std::move(deps)) {}

introspection introspection_service::introspect(std::string_view token,
                                                const introspection_caller& caller) const {
  if (token.empty() || token.size() > max_token_length) return {};
  try {
    if (token.starts_with(refresh_prefix)) return refresh_token(token, caller);
    // A JWT has two dots; our keys and refresh tokens have none or one.
    if (std::count(token.begin(), token.end(), '.') == 2) return access_token(token, caller);
    return api_key(token, caller);
  } catch (...) {
    // Only allocation can fail here; an answer that says nothing is the safe one.
    return {};
  }
}

bool introspection_service::client_live(std::string_view client_id,
                                        domain::timestamp issued_at) const {
  const auto c = d_.clients.find(client_id);
  // A token from before the client was last disabled stays dead when it is enabled again.
  return c && c->exists && !c->deleted && c->enabled &&
         (!c->tokens_not_before || issued_at > *c->tokens_not_before);
}

std::optional<std::vector<std::string>> introspection_service::scopes_now(
    const std::vector<std::string>& scopes, std::string_view user_id,
    std::string_view workspace_id) const {
  const auto role = d_.directory.role_of(workspace_id, user_id);
  if (!role) return std::nullopt;
  const auto workspace = d_.keys.find_workspace(workspace_id);
  if (!workspace) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& s : scopes) {
    if (domain::role_allows_scope(*role, s, workspace->scope_catalog)) out.push_back(s);
  }
  return out;
}

introspection introspection_service::access_token(std::string_view token,
                                                  const introspection_caller& caller) const {
  const auto payload = d_.signer.verify(token);
  if (!payload) return {};
  const auto claims = infra::decode_claims(*payload);
  if (!claims) return {};
  if (oauth::check_claims(*claims, d_.issuer, d_.clock.now())) return {};
  if (!may_see(caller, claims->client_id, claims->workspace_id)) return {};
  if (d_.grants.access_token_revoked(claims->jti) ||
      !client_live(claims->client_id, claims->issued_at)) {
    return {};
  }
  introspection out;
  if (claims->session_id.empty()) {
    // client_credentials: the client acts for itself, within its workspace's catalog now.
    const auto workspace = d_.keys.find_workspace(claims->workspace_id);
    if (!workspace) return {};
    for (const auto& s : claims->scopes) {
      const auto& catalog = workspace->scope_catalog;
      if (std::find(catalog.begin(), catalog.end(), s) != catalog.end()) out.scopes.push_back(s);
    }
  } else {
    // A person's token: its family and grant still stand, and the person is still a member.
    if (d_.grants.family_ended(claims->session_id)) return {};
    auto scopes = scopes_now(claims->scopes, claims->subject, claims->workspace_id);
    if (!scopes) return {};
    out.scopes = std::move(*scopes);
  }
  out.active = true;
  out.token_type = "Bearer";
  out.client_id = claims->client_id;
  out.subject = claims->subject;
  out.workspace_id = claims->workspace_id;
  out.issuer = claims->issuer;
  out.audience = claims->audience;
  out.jti = claims->jti;
  out.issued_at = claims->issued_at;
  out.expires_at = claims->expires_at;
  return out;
}

introspection introspection_service::refresh_token(std::string_view token,
                                                   const introspection_caller& caller) const {
  const auto grant_id = grant_id_in(token, refresh_prefix);
  if (!grant_id) return {};
  const auto grant = d_.grants.grant(*grant_id);
  if (!grant || grant->revoked) return {};
  const auto hash = d_.hasher.hash_hex(token);
  const auto* family = grant->family_of_refresh(hash);
  const auto now = d_.clock.now();
  // Only the family's current token is good; a superseded one is inactive.
  if (family == nullptr || family->refresh_hash != hash || !family->live(now)) return {};
  if (!may_see(caller, grant->client_id, grant->workspace_id)) return {};
  if (!client_live(grant->client_id, family->last_used_at)) return {};
  auto scopes = scopes_now(family->scopes, grant->user_id, grant->workspace_id);
  if (!scopes) return {};
  introspection out;
  out.active = true;
  out.token_type = "refresh_token";
  out.scopes = std::move(*scopes);
  out.client_id = grant->client_id;
  out.subject = grant->user_id;
  out.workspace_id = grant->workspace_id;
  out.issuer = d_.issuer;
  out.issued_at = family->last_used_at;
  out.expires_at = std::min(family->idle_expires_at, family->absolute_expires_at);
  return out;
}

introspection introspection_service::api_key(std::string_view token,
                                             const introspection_caller& caller) const {
  const auto entry = d_.keys.find(d_.hasher.hash(token));
  if (!entry) return {};
  if (entry->workspace_id() != caller.workspace_id) return {};
  const auto now = d_.clock.now();
  if (entry->status_at(now) != domain::key_status::active) return {};
  introspection out;
  out.active = true;
  out.token_type = "api_key";
  out.scopes = entry->effective_scopes();
  out.key_id = entry->key_id();
  out.subject = entry->owner_user_id();
  out.workspace_id = entry->workspace_id();
  out.environment = std::string(domain::to_string(entry->env()));
  out.issued_at = entry->created_at();
  out.expires_at = entry->expires_at();
  return out;
}

}  // namespace keyledger::services
