// Reading the settings of a key from a create or PATCH body, and the paging parameters.
#include <algorithm>
#include <charconv>
#include <string>

#include "domain/net.hpp"
#include "domain/people/policy.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/keys/key_endpoints.hpp"
#include "services/http/router/form.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {
namespace {

using domain::problem;

constexpr std::size_t max_page = 100;

bool read_rate_limit(const call& c, const infra::json_body& body, domain::key_settings_patch& out) {
  if (body.is_null("rate_limit")) {
    out.limit = std::optional<domain::rate_limit>{};
    return true;
  }
  auto object = body.get_object("rate_limit");
  if (!object) return invalid(c, "rate_limit", "field 'rate_limit' must be an object or null");
  if (!object.value()) return true;
  const auto& rl = *object.value();
  if (auto unknown = rl.first_unknown_field({"limit", "window_seconds"})) {
    answer(c, unknown_member("rate_limit", *unknown));
    return false;
  }
  auto limit = rl.get_int("limit");
  auto window = rl.get_int("window_seconds");
  if (limit && !limit.value()) return missing(c, "rate_limit.limit");
  if (window && !window.value()) return missing(c, "rate_limit.window_seconds");
  // A member of the wrong type is "not an integer" to the domain's check.
  auto checked = domain::check_rate_limit(limit ? limit.value() : std::nullopt,
                                          window ? window.value() : std::nullopt);
  if (!checked) {
    answer(c, checked.error());
    return false;
  }
  out.limit = std::optional<domain::rate_limit>{checked.value()};
  return true;
}

/// Scopes a caller may put on a key: well-formed (400), then the application's rules
/// (services/app/key_authorization.hpp: the catalog, the role, no escalation). Answers itself.
bool scopes_acceptable(const call& c, const std::vector<std::string>& scopes,
                       const workspace_entry& ws) {
  if (!domain::valid_scopes(scopes)) {
    answer(c, problem_of(domain::rejection::invalid_scopes));
    return false;
  }
  if (auto refused = refuse_key_scopes(*c.who, scopes, ws.scope_catalog)) {
    answer(c, *refused);
    return false;
  }
  return true;
}

}  // namespace

bool read_settings(const call& c, const infra::json_body& body, const workspace_entry& ws,
                   domain::key_settings_patch& out) {
  const auto& policy = ws.policy;
  std::optional<std::string> name;
  if (!take(c, body.get_string("name"), name) ||
      !take(c, body.get_string_array("scopes"), out.scopes) ||
      !take(c, body.get_string_array("allowed_cidrs"), out.allowed_cidrs) ||
      !take(c, body.get_bool("off_the_record"), out.off_the_record) ||
      !take(c, body.get_bool("enabled"), out.enabled)) {
    return false;
  }
  if (name) {
    auto normalized = domain::normalize_key_name(*name);
    if (!domain::valid_key_name(normalized, policy.names_allow_spaces)) {
      return invalid(c, "name",
                     policy.names_allow_spaces
                         ? "field 'name' must be 1-64 printable characters after trimming "
                           "(no control or invisible characters) and must not be an API key"
                         : "field 'name' must be 1-64 printable characters after trimming, "
                           "without spaces (this workspace's rule), and must not be an API "
                           "key");
    }
    out.name = std::move(normalized);
  }
  if (out.scopes && !scopes_acceptable(c, *out.scopes, ws)) return false;
  if (out.allowed_cidrs) {
    if (out.allowed_cidrs->size() > domain::max_allowed_cidrs) {
      return invalid(c, "allowed_cidrs", "field 'allowed_cidrs' holds more than 32 entries");
    }
    for (std::size_t i = 0; i < out.allowed_cidrs->size(); ++i) {
      if (!domain::parse_cidr((*out.allowed_cidrs)[i])) {
        return invalid(c, "allowed_cidrs",
                       "field 'allowed_cidrs': entry " + std::to_string(i + 1) +
                           " is not an IPv4/IPv6 address or CIDR with its host bits zero");
      }
    }
  }
  if (body.is_null("postback_url")) {
    out.postback_url = std::string();
  } else {
    if (!take(c, body.get_string("postback_url"), out.postback_url)) return false;
    if (out.postback_url && !domain::valid_postback_url(*out.postback_url)) {
      answer(c, problem_of(domain::rejection::invalid_postback_url));
      return false;
    }
  }
  return read_rate_limit(c, body, out);
}

std::optional<std::size_t> page_limit(const call& c, std::size_t fallback) {
  const auto text = c.query_value("limit");
  if (!text) return fallback;
  std::size_t value = 0;
  const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || p != text->data() + text->size() || value < 1 || value > max_page) {
    invalid(c, "limit", "query parameter 'limit' must be an integer from 1 to 100");
    return std::nullopt;
  }
  return value;
}

}  // namespace keyledger::services::http
