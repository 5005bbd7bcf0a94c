#pragma once

// Webhook endpoint commands (issue 10): create, update, rotate the signing secret, disable,
// enable, delete - for the owners and admins of the endpoint's workspace (workspace.update; a
// key needs workspace:admin). Through the command executor, like every other command. An
// endpoint's signing secret ("whsec_" + base64 of 32 CSPRNG bytes) is minted here, returned
// once, and stored sealed beside the log (webhook_secrets) BEFORE the event naming its version.

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "domain/webhooks/endpoint.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/webhook_store.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/secret.hpp"
#include "services/app/key_service.hpp"
#include "services/app/principal.hpp"

namespace keyledger::services {

/// The info of the key (derived from the server secret) that seals webhook secrets.
inline constexpr std::string_view webhook_secret_sealing_info = "keyledger/webhook-secrets/v1";
/// How long the previous postback secret of a key keeps signing after a new one was minted.
inline constexpr std::chrono::hours key_secret_overlap{24};

/// An endpoint after a command; global_seq 0 when nothing was appended.
struct changed_endpoint {
  domain::webhooks::endpoint_state endpoint;
  std::uint64_t global_seq = 0;
};

/// An endpoint with a new signing secret (creation, rotation): `secret` ("whsec_...") leaves the
/// process once, in the answer.
struct endpoint_with_secret {
  infra::secret secret;
  domain::webhooks::endpoint_state endpoint;
  std::uint64_t global_seq = 0;
};

/// An endpoint refusal as the client sees it: 404 NOT_FOUND for a missing, deleted or other
/// workspace's endpoint; 400 INVALID_FIELD naming the field for a settings rule.
domain::problem problem_of(domain::webhooks::endpoint_rejection r);

/// May `actor` see and manage its workspace's webhook endpoints?
bool may_manage_webhooks(const principal& actor) noexcept;

class endpoint_service {
 public:
  endpoint_service(const infra::response_sealer& sealer, domain::random_source& random,
                   const domain::clock& clock);

  domain::result<endpoint_with_secret, domain::problem> create(
      infra::event_store& store, infra::webhook_store& secrets, const principal& actor,
      const domain::webhooks::endpoint_settings& settings, bool enabled,
      const request_context& ctx) const;

  /// The endpoint's state; exists == false when there is none.
  domain::webhooks::endpoint_state load(infra::event_store& store,
                                        std::string_view endpoint_id) const;

  /// A PATCH; `enabled` (when set) disables or enables it in the same request.
  domain::result<changed_endpoint, domain::problem> update(
      infra::event_store& store, const principal& actor, std::string_view endpoint_id,
      const domain::webhooks::endpoint_settings_patch& changes, std::optional<bool> enabled,
      const request_context& ctx) const;

  /// The previous secret keeps signing (a second signature) for `overlap` (0 to 7 days).
  domain::result<endpoint_with_secret, domain::problem> rotate_secret(
      infra::event_store& store, infra::webhook_store& secrets, const principal& actor,
      std::string_view endpoint_id, std::chrono::seconds overlap, const request_context& ctx) const;

  domain::result<changed_endpoint, domain::problem> remove(infra::event_store& store,
                                                           const principal& actor,
                                                           std::string_view endpoint_id,
                                                           const request_context& ctx) const;

  /// The dispatcher's: disables an endpoint whose deliveries have failed since `failing_since`
  /// (reason failing). The event id is derived from (endpoint, failing_since), so nodes that
  /// race append one event. Returns whether this call appended it.
  bool disable_failing(infra::event_store& store, const domain::webhooks::endpoint_state& endpoint,
                       domain::timestamp failing_since) const;

  /// The HMAC keys the endpoint signs with at `now` (current version first), opened from
  /// `secrets`. A version whose row is missing or does not open is skipped (and logged).
  std::vector<infra::secret> signing_keys(infra::webhook_store& secrets,
                                          const domain::webhooks::endpoint_state& endpoint,
                                          domain::timestamp now) const;

  // ---- a key's own postback URL -------------------------------------------------------------
  // A key's postback secrets are not named by events (the key aggregate knows only its URL):
  // the newest stored version signs, and the one before it too for `key_secret_overlap` after
  // the newest was stored.

  /// Mints the key's next postback secret (the first free version above the newest); the
  /// caller checked that `actor` may update the key. Returns the "whsec_" text, shown once.
  infra::secret mint_key_secret(infra::webhook_store& secrets, std::string_view key_id) const;
  /// The HMAC keys a postback to the key's URL is signed with at `now`; none before a secret
  /// was minted (such deliveries wait and are retried, never sent unsigned).
  std::vector<infra::secret> key_signing_keys(infra::webhook_store& secrets,
                                              std::string_view key_id, domain::timestamp now) const;

 private:
  /// Mints a secret, seals and stores it under (owner, version); returns the "whsec_" text.
  infra::secret mint_and_store(infra::webhook_store& secrets, std::string_view owner,
                               std::uint32_t version) const;
  /// mint_and_store at the first free version from `version` on (a row left by a failed
  /// attempt is skipped); returns the version used.
  infra::secret mint_at_free_version(infra::webhook_store& secrets, std::string_view owner,
                                     std::uint32_t& version) const;
  std::optional<infra::secret> open_secret(infra::webhook_store& secrets, std::string_view owner,
                                           std::uint32_t version) const;
  domain::result<changed_endpoint, domain::problem> run(
      infra::event_store& store, const principal& actor, std::string_view endpoint_id,
      const domain::webhooks::endpoint_command& command, const request_context& ctx) const;

  const infra::response_sealer& sealer_;
  domain::random_source& random_;
  const domain::clock& clock_;
};

}  // namespace keyledger::services
