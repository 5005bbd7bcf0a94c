#pragma once

// OAuth client commands (issue 8): register, update, rotate the secret, disable, enable,
// delete - for the owners and admins of the client's workspace (oauth_clients.manage; a key
// needs workspace:admin). Through the command executor, like every other command. A confidential
// client's secret is minted here, returned once and stored only as its keyed hash.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "domain/oauth/client.hpp"
#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "infra/core/event_store.hpp"
#include "infra/crypto/secret.hpp"
#include "services/app/key_service.hpp"
#include "services/app/principal.hpp"

namespace keyledger::infra {
class hmac_key_hasher;
}

namespace keyledger::services {

/// A client after a command; global_seq 0 when nothing was appended.
struct changed_client {
  domain::oauth::client_state client;
  std::uint64_t global_seq = 0;
};

/// A client with a new secret (registration of a confidential client, rotation): `secret` leaves
/// the process once, in the answer; empty for a public client.
struct client_with_secret {
  infra::secret secret;
  domain::oauth::client_state client;
  std::uint64_t global_seq = 0;
};

/// Client secrets look like "klcs_" + 43 base64url characters (32 CSPRNG bytes): a scanner can
/// tell one from an API key.
inline constexpr std::string_view client_secret_prefix = "klcs_";

/// A client refusal as the client sees it: 404 NOT_FOUND for a missing, deleted or other
/// workspace's client; 400 INVALID_FIELD naming the field for a settings rule; 409 for a
/// conflict of state.
domain::problem problem_of(domain::oauth::client_rejection r);

class client_service {
 public:
  client_service(const infra::hmac_key_hasher& hasher, domain::random_source& random,
                 const domain::clock& clock);

  domain::result<client_with_secret, domain::problem> register_client(
      infra::event_store& store, const principal& actor, domain::oauth::client_type type,
      const domain::oauth::client_settings& settings, const request_context& ctx) const;

  /// The client's state; exists == false when there is none.
  domain::oauth::client_state load(infra::event_store& store, std::string_view client_id) const;

  domain::result<changed_client, domain::problem> update(
      infra::event_store& store, const principal& actor, std::string_view client_id,
      const domain::oauth::client_settings_patch& changes, const request_context& ctx) const;

  /// The previous secret keeps working for `grace_period` (0 to 30 days).
  domain::result<client_with_secret, domain::problem> rotate_secret(
      infra::event_store& store, const principal& actor, std::string_view client_id,
      std::chrono::seconds grace_period, const request_context& ctx) const;

  domain::result<changed_client, domain::problem> disable(infra::event_store& store,
                                                          const principal& actor,
                                                          std::string_view client_id,
                                                          const request_context& ctx) const;
  domain::result<changed_client, domain::problem> enable(infra::event_store& store,
                                                         const principal& actor,
                                                         std::string_view client_id,
                                                         const request_context& ctx) const;
  domain::result<changed_client, domain::problem> remove(infra::event_store& store,
                                                         const principal& actor,
                                                         std::string_view client_id,
                                                         const request_context& ctx) const;

  /// Whether `presented` is the client's secret now (or the previous one within its grace).
  bool authenticate(const domain::oauth::client_state& client, std::string_view presented) const;

 private:
  /// Runs a command on an existing client of the actor's workspace.
  domain::result<changed_client, domain::problem> run(infra::event_store& store,
                                                      const principal& actor,
                                                      std::string_view client_id,
                                                      const domain::oauth::client_command& command,
                                                      const request_context& ctx) const;
  infra::secret mint_secret() const;

  const infra::hmac_key_hasher& hasher_;
  domain::random_source& random_;
  const domain::clock& clock_;
};

}  // namespace keyledger::services
