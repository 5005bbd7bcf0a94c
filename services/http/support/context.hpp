#pragma once

// What endpoints of several groups derive from a call: the event metadata of a command, the
// caller's workspace, and the answers of role-based authorization.

#include <optional>
#include <string_view>

#include "domain/people/policy.hpp"
#include "domain/problem.hpp"
#include "services/app/key_authorization.hpp"
#include "services/app/key_service.hpp"
#include "services/app/principal.hpp"
#include "services/http/router/call.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services::http {

/// The metadata recorded with a command's events: the actor (the key, or the person of a
/// session), the request id, the client address, the Idempotency-Key.
request_context context_of(const call& c);

/// The caller's workspace (policy, prefix); answers 500 itself when the view lacks it.
std::optional<workspace_entry> workspace_of(const call& c, const active_key_view& view);

// Authorization answers (may_see_key, forbidden, not_found) are the application layer's:
// services/app/key_authorization.hpp.
using services::forbidden;
using services::may_see_key;
using services::not_found;

}  // namespace keyledger::services::http
