#pragma once

// `keyledger serve` (docs/operations.md): builds the views from the log, starts the jobs and
// serves the HTTP API until SIGINT/SIGTERM, then stops in order.

#include "infra/core/config.hpp"

namespace keyledger::services {

/// Runs the server; the process exit status. Throws infra::error for a bad configuration or an
/// unreachable database at start-up.
int serve(const infra::config& cfg);

}  // namespace keyledger::services
