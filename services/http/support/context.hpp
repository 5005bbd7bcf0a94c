#pragma once

// What endpoints of several groups derive from a call: the event metadata of a command, the
// caller's workspace, and the answers of role-based authorization.

#include <optional>
#include <string_view>

#include "domain/policy.hpp"
#include "domain/problem.hpp"
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

/// May `p` see a key owned by `owner` at all (keys.read_any, or keys.read_own on its own key)?
/// Decided by the role alone: a key that may not be seen is 404, as if it did not exist.
bool may_see_key(const principal& p, std::string_view owner) noexcept;

/// 403 FORBIDDEN for `p` refused `a` (the text: the role says no, or the key's scope does).
domain::problem forbidden(const principal& p, domain::action a);

/// 403 FORBIDDEN with a text.
domain::problem forbidden(std::string text);

/// 404 NOT_FOUND.
domain::problem not_found();

}  // namespace keyledger::services::http
