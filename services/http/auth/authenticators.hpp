#pragma once

// The authenticators of the management API: an API key (verified in memory, on the I/O
// thread) and a person's session (looked up in Postgres, on the pool). OAuth client
// authentication and bearer JWTs will sit beside them.

#include <cstddef>
#include <functional>
#include <memory>

#include "infra/core/people_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {
class directory_view;
class user_service;
class verifier;
struct key_entry;
}  // namespace keyledger::services

namespace keyledger::services::http {

/// A principal for an authenticated key: its owner, the owner's role now, its effective
/// scopes.
principal principal_of(const key_entry& key, const directory_view& directory);

/// Authorization: Bearer <API key>. The verifier checks the key with the client's address and
/// the operation's scope; a refusal is answered as refusal_response (not the gateway form).
std::unique_ptr<authenticator> make_api_key_authenticator(const verifier& verify,
                                                          const directory_view& directory);

/// The keyledger_session cookie, and on every method but GET/HEAD the session's X-CSRF-Token
/// (double submit bound to the session: a cross-site form cannot read the token).
std::unique_ptr<authenticator> make_session_authenticator(
    const user_service& users, const directory_view& directory,
    std::function<infra::people_store&(std::size_t worker)> people_for, const runner& run);

}  // namespace keyledger::services::http
