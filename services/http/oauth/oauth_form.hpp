#pragma once

// The parameters of OAuth requests - the authorization endpoint's query and the token,
// introspection and revocation endpoints' form bodies - by RFC 6749's rules, which are not the
// API's: unknown parameters are ignored (3.1, 3.2), an empty value is as if absent (3.1, 3.2),
// and a parameter given twice is noted so the endpoint can refuse it (3.1: "MUST NOT be included
// more than once").

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/problem.hpp"
#include "domain/result.hpp"

namespace keyledger::services::http {

struct oauth_form {
  /// The first value of each parameter with a non-empty value, in order.
  std::vector<std::pair<std::string, std::string>> fields;
  /// The names given more than once (with a non-empty value).
  std::vector<std::string> duplicated;

  std::optional<std::string_view> get(std::string_view name) const;
  bool twice(std::string_view name) const;
};

/// Percent-encodes everything but RFC 3986's unreserved characters (for the parameters of a
/// redirect to a client: code, state, error, error_description, iss).
std::string percent_encode(std::string_view text);

/// Parses application/x-www-form-urlencoded text. Refused (invalid_request problems): a bad
/// percent escape, a control character in a name or value, more than `max_fields` parts.
domain::result<oauth_form, domain::problem> parse_oauth_form(std::string_view text,
                                                             std::size_t max_fields = 32);

}  // namespace keyledger::services::http
