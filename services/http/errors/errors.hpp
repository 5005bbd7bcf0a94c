#pragma once

// The one place where a domain::problem becomes HTTP: the status of each kind, and one
// renderer per surface - keyledger JSON for the API, RFC 6749 section 5.2 JSON for OAuth
// endpoints, HTML for pages. Internal details never go here; they go to the log. Every 503
// carries Retry-After.

#include <chrono>
#include <string_view>

#include "domain/keys/api_key.hpp"
#include "domain/problem.hpp"
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

/// The HTTP status of a kind of problem.
unsigned status_of(domain::problem_kind kind) noexcept;

/// The kind a status stands for (the HTTP server's own answers name a status).
domain::problem_kind kind_of_status(unsigned status) noexcept;

// ---- renderers --------------------------------------------------------------------------

/// keyledger JSON: {"error":<title>,"message":<text>,"code":<code>,"request_id":<id>}, plus
/// "retry_after" and a Retry-After header for rate_limited; Retry-After: 1 on 503 and on
/// IDEMPOTENCY_IN_PROGRESS.
infra::http_response json_error(const domain::problem& p, std::string_view request_id);

/// RFC 6749 section 5.2: {"error":<code>,"error_description":<text>} with Cache-Control:
/// no-store. A problem whose code is an OAuth error code (lowercase: invalid_grant, ...) keeps
/// it; any other is named by its kind (invalid_request, invalid_client, access_denied,
/// server_error, temporarily_unavailable). invalid_client on 401 carries WWW-Authenticate.
infra::http_response oauth_error(const domain::problem& p);

/// Text made safe inside HTML element content and double-quoted attribute values (& < > " ').
std::string html_escape(std::string_view s);

/// A small HTML page naming the problem (text escaped), with the pages' security headers
/// (Content-Security-Policy frame-ancestors 'none', X-Frame-Options: DENY, no-store).
infra::http_response html_error(const domain::problem& p, std::string_view request_id);

// ---- what other layers report, as problems ----------------------------------------------

/// An infra error (storage, overload, conflict, ...) as the client sees it.
domain::problem problem_of(infra::errc e);

/// A domain rejection as the client sees it (INVALID_FIELD naming the field, 404, 409).
domain::problem problem_of(domain::rejection r);

/// A refused user, role or session command: forbidden 403 FORBIDDEN, not_found 404 NOT_FOUND,
/// invalid_* 400 INVALID_FIELD naming the field, already_member 409 ALREADY_MEMBER, last_owner
/// 409 LAST_OWNER, invalid_token 400 INVALID_TOKEN, weak_password 400 WEAK_PASSWORD,
/// bad_credentials 401 INVALID_CREDENTIALS, choose_workspace 400 CHOOSE_WORKSPACE, throttled
/// 429 RATE_LIMITED (with `retry_after`).
domain::problem problem_of(user_error e,
                           std::chrono::seconds retry_after = std::chrono::seconds(60));

/// A refused verification. `gateway` (GET /v1/check): the code is the verification code itself
/// (401 MALFORMED, 403 FORBIDDEN_IP, ...). Otherwise (authentication of a management request)
/// 401 is UNAUTHORIZED, INSUFFICIENT_SCOPE is 403 FORBIDDEN and FORBIDDEN_IP /
/// WRONG_ENVIRONMENT keep their codes. Precondition: code != valid.
domain::problem refusal(verify_code code, std::chrono::seconds retry_after, bool gateway);

/// A refused verification as keyledger JSON; `gateway`'s 401 carries WWW-Authenticate: Bearer.
infra::http_response refusal_response(verify_code code, std::chrono::seconds retry_after,
                                      std::string_view request_id, bool gateway);

/// For the HTTP server's built-in answers (limits, deadlines); stamps Keyledger-Version too.
infra::error_renderer make_error_renderer();

}  // namespace keyledger::services
