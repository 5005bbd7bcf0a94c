#pragma once

// The one error value of keyledger: what every layer returns when it refuses something, and
// what services/http/errors renders for each surface (keyledger JSON for the API, RFC 6749
// error/error_description for OAuth endpoints, HTML for pages). The kind decides the status
// (in one place, services/http/errors); the code is stable and machine-readable; the text is
// public (never an internal detail, never a secret). Standard library only.

#include <chrono>
#include <string>
#include <string_view>

namespace keyledger::domain {

/// What went wrong, as far as the caller is concerned. One HTTP status per kind.
enum class problem_kind {
  invalid,             ///< the request is malformed or a field is wrong (400)
  unauthenticated,     ///< no or bad credentials (401)
  forbidden,           ///< authenticated, not allowed (403)
  not_found,           ///< no such resource, or not one the caller may see (404)
  method_not_allowed,  ///< the path exists, the method does not (405)
  conflict,            ///< the resource's state refuses it (409)
  too_large,           ///< the body is too large (413)
  unsupported_media,   ///< the body is not of an accepted type (415)
  unprocessable,       ///< understood, but cannot be processed (422)
  rate_limited,        ///< too many requests (429, Retry-After)
  headers_too_large,   ///< the header block is too large (431)
  unavailable,         ///< try again shortly (503, Retry-After)
  internal,            ///< our fault (500); the detail goes to the log only
};

struct problem {
  problem_kind kind = problem_kind::internal;
  /// Stable, machine-readable: INVALID_FIELD, MISSING_FIELD, NOT_FOUND, KEY_REVOKED, ...
  std::string_view code = "INTERNAL";
  /// The request field concerned ("name", "rate_limit.limit", a query parameter), or "".
  std::string field;
  /// Public text for a person; "" means the code's standard text.
  std::string text;
  /// For rate_limited and unavailable: when to retry (0: the surface's default).
  std::chrono::seconds retry_after{0};

  /// 400 INVALID_FIELD about `field` (may be "" when the text names several).
  static problem invalid(std::string field, std::string text) {
    return {problem_kind::invalid, "INVALID_FIELD", std::move(field), std::move(text)};
  }
  /// 400 MISSING_FIELD: "field '<field>' is required".
  static problem missing(std::string field) {
    std::string text = "field '" + field + "' is required";
    return {problem_kind::invalid, "MISSING_FIELD", std::move(field), std::move(text)};
  }
  /// A problem of `kind` with `code` and, optionally, a text.
  static problem of(problem_kind kind, std::string_view code, std::string text = {}) {
    return {kind, code, {}, std::move(text)};
  }
};

}  // namespace keyledger::domain
