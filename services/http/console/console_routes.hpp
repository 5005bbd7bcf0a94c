#pragma once

// The web console (issue 11) at /console/: a page and its script and style, served from the
// binary with a strict Content-Security-Policy (no inline script or style, nothing from another
// origin, no framing). The console itself speaks only the public API (session cookie and
// X-CSRF-Token), like any other client. docs/console.md.

#include "services/http/router/router.hpp"

namespace keyledger::services::http {

/// GET /console (-> /console/), /console/ (the page), /console/{file} (its assets).
void add_console_routes(route_table& table);

/// The security headers every console answer carries.
void add_console_headers(infra::http_response& r);

}  // namespace keyledger::services::http
