#pragma once

// Where credentials sit in a request. Views into the request: never logged, never echoed.

#include <cstdint>
#include <string>
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

/// The Set-Cookie value that gives a browser its session: sent to this server only (no
/// Domain), never to scripts (HttpOnly), not on cross-site subrequests or posts (SameSite=Lax),
/// only over TLS unless the server listens on loopback (Secure). Max-Age 0 clears it.
std::string session_set_cookie(std::string_view session_id, bool loopback,
                               std::int64_t max_age_seconds);

}  // namespace keyledger::services::http
