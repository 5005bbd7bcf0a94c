#include "domain/oauth/client.hpp"

#include <algorithm>

#include "domain/encoding.hpp"
#include "domain/keys/key_settings.hpp"
#include "domain/net.hpp"
#include "domain/overloaded.hpp"

namespace keyledger::domain::oauth {
namespace {

using decision = result<std::vector<client_event>, client_rejection>;

template <class T>
bool has_duplicates(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) != v.end();
}

bool has(const std::vector<grant_type>& grants, grant_type g) {
  return std::find(grants.begin(), grants.end(), g) != grants.end();
}

std::optional<client_rejection> check_lifetimes(const client_settings& s) {
  const bool access_ok = s.access_token_lifetime >= min_access_token_lifetime &&
                         s.access_token_lifetime <= max_access_token_lifetime;
  const bool refresh_ok = s.refresh_idle_lifetime >= min_refresh_lifetime &&
                          s.refresh_absolute_lifetime <= max_refresh_lifetime &&
                          s.refresh_idle_lifetime <= s.refresh_absolute_lifetime;
  if (!access_ok || !refresh_ok) return client_rejection::invalid_lifetimes;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(client_type t) noexcept {
  return t == client_type::public_client ? "public" : "confidential";
}

std::optional<client_type> parse_client_type(std::string_view text) noexcept {
  if (text == "confidential") return client_type::confidential;
  if (text == "public") return client_type::public_client;
  return std::nullopt;
}

std::string_view to_string(grant_type g) noexcept {
  switch (g) {
    case grant_type::authorization_code:
      return "authorization_code";
    case grant_type::refresh_token:
      return "refresh_token";
    case grant_type::client_credentials:
      return "client_credentials";
  }
  return "";
}

std::optional<grant_type> parse_grant_type(std::string_view text) noexcept {
  for (const auto g : {grant_type::authorization_code, grant_type::refresh_token,
                       grant_type::client_credentials}) {
    if (to_string(g) == text) return g;
  }
  return std::nullopt;
}

client_settings client_settings_patch::applied_to(client_settings base) const {
  if (name) base.name = *name;
  if (redirect_uris) base.redirect_uris = *redirect_uris;
  if (grant_types) base.grant_types = *grant_types;
  if (allowed_scopes) base.allowed_scopes = *allowed_scopes;
  if (access_token_lifetime) base.access_token_lifetime = *access_token_lifetime;
  if (refresh_idle_lifetime) base.refresh_idle_lifetime = *refresh_idle_lifetime;
  if (refresh_absolute_lifetime) base.refresh_absolute_lifetime = *refresh_absolute_lifetime;
  return base;
}

bool valid_redirect_uri(std::string_view uri) noexcept {
  if (uri.empty() || uri.size() > max_redirect_uri_length) return false;
  // Printable ASCII only: no spaces, controls, or bytes a browser would normalise.
  const bool printable = std::all_of(uri.begin(), uri.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
  if (!printable) return false;
  // A fragment is never allowed (RFC 6749 3.1.2), nor a pattern.
  if (uri.find('#') != std::string_view::npos || uri.find('*') != std::string_view::npos) {
    return false;
  }
  const auto colon = uri.find("://");
  if (colon == std::string_view::npos) return false;
  const auto scheme = uri.substr(0, colon);
  const bool https = scheme == "https";
  if (!https && scheme != "http") return false;  // lowercase only: matched by exact string
  auto rest = uri.substr(colon + 3);
  const auto authority = rest.substr(0, std::min(rest.find_first_of("/?"), rest.size()));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  // host[:port]; an IPv6 literal in brackets.
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
    }
  } else if (const auto p = authority.rfind(':'); p != std::string_view::npos) {
    host = authority.substr(0, p);
    port = authority.substr(p + 1);
  }
  if (host.empty()) return false;
  if (authority.find(':') != std::string_view::npos && port.empty() && authority.front() != '[') {
    return false;
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    const int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) return false;
  }
  if (https) {
    const bool name_chars = std::all_of(host.begin(), host.end(), [](char c) {
      return is_ascii_alnum(c) || c == '-' || c == '.' || c == ':';
    });
    return name_chars && host.front() != '.' && host.back() != '.';
  }
  // http: a loopback IP literal only (RFC 8252 7.3; "localhost" may resolve elsewhere).
  const auto ip = parse_ip(host);
  return ip.has_value() && is_loopback(*ip);
}

std::string_view to_string(client_rejection r) noexcept {
  switch (r) {
    case client_rejection::client_not_found:
      return "client_not_found";
    case client_rejection::client_already_exists:
      return "client_already_exists";
    case client_rejection::client_deleted:
      return "client_deleted";
    case client_rejection::invalid_client_id:
      return "invalid_client_id";
    case client_rejection::invalid_workspace:
      return "invalid_workspace";
    case client_rejection::invalid_name:
      return "invalid_name";
    case client_rejection::invalid_redirect_uris:
      return "invalid_redirect_uris";
    case client_rejection::invalid_grant_types:
      return "invalid_grant_types";
    case client_rejection::invalid_scopes:
      return "invalid_scopes";
    case client_rejection::invalid_lifetimes:
      return "invalid_lifetimes";
    case client_rejection::invalid_secret:
      return "invalid_secret";
    case client_rejection::not_confidential:
      return "not_confidential";
    case client_rejection::invalid_grace_period:
      return "invalid_grace_period";
  }
  return "unknown";
}

std::optional<client_rejection> check_settings(const client_settings& s, client_type type) {
  if (!valid_key_name(s.name, true)) return client_rejection::invalid_name;
  const auto& g = s.grant_types;
  if (g.empty() || has_duplicates(g)) return client_rejection::invalid_grant_types;
  if (has(g, grant_type::refresh_token) && !has(g, grant_type::authorization_code)) {
    return client_rejection::invalid_grant_types;
  }
  // A public client cannot keep a secret, so it cannot act on its own behalf.
  if (type == client_type::public_client && has(g, grant_type::client_credentials)) {
    return client_rejection::invalid_grant_types;
  }
  const auto& uris = s.redirect_uris;
  if (uris.size() > max_redirect_uris || has_duplicates(uris) ||
      !std::all_of(uris.begin(), uris.end(),
                   [](const std::string& u) { return valid_redirect_uri(u); })) {
    return client_rejection::invalid_redirect_uris;
  }
  if (has(g, grant_type::authorization_code) && uris.empty()) {
    return client_rejection::invalid_redirect_uris;
  }
  if (!valid_scopes(s.allowed_scopes)) return client_rejection::invalid_scopes;
  return check_lifetimes(s);
}

std::string_view event_type(const client_event& e) noexcept {
  return std::visit(
      overloaded{
          [](const client_registered&) { return std::string_view("ClientRegistered"); },
          [](const client_updated&) { return std::string_view("ClientUpdated"); },
          [](const client_secret_rotated&) { return std::string_view("ClientSecretRotated"); },
          [](const client_disabled&) { return std::string_view("ClientDisabled"); },
          [](const client_enabled&) { return std::string_view("ClientEnabled"); },
          [](const client_deleted&) { return std::string_view("ClientDeleted"); },
      },
      e);
}

std::vector<std::string_view> client_state::accepted_secret_hashes(timestamp now) const {
  std::vector<std::string_view> out;
  if (!exists || deleted || !enabled || type != client_type::confidential) return out;
  if (!secret_hash.empty()) out.push_back(secret_hash);
  if (!previous_secret_hash.empty() && previous_valid_until && now < *previous_valid_until) {
    out.push_back(previous_secret_hash);
  }
  return out;
}

bool valid_client_id(std::string_view id) noexcept { return valid_id(client_id_tag, id); }

std::string client_stream_id(std::string_view client_id) {
  std::string out = "oauth_client-";
  out.append(client_id);
  return out;
}

namespace {

std::optional<client_rejection> live(const client_state& s) {
  if (!s.exists) return client_rejection::client_not_found;
  if (s.deleted) return client_rejection::client_deleted;
  return std::nullopt;
}

decision decide_register(const client_state& state, const register_client& c) {
  if (state.exists) return client_rejection::client_already_exists;
  if (!valid_client_id(c.client_id)) return client_rejection::invalid_client_id;
  if (c.workspace_id.empty() || c.registered_by.empty()) return client_rejection::invalid_workspace;
  if (auto bad = check_settings(c.settings, c.type)) return *bad;
  const bool confidential = c.type == client_type::confidential;
  if (confidential != is_keyed_hash(c.secret_hash) || (!confidential && !c.secret_hash.empty())) {
    return client_rejection::invalid_secret;
  }
  return std::vector<client_event>{client_registered{
      c.client_id, c.workspace_id, c.type, c.settings, c.secret_hash, c.registered_by, c.now}};
}

decision decide_update(const client_state& state, const update_client& c) {
  if (auto bad = live(state)) return *bad;
  const auto after = c.changes.applied_to(state.settings);
  if (auto bad = check_settings(after, state.type)) return *bad;
  // Only what really differs is recorded.
  client_settings_patch changed;
  const auto& before = state.settings;
  if (after.name != before.name) changed.name = after.name;
  if (after.redirect_uris != before.redirect_uris) changed.redirect_uris = after.redirect_uris;
  if (after.grant_types != before.grant_types) changed.grant_types = after.grant_types;
  if (after.allowed_scopes != before.allowed_scopes) changed.allowed_scopes = after.allowed_scopes;
  if (after.access_token_lifetime != before.access_token_lifetime) {
    changed.access_token_lifetime = after.access_token_lifetime;
  }
  if (after.refresh_idle_lifetime != before.refresh_idle_lifetime) {
    changed.refresh_idle_lifetime = after.refresh_idle_lifetime;
  }
  if (after.refresh_absolute_lifetime != before.refresh_absolute_lifetime) {
    changed.refresh_absolute_lifetime = after.refresh_absolute_lifetime;
  }
  if (changed == client_settings_patch{}) return std::vector<client_event>{};
  return std::vector<client_event>{client_updated{c.client_id, std::move(changed), c.now}};
}

decision decide_rotate(const client_state& state, const rotate_client_secret& c) {
  if (auto bad = live(state)) return *bad;
  if (state.type != client_type::confidential) return client_rejection::not_confidential;
  if (!is_keyed_hash(c.secret_hash) || c.secret_hash == state.secret_hash) {
    return client_rejection::invalid_secret;
  }
  if (c.grace_period < std::chrono::seconds(0) || c.grace_period > max_secret_grace_period) {
    return client_rejection::invalid_grace_period;
  }
  return std::vector<client_event>{
      client_secret_rotated{c.client_id, c.secret_hash, c.now + c.grace_period, c.now}};
}

}  // namespace

result<std::vector<client_event>, client_rejection> decide(const client_state& state,
                                                           const client_command& command) {
  return std::visit(overloaded{
                        [&](const register_client& c) { return decide_register(state, c); },
                        [&](const update_client& c) { return decide_update(state, c); },
                        [&](const rotate_client_secret& c) { return decide_rotate(state, c); },
                        [&](const disable_client& c) -> decision {
                          if (auto bad = live(state)) return *bad;
                          if (!state.enabled) return std::vector<client_event>{};
                          return std::vector<client_event>{client_disabled{c.client_id, c.now}};
                        },
                        [&](const enable_client& c) -> decision {
                          if (auto bad = live(state)) return *bad;
                          if (state.enabled) return std::vector<client_event>{};
                          return std::vector<client_event>{client_enabled{c.client_id, c.now}};
                        },
                        [&](const delete_client& c) -> decision {
                          if (auto bad = live(state)) return *bad;
                          return std::vector<client_event>{client_deleted{c.client_id, c.now}};
                        },
                    },
                    command);
}

client_state evolve(client_state state, const client_event& event) {
  std::visit(overloaded{
                 [&](const client_registered& e) {
                   state.exists = true;
                   state.client_id = e.client_id;
                   state.workspace_id = e.workspace_id;
                   state.type = e.type;
                   state.settings = e.settings;
                   state.secret_hash = e.secret_hash;
                   state.registered_at = e.registered_at;
                 },
                 [&](const client_updated& e) {
                   state.settings = e.changes.applied_to(state.settings);
                   state.updated_at = e.updated_at;
                 },
                 [&](const client_secret_rotated& e) {
                   state.previous_secret_hash = state.secret_hash;
                   state.previous_valid_until = e.previous_valid_until;
                   state.secret_hash = e.secret_hash;
                   state.updated_at = e.rotated_at;
                 },
                 [&](const client_disabled& e) {
                   state.enabled = false;
                   state.updated_at = e.at;
                   state.tokens_not_before = e.at;
                 },
                 [&](const client_enabled& e) {
                   state.enabled = true;
                   state.updated_at = e.at;
                 },
                 [&](const client_deleted& e) {
                   state.deleted = true;
                   state.enabled = false;
                   state.updated_at = e.at;
                 },
             },
             event);
  ++state.version;
  return state;
}

}  // namespace keyledger::domain::oauth
