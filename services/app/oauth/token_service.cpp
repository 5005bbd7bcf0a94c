#include "services/app/oauth/token_service.hpp"

#include <algorithm>
#include <array>
#include <span>

#include "domain/encoding.hpp"
#include "domain/oauth/access_token.hpp"
#include "domain/oauth/authorization_request.hpp"
#include "domain/people/policy.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/grant_codec.hpp"
#include "infra/json/token_codec.hpp"
#include "services/app/command_executor.hpp"
#include "services/app/event_sourcing.hpp"
#include "services/app/oauth/token_signer.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "services/projections/oauth_grant_view.hpp"

namespace keyledger::services {
namespace {

namespace oauth = domain::oauth;
using domain::problem;
using domain::problem_kind;

/// A command on a grant is decided again this often when another request changed the grant
/// meanwhile (two devices refreshing at once); a second decision sees what the first did.
constexpr int grant_attempts = 3;

/// Runs `once(attempt)` again when it failed on a conflict: another request changed the grant
/// between its load and its append. Other errors, and the last attempt's conflict, propagate.
template <class Once>
auto retrying_conflicts(Once&& once) {
  for (int attempt = 1;; ++attempt) {
    try {
      return once(attempt);
    } catch (const infra::error& e) {
      if (e.code() != infra::errc::conflict || attempt == grant_attempts) throw;
    }
  }
}

bool has_grant(const oauth::client_state& c, oauth::grant_type g) {
  const auto& gs = c.settings.grant_types;
  return std::find(gs.begin(), gs.end(), g) != gs.end();
}

problem invalid_grant(std::string text) { return oauth_problem("invalid_grant", std::move(text)); }

problem problem_of_grant(oauth::grant_rejection r) {
  using R = oauth::grant_rejection;
  switch (r) {
    case R::code_expired:
      return invalid_grant("The authorization code has expired");
    case R::code_reused:
      return invalid_grant("The authorization code was already used");
    case R::code_mismatch:
      return invalid_grant(
          "The code was issued to another client or redirect_uri, or the code_verifier is wrong");
    case R::refresh_reused:
      return invalid_grant("The refresh token was already used; its family is revoked");
    case R::refresh_expired:
      return invalid_grant("The refresh token has expired");
    case R::family_ended:
    case R::grant_revoked:
      return invalid_grant("The grant was revoked");
    case R::scope_widened:
      return oauth_problem("invalid_scope", "The scope asked for exceeds what was granted");
    case R::grant_not_found:
    case R::code_not_found:
    case R::refresh_not_found:
    case R::invalid_command:
      break;
  }
  return invalid_grant("The grant is invalid");
}

token_refusal refused(problem p) { return {std::move(p), 0}; }

/// A refusal that appended (a family revoked): its position, for the endpoint to settle.
token_refusal refused(problem p, const domain::result<std::uint64_t, problem>& appended) {
  return {std::move(p), appended ? appended.value() : 0};
}

oauth::grant_state load_grant(infra::event_store& store, std::string_view grant_id) {
  return fold_stream<oauth::grant_state>(store, oauth::grant_stream_id(grant_id),
                                         infra::decode_grant_event);
}

/// base64url(SHA-256(verifier)): the S256 transformation (RFC 7636 4.2).
std::string s256(std::string_view verifier) {
  const auto digest = infra::sha256(verifier);
  return domain::base64url_encode(std::span<const std::uint8_t>(digest.data(), digest.size()));
}

/// RFC 8707 at the token endpoint: the resource bound at authorization, or none.
domain::result<std::string, problem> resource_for(const std::optional<std::string_view>& asked,
                                                  const std::string& bound) {
  if (!asked) return bound;
  if (!oauth::valid_resource(*asked)) {
    return oauth_problem("invalid_target", "resource must be an absolute URI without fragment");
  }
  if (*asked != bound) {
    return oauth_problem("invalid_target", "resource differs from the one authorized");
  }
  return bound;
}

}  // namespace

problem oauth_problem(std::string_view error, std::string text) {
  const auto kind =
      error == "invalid_client" ? problem_kind::unauthenticated : problem_kind::invalid;
  return problem::of(kind, error, std::move(text));
}

std::optional<std::string> grant_id_in(std::string_view token, std::string_view prefix) {
  // prefix + "grt_" + 22 base62 + "." + 43 base64url
  constexpr std::size_t id_length = 4 + 22;
  if (token.size() != prefix.size() + id_length + 1 + 43 || !token.starts_with(prefix)) {
    return std::nullopt;
  }
  const auto id = token.substr(prefix.size(), id_length);
  if (!oauth::valid_grant_id(id) || token[prefix.size() + id_length] != '.') return std::nullopt;
  const auto secret = token.substr(prefix.size() + id_length + 1);
  if (!std::all_of(secret.begin(), secret.end(),
                   [](char c) { return domain::base64url_value(c) >= 0; })) {
    return std::nullopt;
  }
  return std::string(id);
}

token_service::token_service(dependencies deps) : d_(std::move(deps)) {}

bool token_service::signs_without_io() const { return d_.signer.signs_without_io(); }

std::string token_service::mint_token(std::string_view prefix, std::string_view grant_id) const {
  std::array<std::uint8_t, 32> bytes{};
  d_.random.fill(bytes);
  return std::string(prefix) + std::string(grant_id) + "." +
         domain::base64url_encode(std::span<const std::uint8_t>(bytes));
}

std::optional<std::vector<std::string>> token_service::grantable_now(
    const std::vector<std::string>& wanted, std::string_view user_id,
    std::string_view workspace_id) const {
  const auto role = d_.directory.role_of(workspace_id, user_id);
  if (!role) return std::nullopt;
  const auto workspace = d_.keys.find_workspace(workspace_id);
  if (!workspace) return std::nullopt;
  const auto& catalog = workspace->scope_catalog;
  std::vector<std::string> out;
  for (const auto& s : wanted) {
    // OAuth tokens carry the platform's scopes only: the catalog's, as the role allows them.
    if (std::find(catalog.begin(), catalog.end(), s) != catalog.end() &&
        domain::role_allows_scope(*role, s, catalog)) {
      out.push_back(s);
    }
  }
  return out;
}

std::string token_service::sign_access_token(const oauth::client_state& client,
                                             std::string_view subject,
                                             std::string_view workspace_id,
                                             std::span<const std::string> scopes,
                                             std::string_view session_id,
                                             std::string_view resource,
                                             std::chrono::seconds& expires_in) const {
  const std::string jti =
      domain::new_id(oauth::jti_tag, d_.identifiers != nullptr ? *d_.identifiers : d_.random);
  infra::claims_to_sign c;
  c.issuer = d_.settings.issuer;
  c.subject = subject;
  c.audience = resource.empty() ? std::string_view(d_.settings.default_audience) : resource;
  c.client_id = client.client_id;
  c.scopes = scopes;
  c.workspace_id = workspace_id;
  c.session_id = session_id;
  c.jti = jti;
  // NumericDate is whole seconds: the token lives from the current second.
  c.issued_at = std::chrono::floor<std::chrono::seconds>(d_.clock.now());
  expires_in = client.settings.access_token_lifetime;
  c.expires_at = c.issued_at + expires_in;
  return d_.signer.sign(infra::encode_claims(c));
}

issued_tokens token_service::tokens_of(const oauth::client_state& client,
                                       const oauth::grant_state& grant,
                                       std::vector<std::string> scopes,
                                       const std::string& family_id, const std::string& audience,
                                       infra::secret refresh, std::uint64_t global_seq) const {
  issued_tokens out;
  out.scopes = std::move(scopes);
  out.access_token = sign_access_token(client, grant.user_id, grant.workspace_id, out.scopes,
                                       family_id, audience, out.expires_in);
  out.refresh_token = std::move(refresh);
  out.global_seq = global_seq;
  return out;
}

domain::result<issued_tokens, problem> token_service::client_credentials(
    const oauth::client_state& client, const std::optional<std::string_view>& scope,
    const std::optional<std::string_view>& resource) const {
  if (!has_grant(client, oauth::grant_type::client_credentials)) {
    return oauth_problem("unauthorized_client", "The client may not use client_credentials");
  }
  const auto workspace = d_.keys.find_workspace(client.workspace_id);
  if (!workspace) return invalid_grant("The client's workspace is gone");
  const auto& catalog = workspace->scope_catalog;
  const auto& allowed = client.settings.allowed_scopes;
  const auto usable = [&](const std::string& s) {
    return std::find(allowed.begin(), allowed.end(), s) != allowed.end() &&
           std::find(catalog.begin(), catalog.end(), s) != catalog.end();
  };
  std::vector<std::string> scopes;
  if (scope) {
    auto asked = oauth::parse_scope_parameter(*scope);
    if (!asked) return oauth_problem("invalid_scope", "scope is malformed");
    for (const auto& s : *asked) {
      if (!usable(s)) {
        return oauth_problem("invalid_scope", "a requested scope is not allowed for this client");
      }
    }
    scopes = std::move(*asked);
  } else {
    for (const auto& s : allowed) {
      if (usable(s)) scopes.push_back(s);
    }
    std::sort(scopes.begin(), scopes.end());
  }
  std::string_view audience;
  if (resource) {
    if (!oauth::valid_resource(*resource)) {
      return oauth_problem("invalid_target", "resource must be an absolute URI without fragment");
    }
    audience = *resource;
  }
  issued_tokens out;
  out.scopes = std::move(scopes);
  out.access_token = sign_access_token(client, client.client_id, client.workspace_id, out.scopes,
                                       {}, audience, out.expires_in);
  return out;
}

domain::result<std::uint64_t, problem> token_service::end_family(infra::event_store& store,
                                                                 const oauth::grant_state& grant,
                                                                 const std::string& family_id,
                                                                 oauth::family_end reason,
                                                                 const request_context& ctx) const {
  const auto now = d_.clock.now();
  const oauth::revoke_family command{grant.grant_id, family_id, reason, now};
  return retrying_conflicts([&](int attempt) -> domain::result<std::uint64_t, problem> {
    auto state = attempt == 1 ? grant : load_grant(store, grant.grant_id);
    auto done = execute(
        store, oauth::grant_stream_id(grant.grant_id), std::move(state),
        [&](const oauth::grant_state& s) { return oauth::decide(s, command); }, ctx, d_.random,
        now);
    if (!done) return std::uint64_t{0};
    return done->position.last_seq;
  });
}

domain::result<issued_tokens, token_refusal> token_service::exchange_code(
    infra::event_store& store, const oauth::client_state& client, std::string_view code,
    const std::optional<std::string_view>& redirect_uri, const std::optional<std::string_view>& code_verifier,
    const std::optional<std::string_view>& resource, const request_context& ctx) const {
  if (!has_grant(client, oauth::grant_type::authorization_code)) {
    return refused(
        oauth_problem("unauthorized_client", "The client may not use authorization_code"));
  }
  if (!redirect_uri) {
    return refused(oauth_problem("invalid_request", "redirect_uri is required"));
  }
  const auto grant_id = grant_id_in(code, code_prefix);
  if (!grant_id) return refused(invalid_grant("The authorization code is invalid"));
  // A missing or malformed verifier fails PKCE like a wrong one (RFC 7636 4.6).
  const auto challenge =
      code_verifier && oauth::valid_code_verifier(*code_verifier) ? s256(*code_verifier) : "";
  const auto code_hash = d_.hasher.hash_hex(code);
  return retrying_conflicts([&](int) -> domain::result<issued_tokens, token_refusal> {
    auto grant = load_grant(store, *grant_id);
    if (!grant.exists) return refused(invalid_grant("The authorization code is invalid"));
    const auto* issued = grant.find_code(code_hash);
    // The user may still grant these scopes in the workspace (not removed, not demoted).
    std::optional<std::vector<std::string>> scopes;
    if (issued != nullptr) {
      scopes = grantable_now(issued->scopes, grant.user_id, grant.workspace_id);
    }
    const auto now = d_.clock.now();
    oauth::redeem_code command;
    command.grant_id = *grant_id;
    command.code_hash = code_hash;
    command.client_id = client.client_id;
    command.redirect_uri = *redirect_uri;
    command.verifier_challenge = challenge;
    command.family_id = domain::new_id(oauth::family_id_tag, d_.random);
    infra::secret refresh;
    if (has_grant(client, oauth::grant_type::refresh_token)) {
      refresh = infra::secret(mint_token(refresh_prefix, *grant_id));
      command.refresh_hash = d_.hasher.hash_hex(refresh.reveal());
    }
    command.idle_lifetime = client.settings.refresh_idle_lifetime;
    command.absolute_lifetime = client.settings.refresh_absolute_lifetime;
    command.now = now;
    const auto decided = oauth::decide(grant, command);
    if (!decided) {
      const auto r = decided.error();
      if (r == oauth::grant_rejection::code_reused) {
        // RFC 6749 4.1.2: the tokens issued from the code are revoked.
        if (auto family = oauth::family_of_reuse(grant, command, r)) {
          return refused(problem_of_grant(r),
                         end_family(store, grant, *family, oauth::family_end::code_reused, ctx));
        }
      }
      return refused(problem_of_grant(r));
    }
    if (!scopes || scopes->empty()) {
      return refused(invalid_grant("The user may no longer grant these scopes in this workspace"));
    }
    if (client.tokens_not_before && issued->issued_at <= *client.tokens_not_before) {
      return refused(invalid_grant("The code was issued before the client was disabled"));
    }
    auto audience = resource_for(resource, issued->resource);
    if (!audience) return refused(audience.error());
    auto done = execute(
        store, oauth::grant_stream_id(*grant_id), std::move(grant),
        [&](const oauth::grant_state& s) { return oauth::decide(s, command); }, ctx, d_.random,
        now);
    if (!done) return refused(problem_of_grant(done.error()));
    return tokens_of(client, done->state, std::move(*scopes), command.family_id, audience.value(),
                     std::move(refresh), done->position.last_seq);
  });
}

domain::result<issued_tokens, token_refusal> token_service::refresh(
    infra::event_store& store, const oauth::client_state& client, std::string_view refresh_token,
    const std::optional<std::string_view>& scope, const std::optional<std::string_view>& resource,
    const request_context& ctx) const {
  if (!has_grant(client, oauth::grant_type::refresh_token)) {
    return refused(oauth_problem("unauthorized_client", "The client may not use refresh_token"));
  }
  std::vector<std::string> asked;
  if (scope) {
    auto parsed = oauth::parse_scope_parameter(*scope);
    if (!parsed) return refused(oauth_problem("invalid_scope", "scope is malformed"));
    asked = std::move(*parsed);
  }
  const auto grant_id = grant_id_in(refresh_token, refresh_prefix);
  if (!grant_id) return refused(invalid_grant("The refresh token is invalid"));
  const auto hash = d_.hasher.hash_hex(refresh_token);
  return retrying_conflicts([&](int) -> domain::result<issued_tokens, token_refusal> {
    auto grant = load_grant(store, *grant_id);
    if (!grant.exists) return refused(invalid_grant("The refresh token is invalid"));
    const auto now = d_.clock.now();
    oauth::rotate_refresh command;
    command.grant_id = *grant_id;
    command.refresh_hash = hash;
    command.client_id = client.client_id;
    infra::secret next(mint_token(refresh_prefix, *grant_id));
    command.new_refresh_hash = d_.hasher.hash_hex(next.reveal());
    command.scopes = asked;
    command.idle_lifetime = client.settings.refresh_idle_lifetime;
    command.now = now;
    const auto decided = oauth::decide(grant, command);
    if (!decided) {
      const auto r = decided.error();
      if (r == oauth::grant_rejection::refresh_reused) {
        if (auto family = oauth::family_of_reuse(grant, command, r)) {
          return refused(problem_of_grant(r),
                         end_family(store, grant, *family, oauth::family_end::refresh_reused, ctx));
        }
      }
      return refused(problem_of_grant(r));
    }
    const auto* family = grant.family_of_refresh(hash);
    if (client.tokens_not_before && family->last_used_at <= *client.tokens_not_before) {
      // Disabling the client ended its tokens for good.
      return refused(invalid_grant("The refresh token was issued before the client was disabled"),
                     end_family(store, grant, family->family_id, oauth::family_end::revoked, ctx));
    }
    auto scopes =
        grantable_now(asked.empty() ? family->scopes : asked, grant.user_id, grant.workspace_id);
    if (!scopes) {
      // The user left the workspace: the family ends for good.
      return refused(
          invalid_grant("The user is no longer a member of the workspace"),
          end_family(store, grant, family->family_id, oauth::family_end::user_removed, ctx));
    }
    if (scopes->empty()) {
      return refused(invalid_grant("The user may no longer grant these scopes in this workspace"));
    }
    auto audience = resource_for(resource, family->resource);
    if (!audience) return refused(audience.error());
    const auto family_id = family->family_id;
    auto done = execute(
        store, oauth::grant_stream_id(*grant_id), std::move(grant),
        [&](const oauth::grant_state& s) { return oauth::decide(s, command); }, ctx, d_.random,
        now);
    if (!done) return refused(problem_of_grant(done.error()));
    return tokens_of(client, done->state, std::move(*scopes), family_id, audience.value(),
                     std::move(next), done->position.last_seq);
  });
}

domain::result<std::uint64_t, problem> token_service::revoke(infra::event_store& store,
                                                             const oauth::client_state& client,
                                                             std::string_view token,
                                                             const request_context& ctx) const {
  const auto not_yours = [] {
    return oauth_problem("invalid_request", "The token was not issued to this client");
  };
  if (auto grant_id = grant_id_in(token, refresh_prefix)) {
    const auto grant = load_grant(store, *grant_id);
    const auto* family =
        grant.exists ? grant.family_of_refresh(d_.hasher.hash_hex(token)) : nullptr;
    if (family == nullptr) return std::uint64_t{0};
    if (grant.client_id != client.client_id) return not_yours();
    return end_family(store, grant, family->family_id, oauth::family_end::revoked, ctx);
  }
  const auto payload = d_.signer.verify(token);
  if (!payload) return std::uint64_t{0};
  const auto claims = infra::decode_claims(*payload);
  if (!claims || claims->issuer != d_.settings.issuer) return std::uint64_t{0};
  if (claims->client_id != client.client_id) return not_yours();
  const auto now = d_.clock.now();
  const oauth::revoke_access_token command{claims->jti, claims->client_id, claims->workspace_id,
                                           claims->expires_at, now};
  try {
    auto done = execute(
        store, oauth::access_token_stream_id(claims->jti), oauth::access_token_state{},
        [&](const oauth::access_token_state& s) { return oauth::decide(s, command); }, ctx,
        d_.random, now);
    if (!done) return std::uint64_t{0};
    return done->position.last_seq;
  } catch (const infra::error& e) {
    // Revoked by a concurrent request already: the outcome is the same.
    if (e.code() == infra::errc::conflict) return std::uint64_t{0};
    throw;
  }
}

}  // namespace keyledger::services
