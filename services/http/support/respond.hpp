#pragma once

// Small answers every endpoint group gives.

#include <string>
#include <string_view>

#include "domain/problem.hpp"
#include "infra/http/server.hpp"
#include "services/http/router/call.hpp"

namespace keyledger::services::http {

/// JSON response with `status` and `body`.
infra::http_response json_response(unsigned status, std::string body);

/// 204 without a body.
infra::http_response no_content();

/// Answers `c` with the problem as keyledger JSON.
void answer(const call& c, const domain::problem& p);

/// Answers `c` with 400 INVALID_FIELD about `field` and returns false (for `if (!...) return`).
bool invalid(const call& c, std::string field, std::string text);

/// Answers `c` with 400 MISSING_FIELD and returns false.
bool missing(const call& c, std::string field);

}  // namespace keyledger::services::http
