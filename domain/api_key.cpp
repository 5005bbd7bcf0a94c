#include "domain/api_key.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/key_format.hpp"
#include "domain/net.hpp"
#include "domain/overloaded.hpp"
#include "domain/text.hpp"
#include "domain/user.hpp"
#include "domain/workspace.hpp"

namespace keyledger::domain {

namespace {

using decision = result<std::vector<api_key_event>, rejection>;

constexpr std::size_t max_key_name_code_points = 64;
// The visible start is "<prefix>_<env>_" plus 4 characters: at most 10 + 1 + 4 + 1 + 4.
constexpr std::size_t max_key_start_length = 20;

bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alnum(char c) noexcept { return is_lower(c) || is_upper(c) || is_digit(c); }
bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char to_lower(char c) noexcept { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// One half of a scope: [a-z][a-z0-9_-]{0,31}.
bool valid_scope_part(std::string_view part) noexcept {
  if (part.empty() || part.size() > 32 || !is_lower(part[0])) return false;
  return std::all_of(part.begin(), part.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '_' || c == '-'; });
}

bool valid_key_hash(std::string_view hash) noexcept {
  return hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
           return is_digit(c) || (c >= 'a' && c <= 'f');
         });
}

// The start is shown in listings and stored in events, so it must never be a whole key (a
// caller bug passing the secret instead of its visible start would otherwise leak it).
bool valid_key_start(std::string_view start) noexcept {
  if (start.empty() || start.size() > max_key_start_length) return false;
  if (!std::all_of(start.begin(), start.end(), [](char c) { return is_alnum(c) || c == '_'; })) {
    return false;
  }
  return !parse_key(start).ok();
}

// ---- UTF-8 and character classes for key names -----------------------------------------

// Unicode space separators (general category Zs). They all count as "spaces" for the
// workspace rule: a no-break space must not slip past a workspace that forbids spaces.
bool is_space_separator(char32_t cp) noexcept {
  return cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// True if any maximal run of [A-Za-z0-9_] in `text` parses as an API key: a name like
// "backup kl_live_..." would otherwise store a secret in the event log.
bool contains_key(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_alnum(text[i]) && text[i] != '_') {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && (is_alnum(text[end]) || text[end] == '_')) ++end;
    if (parse_key(text.substr(i, end - i)).ok()) return true;
    i = end;
  }
  return false;
}

// ---- postback URL ------------------------------------------------------------------------

// RFC 3986 unreserved and reserved characters, plus '%' (checked separately). Everything else
// (space, quotes, angle brackets, backslash, ...) is refused rather than guessed at.
bool is_url_char(char c) noexcept {
  constexpr std::string_view allowed = "-._~:/?[]@!$&'()*+,;=%";
  return is_alnum(c) || allowed.find(c) != std::string_view::npos;
}

bool valid_port(std::string_view port) noexcept {
  if (port.empty() || port.size() > 5) return false;
  std::uint32_t value = 0;
  for (const char c : port) {
    if (!is_digit(c)) return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

// A registered name: dot-separated labels of [A-Za-z0-9_-], none empty. A name whose last
// label looks numeric must be a valid dotted quad: URL parsers read "127.1" or "0x7f.1" as an
// IPv4 address, and the loopback rule must judge the address they will actually reach.
bool valid_reg_name(std::string_view host) noexcept {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label_start = 0;
  std::string_view last_label;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      const std::string_view label = host.substr(label_start, i - label_start);
      if (label.empty() || label.size() > 63) return false;
      last_label = label;
      label_start = i + 1;
      continue;
    }
    const char c = host[i];
    if (!is_alnum(c) && c != '-' && c != '_') return false;
  }
  const bool numeric_looking =
      is_digit(last_label[0]) && std::all_of(last_label.begin(), last_label.end(), [](char c) {
        return is_hex(c) || c == 'x' || c == 'X';
      });
  if (numeric_looking) {
    const auto ip = parse_ip(host);
    return ip.has_value() && ip->is_v4();
  }
  return true;
}

// ---- decide ------------------------------------------------------------------------------

bool valid_expiry(const std::optional<timestamp>& expires_at, const key_policy& policy,
                  timestamp now) noexcept {
  if (!expires_at) return policy.allow_no_expiry;
  return *expires_at > now && *expires_at <= now + policy.max_lifespan;
}

// CIDRs in commands and events are already canonical: anything else means the caller skipped
// normalize_cidrs, and storing a non-canonical form would make equal settings compare unequal.
bool canonical_cidrs(const std::vector<std::string>& cidrs) {
  const auto normalized = normalize_cidrs(cidrs);
  return normalized.has_value() && *normalized == cidrs;
}

bool is_expired_at(const api_key_state& state, timestamp now) noexcept {
  return state.expires_at.has_value() && *state.expires_at <= now;
}

decision decide_create(const api_key_state& state, const create_key& c) {
  if (state.exists) return rejection::key_already_exists;
  if (!valid_key_policy(c.policy)) return rejection::invalid_key_policy;
  if (!valid_key_name(c.name, c.policy.names_allow_spaces)) return rejection::invalid_name;
  if (!valid_scopes(c.scopes)) return rejection::invalid_scopes;
  if (!valid_key_hash(c.key_hash)) return rejection::invalid_key_hash;
  if (!valid_key_start(c.start)) return rejection::invalid_key_start;
  if (!valid_expiry(c.expires_at, c.policy, c.now)) return rejection::invalid_expiry;
  if (!canonical_cidrs(c.allowed_cidrs)) return rejection::invalid_cidrs;
  if (!valid_postback_url(c.postback_url)) return rejection::invalid_postback_url;
  if (c.limit && !valid_rate_limit(*c.limit)) return rejection::invalid_rate_limit;
  if (!c.owner_user_id.empty() && !valid_user_id(c.owner_user_id)) return rejection::invalid_owner;

  key_created e;
  e.key_id = c.key_id;
  e.workspace_id = c.workspace_id;
  e.name = c.name;
  e.env = c.env;
  e.scopes = c.scopes;
  e.key_hash = c.key_hash;
  e.start = c.start;
  e.created_at = c.now;
  e.expires_at = c.expires_at;
  e.allowed_cidrs = c.allowed_cidrs;
  e.postback_url = c.postback_url;
  e.off_the_record = c.off_the_record;
  e.enabled = c.enabled;
  e.limit = c.limit;
  e.owner_user_id = c.owner_user_id;
  return std::vector<api_key_event>{std::move(e)};
}

decision decide_update(const api_key_state& state, const update_key& c) {
  if (!state.exists) return rejection::key_not_found;
  if (state.revoked_at) return rejection::key_revoked;
  if (is_expired_at(state, c.now)) return rejection::key_expired;
  if (!valid_key_policy(c.policy)) return rejection::invalid_key_policy;

  // Only members that really differ are recorded, and only those are validated: a setting that
  // was valid when stored stays acceptable even if the workspace's rules changed since.
  key_updated u;
  u.key_id = state.key_id;
  u.updated_at = c.now;
  bool changed = false;
  if (c.name && *c.name != state.name) {
    if (!valid_key_name(*c.name, c.policy.names_allow_spaces)) return rejection::invalid_name;
    u.name = c.name;
    changed = true;
  }
  if (c.scopes && *c.scopes != state.scopes) {
    if (!valid_scopes(*c.scopes)) return rejection::invalid_scopes;
    u.scopes = c.scopes;
    changed = true;
  }
  if (c.allowed_cidrs && *c.allowed_cidrs != state.allowed_cidrs) {
    if (!canonical_cidrs(*c.allowed_cidrs)) return rejection::invalid_cidrs;
    u.allowed_cidrs = c.allowed_cidrs;
    changed = true;
  }
  if (c.postback_url && *c.postback_url != state.postback_url) {
    if (!valid_postback_url(*c.postback_url)) return rejection::invalid_postback_url;
    u.postback_url = c.postback_url;
    changed = true;
  }
  if (c.off_the_record && *c.off_the_record != state.off_the_record) {
    u.off_the_record = c.off_the_record;
    changed = true;
  }
  if (c.limit && *c.limit != state.limit) {
    if (*c.limit && !valid_rate_limit(**c.limit)) return rejection::invalid_rate_limit;
    u.limit = c.limit;
    changed = true;
  }

  std::vector<api_key_event> events;
  if (changed) events.emplace_back(std::move(u));
  if (c.enabled && *c.enabled != state.enabled) {
    if (*c.enabled) {
      events.emplace_back(key_enabled{state.key_id, c.now});
    } else {
      events.emplace_back(key_disabled{state.key_id, c.now});
    }
  }
  return events;
}

decision decide_revoke(const api_key_state& state, const revoke_key& c) {
  if (!state.exists) return rejection::key_not_found;
  if (state.revoked_at) return rejection::key_already_revoked;
  // The aggregate's own id, not the command's: the stream was loaded by it.
  return std::vector<api_key_event>{key_revoked{state.key_id, c.now}};
}

decision decide_expire(const api_key_state& state, const expire_key& c) {
  if (!state.exists) return rejection::key_not_found;
  if (state.revoked_at || state.expiry_recorded || !is_expired_at(state, c.now)) {
    return rejection::not_due;
  }
  return std::vector<api_key_event>{key_expired{state.key_id, *state.expires_at}};
}

decision decide_warn(const api_key_state& state, const warn_key_expiry& c) {
  if (!state.exists) return rejection::key_not_found;
  if (state.revoked_at || !state.expires_at) return rejection::not_due;
  const timestamp expires_at = *state.expires_at;
  if (c.now >= expires_at || c.now < expires_at - expiry_warning_lead) return rejection::not_due;
  if (state.expiry_warned_for == expires_at) return rejection::not_due;
  return std::vector<api_key_event>{key_expiry_approaching{state.key_id, expires_at}};
}

}  // namespace

bool valid_rate_limit(const rate_limit& r) noexcept {
  return r.limit >= 1 && r.limit <= 1'000'000 && r.window_seconds >= 1 &&
         r.window_seconds <= 86'400;
}

std::string_view event_type(const api_key_event& e) noexcept {
  return std::visit(
      overloaded{
          [](const key_created&) -> std::string_view { return "KeyCreated"; },
          [](const key_updated&) -> std::string_view { return "KeyUpdated"; },
          [](const key_disabled&) -> std::string_view { return "KeyDisabled"; },
          [](const key_enabled&) -> std::string_view { return "KeyEnabled"; },
          [](const key_rotated&) -> std::string_view { return "KeyRotated"; },
          [](const key_revoked&) -> std::string_view { return "KeyRevoked"; },
          [](const key_expired&) -> std::string_view { return "KeyExpired"; },
          [](const key_expiry_approaching&) -> std::string_view { return "KeyExpiryApproaching"; },
      },
      e);
}

std::string_view to_string(key_status s) noexcept {
  switch (s) {
    case key_status::active:
      return "active";
    case key_status::disabled:
      return "disabled";
    case key_status::expired:
      return "expired";
    case key_status::revoked:
      return "revoked";
  }
  return "unknown";
}

std::optional<key_status> parse_key_status(std::string_view text) noexcept {
  if (text == "active") return key_status::active;
  if (text == "disabled") return key_status::disabled;
  if (text == "expired") return key_status::expired;
  if (text == "revoked") return key_status::revoked;
  return std::nullopt;
}

key_status api_key_state::status_at(timestamp now) const noexcept {
  if (revoked_at) return key_status::revoked;
  if (expires_at && *expires_at <= now) return key_status::expired;
  if (!enabled) return key_status::disabled;
  return key_status::active;
}

std::string_view to_string(rejection r) noexcept {
  switch (r) {
    case rejection::key_already_exists:
      return "key_already_exists";
    case rejection::key_not_found:
      return "key_not_found";
    case rejection::key_already_revoked:
      return "key_already_revoked";
    case rejection::invalid_name:
      return "invalid_name";
    case rejection::invalid_scopes:
      return "invalid_scopes";
    case rejection::invalid_key_hash:
      return "invalid_key_hash";
    case rejection::invalid_key_start:
      return "invalid_key_start";
    case rejection::workspace_already_exists:
      return "workspace_already_exists";
    case rejection::invalid_workspace_name:
      return "invalid_workspace_name";
    case rejection::invalid_key_prefix:
      return "invalid_key_prefix";
    case rejection::key_revoked:
      return "key_revoked";
    case rejection::key_expired:
      return "key_expired";
    case rejection::key_already_rotated:
      return "key_already_rotated";
    case rejection::invalid_expiry:
      return "invalid_expiry";
    case rejection::invalid_cidrs:
      return "invalid_cidrs";
    case rejection::invalid_postback_url:
      return "invalid_postback_url";
    case rejection::invalid_rate_limit:
      return "invalid_rate_limit";
    case rejection::invalid_grace_period:
      return "invalid_grace_period";
    case rejection::not_due:
      return "not_due";
    case rejection::invalid_key_policy:
      return "invalid_key_policy";
    case rejection::invalid_owner:
      return "invalid_owner";
    case rejection::workspace_not_found:
      return "workspace_not_found";
  }
  return "unknown";
}

std::string normalize_key_name(std::string_view name) { return std::string(trim_ascii(name)); }

bool valid_key_name(std::string_view name, bool allow_spaces) noexcept {
  // 64 code points take at most 256 bytes; a longer input is refused before decoding.
  if (name.empty() || name.size() > 4 * max_key_name_code_points) return false;
  std::size_t count = 0;
  std::size_t pos = 0;
  char32_t first = 0;
  char32_t last = 0;
  while (pos < name.size()) {
    const auto cp = decode_utf8(name, pos);
    if (!cp) return false;
    if (is_control(*cp) || is_invisible_format(*cp) || is_noncharacter(*cp)) return false;
    if (!allow_spaces && is_space_separator(*cp)) return false;
    if (++count > max_key_name_code_points) return false;
    if (count == 1) first = *cp;
    last = *cp;
  }
  if (is_space_separator(first) || is_space_separator(last)) return false;
  return !contains_key(name);
}

bool valid_scope(std::string_view scope) noexcept {
  const std::size_t colon = scope.find(':');
  if (colon == std::string_view::npos) return false;
  // A second ':' lands in the action part and fails its character check.
  return valid_scope_part(scope.substr(0, colon)) && valid_scope_part(scope.substr(colon + 1));
}

bool valid_scopes(const std::vector<std::string>& scopes) noexcept {
  if (scopes.size() > max_scopes) return false;
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    if (!valid_scope(scopes[i])) return false;
    // At most 32 entries: the quadratic check is cheaper than allocating a set.
    for (std::size_t j = 0; j < i; ++j) {
      if (scopes[j] == scopes[i]) return false;
    }
  }
  return true;
}

std::optional<std::vector<std::string>> normalize_cidrs(const std::vector<std::string>& cidrs) {
  if (cidrs.size() > max_allowed_cidrs) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(cidrs.size());
  for (const auto& text : cidrs) {
    const auto parsed = parse_cidr(text);
    if (!parsed) return std::nullopt;
    std::string canonical = to_string(*parsed);
    if (std::find(out.begin(), out.end(), canonical) == out.end()) {
      out.push_back(std::move(canonical));
    }
  }
  return out;
}

bool valid_postback_url(std::string_view url) noexcept {
  if (url.empty()) return true;
  if (url.size() > max_postback_url_length) return false;
  for (std::size_t i = 0; i < url.size(); ++i) {
    if (!is_url_char(url[i])) return false;  // also refuses '#': no fragment
    if (url[i] == '%' && (i + 2 >= url.size() || !is_hex(url[i + 1]) || !is_hex(url[i + 2]))) {
      return false;
    }
  }

  // scheme "://" authority [path-abempty] ["?" query]
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const std::string_view scheme = url.substr(0, scheme_end);
  const bool https = iequals_ascii(scheme, "https");
  if (!https && !iequals_ascii(scheme, "http")) return false;

  const std::size_t authority_start = scheme_end + 3;
  const std::size_t authority_end = url.find_first_of("/?", authority_start);
  const std::string_view authority = url.substr(
      authority_start, authority_end == std::string_view::npos ? std::string_view::npos
                                                               : authority_end - authority_start);
  if (authority.find('@') != std::string_view::npos) return false;  // userinfo
  if (authority.find('%') != std::string_view::npos) return false;  // no encoded hosts

  std::string_view host;
  std::optional<ip_address> literal;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    // Brackets hold IPv6 text only; "[1.2.3.4]" is not a URL host.
    if (host.find(':') == std::string_view::npos) return false;
    literal = parse_ip(host);
    if (!literal) return false;
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !valid_port(rest.substr(1)))) return false;
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos && !valid_port(authority.substr(colon + 1))) {
      return false;
    }
    if (host.find_first_of("[]") != std::string_view::npos) return false;
    if (!valid_reg_name(host)) return false;
    literal = parse_ip(host);
  }
  if (authority_end != std::string_view::npos &&
      url.substr(authority_end).find_first_of("[]") != std::string_view::npos) {
    return false;
  }
  if (https) return true;
  // Plain http only to this machine: nothing on the network can read or alter the postback.
  if (literal) return is_loopback(*literal);
  return iequals_ascii(host, "localhost");
}

std::string key_stream_id(std::string_view key_id) {
  std::string out = "api_key-";
  out.append(key_id);
  return out;
}

result<std::vector<api_key_event>, rejection> decide(const api_key_state& state,
                                                     const api_key_command& command) {
  return std::visit(overloaded{
                        [&](const create_key& c) { return decide_create(state, c); },
                        [&](const update_key& c) { return decide_update(state, c); },
                        [&](const revoke_key& c) { return decide_revoke(state, c); },
                        [&](const expire_key& c) { return decide_expire(state, c); },
                        [&](const warn_key_expiry& c) { return decide_warn(state, c); },
                    },
                    command);
}

result<rotation, rejection> decide_rotation(const api_key_state& old_key, const rotate_key& c) {
  if (!old_key.exists) return rejection::key_not_found;
  if (old_key.revoked_at) return rejection::key_revoked;
  if (is_expired_at(old_key, c.now)) return rejection::key_expired;
  if (!old_key.rotated_to.empty()) return rejection::key_already_rotated;
  if (c.grace_period < std::chrono::seconds{0} || c.grace_period > max_grace_period) {
    return rejection::invalid_grace_period;
  }
  if (!valid_key_hash(c.new_key_hash)) return rejection::invalid_key_hash;
  if (!valid_key_start(c.new_start)) return rejection::invalid_key_start;

  // The old key never lives longer than it was going to anyway.
  timestamp grace_until = c.now + c.grace_period;
  if (old_key.expires_at && *old_key.expires_at < grace_until) grace_until = *old_key.expires_at;

  // A key that was not rotated yet still carries its original expires_at, so the original
  // lifespan is expires_at - created_at.
  std::optional<timestamp> new_expires_at;
  if (old_key.expires_at) {
    auto lifespan = *old_key.expires_at - old_key.created_at;
    const auto cap = std::chrono::duration_cast<timestamp::duration>(c.policy.max_lifespan);
    if (lifespan > cap) lifespan = cap;
    new_expires_at = c.now + lifespan;
  }

  key_created created;
  created.key_id = c.new_key_id;
  created.workspace_id = old_key.workspace_id;
  created.name = old_key.name;
  created.env = old_key.env;
  created.scopes = old_key.scopes;
  created.key_hash = c.new_key_hash;
  created.start = c.new_start;
  created.created_at = c.now;
  created.expires_at = new_expires_at;
  created.allowed_cidrs = old_key.allowed_cidrs;
  created.postback_url = old_key.postback_url;
  created.off_the_record = old_key.off_the_record;
  created.enabled = old_key.enabled;
  created.limit = old_key.limit;
  created.rotated_from = old_key.key_id;
  created.owner_user_id = old_key.owner_user_id;

  return rotation{key_rotated{old_key.key_id, c.new_key_id, c.now, grace_until},
                  std::move(created)};
}

api_key_state evolve(api_key_state state, const api_key_event& event) {
  std::visit(overloaded{
                 [&](const key_created& e) {
                   state.exists = true;
                   state.key_id = e.key_id;
                   state.workspace_id = e.workspace_id;
                   state.name = e.name;
                   state.env = e.env;
                   state.scopes = e.scopes;
                   state.key_hash = e.key_hash;
                   state.start = e.start;
                   state.created_at = e.created_at;
                   state.expires_at = e.expires_at;
                   state.allowed_cidrs = e.allowed_cidrs;
                   state.postback_url = e.postback_url;
                   state.off_the_record = e.off_the_record;
                   state.enabled = e.enabled;
                   state.limit = e.limit;
                   state.rotated_from = e.rotated_from;
                   state.owner_user_id = e.owner_user_id;
                   state.rotated_to.clear();
                   state.revoked_at.reset();
                   state.expiry_recorded = false;
                   state.expiry_warned_for.reset();
                   state.updated_at.reset();
                 },
                 [&](const key_updated& e) {
                   if (e.name) state.name = *e.name;
                   if (e.scopes) state.scopes = *e.scopes;
                   if (e.allowed_cidrs) state.allowed_cidrs = *e.allowed_cidrs;
                   if (e.postback_url) state.postback_url = *e.postback_url;
                   if (e.off_the_record) state.off_the_record = *e.off_the_record;
                   if (e.limit) state.limit = *e.limit;
                   state.updated_at = e.updated_at;
                 },
                 [&](const key_disabled& e) {
                   state.enabled = false;
                   state.updated_at = e.disabled_at;
                 },
                 [&](const key_enabled& e) {
                   state.enabled = true;
                   state.updated_at = e.enabled_at;
                 },
                 [&](const key_rotated& e) {
                   state.rotated_to = e.rotated_to;
                   state.expires_at = e.grace_until;
                   state.updated_at = e.rotated_at;
                 },
                 [&](const key_revoked& e) { state.revoked_at = e.revoked_at; },
                 [&](const key_expired&) { state.expiry_recorded = true; },
                 [&](const key_expiry_approaching& e) { state.expiry_warned_for = e.expires_at; },
             },
             event);
  ++state.version;
  return state;
}

api_key_state replay(const std::vector<api_key_event>& events) {
  api_key_state state;
  for (const auto& e : events) state = evolve(std::move(state), e);
  return state;
}

}  // namespace keyledger::domain
