#pragma once

// Request bodies: JSON objects for the API (form bodies: router/form.hpp).

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "infra/json/json.hpp"
#include "services/http/router/call.hpp"

namespace keyledger::services::http {

/// Checks Content-Type (application/json) and parses the JSON object body, refusing unknown
/// fields. `allow_empty`: an empty body (any Content-Type) is an empty object.
domain::result<infra::json_body, domain::problem> read_json_body(
    const infra::http_request& req, std::initializer_list<std::string_view> known,
    bool allow_empty = false);

/// read_json_body that answers `c` itself on failure.
std::optional<infra::json_body> parse_body(const call& c,
                                           std::initializer_list<std::string_view> known,
                                           bool allow_empty = false);

/// A typed optional field read from a body; a type error answers 400 INVALID_FIELD itself.
template <class T>
bool take(const call& c, domain::result<std::optional<T>, infra::json_error> r,
          std::optional<T>& out);

/// The body of a rotation, `{"grace_period_seconds"?: 0-2592000}` (default 24 hours; the
/// bounds of domain::check_grace_period), for keys and OAuth clients alike; answers 400 itself.
std::optional<std::chrono::seconds> read_grace_period(const call& c);

/// The problem of an unknown member of a nested object (`parent`.member).
domain::problem unknown_member(std::string_view parent, std::string_view member);

}  // namespace keyledger::services::http

#include "services/http/support/respond.hpp"

namespace keyledger::services::http {

template <class T>
bool take(const call& c, domain::result<std::optional<T>, infra::json_error> r,
          std::optional<T>& out) {
  if (!r) return invalid(c, "", r.error().message);
  out = std::move(r.value());
  return true;
}

}  // namespace keyledger::services::http
