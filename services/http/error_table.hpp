#pragma once

#include <chrono>
#include <string_view>

#include "domain/api_key.hpp"
#include "infra/core/error.hpp"
#include "infra/http/server.hpp"
#include "services/app/user_service.hpp"
#include "services/app/verifier.hpp"

namespace keyledger::services {

/// The API version this server answers with (the Keyledger-Version header), and the only one
/// it accepts in requests.
inline constexpr std::string_view api_version = "2026-11-23";

/// Adds `Keyledger-Version: <api_version>` unless the response has one already.
void stamp_version(infra::http_response& r);

/// The one place where failures become HTTP: status, a stable machine-readable `code`, the
/// public `error` title and `message`, and the `request_id`. Internal details (exception
/// texts) never go here; they go to the log. Every 503 carries Retry-After: 1.
///
/// Body: {"error":<title>,"message":<message>,"code":<code>,"request_id":<id>}
infra::http_response error_response(unsigned status, std::string_view code,
                                    std::string_view message, std::string_view request_id);

/// The standard answer for a status/code pair (401, 403 and 429 use the documented texts).
infra::http_response error_response(unsigned status, std::string_view code,
                                    std::string_view request_id);

/// An infra error (storage, overload, conflict, ...) as the client sees it.
infra::http_response error_response(infra::errc e, std::string_view request_id);

/// A domain rejection as the client sees it (400 INVALID_FIELD naming the field, 404, 409).
infra::http_response error_response(domain::rejection r, std::string_view request_id);

/// A refused user, role or session command as the client sees it: forbidden 403 FORBIDDEN,
/// not_found 404 NOT_FOUND, invalid_* 400 INVALID_FIELD naming the field, already_member 409
/// ALREADY_MEMBER, last_owner 409 LAST_OWNER, invalid_token 400 INVALID_TOKEN, weak_password
/// 400 WEAK_PASSWORD, bad_credentials 401 INVALID_CREDENTIALS, choose_workspace 400
/// CHOOSE_WORKSPACE, throttled 429 RATE_LIMITED (with `retry_after`).
infra::http_response error_response(user_error e, std::string_view request_id,
                                    std::chrono::seconds retry_after = std::chrono::seconds(60));

/// 429 RATE_LIMITED: {"error":"Rate limit exceeded","message":"Too many requests. Please try
/// again later","retry_after":N,"code":"RATE_LIMITED","request_id":...} + Retry-After: N.
infra::http_response rate_limited_response(std::chrono::seconds retry_after,
                                           std::string_view request_id);

/// A refused verification as an HTTP error. `gateway` (GET /v1/check): the body's code is the
/// verification code itself (401 MALFORMED, 403 FORBIDDEN_IP, ...) and 401 carries
/// WWW-Authenticate: Bearer. Otherwise (authentication of a management request) 401 is
/// UNAUTHORIZED, INSUFFICIENT_SCOPE is 403 FORBIDDEN and FORBIDDEN_IP / WRONG_ENVIRONMENT keep
/// their codes. Precondition: code != valid.
infra::http_response refusal_response(verify_code code, std::chrono::seconds retry_after,
                                      std::string_view request_id, bool gateway);

/// For the HTTP server's built-in answers (limits, deadlines); stamps Keyledger-Version too.
infra::error_renderer make_error_renderer();

}  // namespace keyledger::services
