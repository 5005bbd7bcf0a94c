#include "domain/keys/key_settings.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/keys/key_format.hpp"
#include "domain/net.hpp"
#include "domain/text.hpp"

namespace keyledger::domain {

namespace {

constexpr std::size_t max_key_name_code_points = 64;

bool is_hex(char c) noexcept { return hex_value(c) >= 0; }

// One half of a scope: [a-z][a-z0-9_-]{0,31}.
bool valid_scope_part(std::string_view part) noexcept {
  if (part.empty() || part.size() > 32 || !is_ascii_lower(part[0])) return false;
  return std::all_of(part.begin(), part.end(), [](char c) {
    return is_ascii_lower(c) || is_ascii_digit(c) || c == '_' || c == '-';
  });
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
    if (!is_ascii_alnum(text[i]) && text[i] != '_') {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && (is_ascii_alnum(text[end]) || text[end] == '_')) ++end;
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
  return is_ascii_alnum(c) || allowed.find(c) != std::string_view::npos;
}

bool valid_port(std::string_view port) noexcept {
  if (port.empty() || port.size() > 5) return false;
  std::uint32_t value = 0;
  for (const char c : port) {
    if (!is_ascii_digit(c)) return false;
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
    if (!is_ascii_alnum(c) && c != '-' && c != '_') return false;
  }
  const bool numeric_looking = is_ascii_digit(last_label[0]) &&
                               std::all_of(last_label.begin(), last_label.end(), [](char c) {
                                 return is_hex(c) || c == 'x' || c == 'X';
                               });
  if (numeric_looking) {
    const auto ip = parse_ip(host);
    return ip.has_value() && ip->is_v4();
  }
  return true;
}

}  // namespace

bool valid_rate_limit(const rate_limit& r) noexcept {
  return r.limit >= 1 && r.limit <= 1'000'000 && r.window_seconds >= 1 &&
         r.window_seconds <= 86'400;
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

key_settings key_settings_patch::applied_to(key_settings base) const {
  if (name) base.name = *name;
  if (scopes) base.scopes = *scopes;
  if (allowed_cidrs) base.allowed_cidrs = *allowed_cidrs;
  if (postback_url) base.postback_url = *postback_url;
  if (off_the_record) base.off_the_record = *off_the_record;
  if (enabled) base.enabled = *enabled;
  if (limit) base.limit = *limit;
  return base;
}

result<std::optional<timestamp>, problem> resolve_expiry(const expiry_choice& choice,
                                                         const key_policy& policy, timestamp now) {
  const auto max_days = std::to_string(policy.max_lifespan.count());
  if ((choice.expires_at || choice.never_expires) && choice.expires_in_days) {
    return problem::invalid("expires_at",
                            "fields 'expires_at' and 'expires_in_days' exclude each other");
  }
  if (choice.never_expires) {
    if (!policy.allow_no_expiry) {
      return problem::invalid("expires_at",
                              "field 'expires_at' may be null (no expiry) only where the "
                              "workspace allows keys without expiry");
    }
    return std::optional<timestamp>{};
  }
  if (choice.expires_at) {
    if (*choice.expires_at <= now || *choice.expires_at > now + policy.max_lifespan) {
      return problem::invalid("expires_at", "field 'expires_at' must lie in the future, at most " +
                                                max_days + " days from now");
    }
    return std::optional<timestamp>{*choice.expires_at};
  }
  if (choice.expires_in_days) {
    const auto days = *choice.expires_in_days;
    if (days < 1 || days > policy.max_lifespan.count()) {
      return problem::invalid("expires_in_days",
                              "field 'expires_in_days' must be an integer from 1 to " + max_days);
    }
    return std::optional<timestamp>{now + std::chrono::days(days)};
  }
  return std::optional<timestamp>{now + policy.default_lifespan};
}

result<rate_limit, problem> check_rate_limit(std::optional<std::int64_t> limit,
                                             std::optional<std::int64_t> window_seconds) {
  if (!limit || *limit < 1 || *limit > 1'000'000) {
    return problem::invalid("rate_limit.limit",
                            "field 'rate_limit.limit' must be an integer from 1 to 1000000");
  }
  if (!window_seconds || *window_seconds < 1 || *window_seconds > 86'400) {
    return problem::invalid("rate_limit.window_seconds",
                            "field 'rate_limit.window_seconds' must be an integer from 1 to 86400");
  }
  return rate_limit{static_cast<std::uint32_t>(*limit),
                    static_cast<std::uint32_t>(*window_seconds)};
}

result<std::chrono::seconds, problem> check_grace_period(std::int64_t seconds) {
  if (seconds < 0 || seconds > max_grace_period.count()) {
    return problem::invalid("grace_period_seconds",
                            "field 'grace_period_seconds' must be an integer from 0 to 2592000");
  }
  return std::chrono::seconds(seconds);
}

result<key_policy, problem> check_lifespans(key_policy policy,
                                            std::optional<std::int64_t> default_days,
                                            std::optional<std::int64_t> max_days) {
  for (const auto& days : {default_days, max_days}) {
    if (days && (*days < 1 || *days > max_lifespan_days)) {
      return problem::invalid("key_policy",
                              "fields 'key_policy.default_lifespan_days' and "
                              "'key_policy.max_lifespan_days' must be integers from 1 to 3650");
    }
  }
  if (default_days) policy.default_lifespan = std::chrono::days(*default_days);
  if (max_days) policy.max_lifespan = std::chrono::days(*max_days);
  if (policy.default_lifespan > policy.max_lifespan) {
    return problem::invalid("key_policy",
                            "field 'key_policy': default_lifespan_days must not exceed "
                            "max_lifespan_days");
  }
  return policy;
}

}  // namespace keyledger::domain
