#include "domain/oauth/authorization_request.hpp"

#include <algorithm>

#include "domain/encoding.hpp"
#include "domain/keys/key_settings.hpp"

namespace keyledger::domain::oauth {
namespace {

bool is_vschar(char c) noexcept { return c >= 0x20 && c <= 0x7e; }

bool all_vschar(std::string_view s) noexcept { return std::all_of(s.begin(), s.end(), is_vschar); }

authorization_failure shown(std::string description) {
  return {false, authorization_error::invalid_request, std::move(description), {}, {}};
}

}  // namespace

std::string_view to_string(authorization_error e) noexcept {
  switch (e) {
    case authorization_error::invalid_request:
      return "invalid_request";
    case authorization_error::unauthorized_client:
      return "unauthorized_client";
    case authorization_error::access_denied:
      return "access_denied";
    case authorization_error::unsupported_response_type:
      return "unsupported_response_type";
    case authorization_error::invalid_scope:
      return "invalid_scope";
    case authorization_error::server_error:
      return "server_error";
    case authorization_error::invalid_target:
      return "invalid_target";
  }
  return "invalid_request";
}

std::optional<std::vector<std::string>> parse_scope_parameter(std::string_view text) {
  if (text.empty() || text.size() > max_scope_parameter_length) return std::nullopt;
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find(' ', start), text.size());
    const auto token = text.substr(start, end - start);
    // An empty token: a leading, trailing or doubled space.
    if (token.empty() || !valid_scope(token)) return std::nullopt;
    out.emplace_back(token);
    start = end + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool valid_resource(std::string_view uri) noexcept {
  if (uri.empty() || uri.size() > max_redirect_uri_length) return false;
  for (const char c : uri) {
    // Printable ASCII without space; no fragment (RFC 8707 2).
    if (c <= 0x20 || c > 0x7e || c == '#') return false;
  }
  // RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':' and more.
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == uri.size()) return false;
  if (!is_ascii_lower(uri[0]) && !is_ascii_upper(uri[0])) return false;
  for (const char c : uri.substr(0, colon)) {
    if (!is_ascii_alnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

bool valid_s256_challenge(std::string_view challenge) noexcept {
  return challenge.size() == 43 && std::all_of(challenge.begin(), challenge.end(),
                                               [](char c) { return base64url_value(c) >= 0; });
}

bool valid_code_verifier(std::string_view verifier) noexcept {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  return std::all_of(verifier.begin(), verifier.end(), [](char c) {
    return is_ascii_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
  });
}

result<authorization_request, authorization_failure> check_authorization_request(
    const authorization_params& p, const client_state* client) {
  const auto duplicated = [&p](std::string_view name) {
    return std::find(p.duplicated.begin(), p.duplicated.end(), name) != p.duplicated.end();
  };
  // ---- shown on a page: no redirect URI can be trusted yet ----
  if (duplicated("client_id")) return shown("client_id was sent more than once");
  if (duplicated("redirect_uri")) return shown("redirect_uri was sent more than once");
  if (!p.client_id || p.client_id->empty()) return shown("client_id is missing");
  if (client == nullptr || !client->exists || client->deleted) {
    return shown("There is no such client");
  }
  if (!client->enabled) return shown("This client is disabled");
  const auto& registered = client->settings.redirect_uris;
  std::string redirect_uri;
  if (p.redirect_uri) {
    // Exact string comparison (RFC 9700 2.1): no normalisation, no prefix, no pattern.
    if (std::find(registered.begin(), registered.end(), *p.redirect_uri) == registered.end()) {
      return shown("redirect_uri is not one the client registered");
    }
    redirect_uri = *p.redirect_uri;
  } else if (registered.size() == 1) {
    redirect_uri = registered.front();
  } else {
    return shown(registered.empty() ? "The client has no redirect URI"
                                    : "redirect_uri is required: the client registered several");
  }
  if (p.state && (p.state->size() > max_state_length || !all_vschar(*p.state))) {
    return shown("state must be at most 1024 printable ASCII characters");
  }

  // ---- sent back to the client ----
  const auto back = [&](authorization_error e, std::string description) {
    return authorization_failure{true, e, std::move(description), redirect_uri, p.state};
  };
  for (const auto& name : p.duplicated) {
    if (name == "resource") {
      return back(authorization_error::invalid_target, "one resource per request");
    }
    return back(authorization_error::invalid_request, "a parameter was sent more than once");
  }
  if (p.request_object) {
    return back(authorization_error::invalid_request, "request objects are not supported");
  }
  if (!p.response_type)
    return back(authorization_error::invalid_request, "response_type is missing");
  if (*p.response_type != "code") {
    return back(authorization_error::unsupported_response_type, "only response_type=code");
  }
  const auto& grants = client->settings.grant_types;
  if (std::find(grants.begin(), grants.end(), grant_type::authorization_code) == grants.end()) {
    return back(authorization_error::unauthorized_client,
                "the client may not use the authorization code grant");
  }
  if (!p.code_challenge) {
    return back(authorization_error::invalid_request, "code_challenge is required (PKCE, S256)");
  }
  if (!p.code_challenge_method || *p.code_challenge_method != "S256") {
    // A missing method means "plain" (RFC 7636 4.3), which is refused as well.
    return back(authorization_error::invalid_request, "code_challenge_method must be S256");
  }
  if (!valid_s256_challenge(*p.code_challenge)) {
    return back(authorization_error::invalid_request,
                "code_challenge must be 43 base64url characters");
  }
  if (!p.scope) return back(authorization_error::invalid_scope, "scope is required");
  auto scopes = parse_scope_parameter(*p.scope);
  if (!scopes) return back(authorization_error::invalid_scope, "scope is malformed");
  const auto& allowed = client->settings.allowed_scopes;
  for (const auto& s : *scopes) {
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      return back(authorization_error::invalid_scope,
                  "a requested scope is not allowed for this client");
    }
  }
  std::string resource;
  if (p.resource) {
    if (!valid_resource(*p.resource)) {
      return back(authorization_error::invalid_target,
                  "resource must be an absolute URI without fragment");
    }
    resource = *p.resource;
  }
  return authorization_request{client->client_id, std::move(redirect_uri), std::move(*scopes),
                               p.state,           *p.code_challenge,       std::move(resource)};
}

}  // namespace keyledger::domain::oauth
