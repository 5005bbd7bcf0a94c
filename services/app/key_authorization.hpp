#pragma once

// Who may do what to a key: the rules beside user_service's rules for people, in the
// application layer, so that the HTTP API, the CLI, the console and OAuth all get the same
// answers. The role table is domain/policy's; these add visibility, ownership and "a key never
// reaches further than the key acting". Each returns the refusal, or nullopt to go on.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/people/policy.hpp"
#include "domain/problem.hpp"
#include "services/app/principal.hpp"

namespace keyledger::services {

/// May `p` see a key owned by `owner` at all (keys.read_any, or keys.read_own on its own key)?
/// Decided by the role alone: a key that may not be seen is 404, as if it did not exist.
bool may_see_key(const principal& p, std::string_view owner) noexcept;

/// 403 FORBIDDEN for `p` refused `a` (the text: the role says no, or the key's scope does).
domain::problem forbidden(const principal& p, domain::action a);

/// 403 FORBIDDEN with a text.
domain::problem forbidden(std::string text);

/// 404 NOT_FOUND.
domain::problem not_found();

/// A command on one existing key (`any`/`own` actions with keys:write): 404 when the key is
/// missing, another workspace's or one `who` may not see; 403 when the role or the key's scope
/// does not allow it.
std::optional<domain::problem> refuse_key_command(const principal& who,
                                                  const domain::api_key_state& k,
                                                  domain::action any, domain::action own);

/// Scopes `who` wants to put on a key: each in the workspace's catalog or a management scope
/// (else 400 INVALID_FIELD), allowed for the role (else 403), and - for a key acting - no
/// management scope the acting key does not hold itself (no escalation: a key acts with its
/// owner's rights, never more, and never mints a key reaching further than itself).
std::optional<domain::problem> refuse_key_scopes(const principal& who,
                                                 const std::vector<std::string>& scopes,
                                                 const std::vector<std::string>& catalog);

/// Rotation hands a new secret acting for the old key's owner to the caller: a key may not
/// rotate a key holding a management scope it lacks, and an owner's key holding users:write is
/// rotated by owners only. `owner_role`: the old key's owner's role now (nullopt: none).
std::optional<domain::problem> refuse_rotation(const principal& who,
                                               const domain::api_key_state& old_key,
                                               std::optional<domain::role> owner_role);

}  // namespace keyledger::services
