#pragma once

#include <string_view>

#include "domain/api_key.hpp"
#include "infra/core/error.hpp"
#include "infra/http/server.hpp"

namespace keyledger::services {

/// The one place where failures become HTTP: status, a stable machine-readable `code`, the
/// public `error` title and `message`, and the `request_id`. Internal details (exception
/// texts) never go here; they go to the log.
///
/// Body: {"error":<title>,"message":<message>,"code":<code>,"request_id":<id>}
infra::http_response error_response(unsigned status, std::string_view code,
                                    std::string_view message, std::string_view request_id);

/// The standard answer for a status/code pair (401 and 403 use the documented texts).
infra::http_response error_response(unsigned status, std::string_view code,
                                    std::string_view request_id);

/// An infra error (storage, overload, ...) as the client sees it.
infra::http_response error_response(infra::errc e, std::string_view request_id);

/// A domain rejection as the client sees it (400/404/409).
infra::http_response error_response(domain::rejection r, std::string_view request_id);

/// For the HTTP server's built-in answers (limits, deadlines).
infra::error_renderer make_error_renderer();

}  // namespace keyledger::services
