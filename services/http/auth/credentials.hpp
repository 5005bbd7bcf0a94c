#pragma once

// Where credentials sit in a request. Views into the request: never logged, never echoed.

#include <string_view>

#include "infra/http/server.hpp"

namespace keyledger::services::http {

/// The name of the session cookie.
inline constexpr std::string_view session_cookie_name = "keyledger_session";

/// The key in `Authorization: Bearer <key>` or the bare `Authorization: <key>` (surrounding
/// blanks trimmed); "" when there is none.
std::string_view presented_key(const infra::http_request& req);

/// The session cookie (keyledger_session) of a request: the first value of the right form
/// (domain::valid_session_token), or "" when there is none.
std::string_view session_cookie(const infra::http_request& req);

}  // namespace keyledger::services::http
