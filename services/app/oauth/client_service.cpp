#include "services/app/oauth/client_service.hpp"

#include <array>
#include <span>

#include "domain/encoding.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/secret.hpp"
#include "infra/json/oauth_codec.hpp"
#include "services/app/command_executor.hpp"
#include "services/app/event_sourcing.hpp"

namespace keyledger::services {
namespace {

namespace oauth = domain::oauth;
using domain::problem;
using domain::problem_kind;

constexpr std::string_view manage_scope = "workspace:admin";

problem forbidden_to_manage() {
  return problem::of(problem_kind::forbidden, "FORBIDDEN",
                     "Only owners and admins of the workspace manage its OAuth apps");
}

}  // namespace

problem problem_of(oauth::client_rejection r) {
  using R = oauth::client_rejection;
  switch (r) {
    case R::client_not_found:
    case R::client_deleted:
      return problem::of(problem_kind::not_found, "NOT_FOUND");
    case R::client_already_exists:
      return problem::of(problem_kind::conflict, "CONFLICT", "The client already exists");
    case R::invalid_name:
      return problem::invalid("name",
                              "field 'name' must be 1-64 printable characters after trimming and "
                              "must not be an API key");
    case R::invalid_redirect_uris:
      return problem::invalid("redirect_uris",
                              "field 'redirect_uris' must hold at most 10 distinct https URLs "
                              "(http only to a loopback IP address), without fragment, user "
                              "info or wildcard, and at least one when authorization_code is "
                              "allowed");
    case R::invalid_grant_types:
      return problem::invalid("grant_types",
                              "field 'grant_types' must hold distinct values of "
                              "authorization_code, refresh_token (with authorization_code) and "
                              "client_credentials (confidential clients only)");
    case R::invalid_scopes:
      return problem::invalid("allowed_scopes",
                              "field 'allowed_scopes' must hold at most 32 distinct scopes of the "
                              "form resource:action");
    case R::invalid_lifetimes:
      return problem::invalid("access_token_lifetime_seconds",
                              "access tokens live 60 to 86400 seconds; refresh tokens 3600 "
                              "seconds to 365 days, idle no longer than absolute");
    case R::not_confidential:
      return problem::of(problem_kind::conflict, "NOT_CONFIDENTIAL",
                         "A public client has no secret to rotate");
    case R::invalid_grace_period:
      return problem::invalid("grace_period_seconds",
                              "field 'grace_period_seconds' must be an integer from 0 to 2592000");
    case R::invalid_client_id:
    case R::invalid_workspace:
    case R::invalid_secret:
      break;
  }
  return problem::of(problem_kind::internal, "INTERNAL");
}

client_service::client_service(const infra::hmac_key_hasher& hasher, domain::random_source& random,
                               const domain::clock& clock)
    : hasher_(hasher), random_(random), clock_(clock) {}

infra::secret client_service::mint_secret() const {
  std::array<std::uint8_t, 32> bytes{};
  random_.fill(bytes);
  return infra::secret(std::string(client_secret_prefix) +
                       domain::base64url_encode(std::span<const std::uint8_t>(bytes)));
}

oauth::client_state client_service::load(infra::event_store& store,
                                         std::string_view client_id) const {
  return fold_stream<oauth::client_state>(store, oauth::client_stream_id(client_id),
                                          infra::decode_client_event);
}

domain::result<client_with_secret, problem> client_service::register_client(
    infra::event_store& store, const principal& actor, oauth::client_type type,
    const oauth::client_settings& settings, const request_context& ctx) const {
  if (!may(actor, domain::action::oauth_clients_manage, manage_scope)) {
    return forbidden_to_manage();
  }
  const auto now = clock_.now();
  infra::secret secret;
  oauth::register_client command;
  command.client_id = domain::new_id(oauth::client_id_tag, random_);
  command.workspace_id = actor.workspace_id;
  command.type = type;
  command.settings = settings;
  if (type == oauth::client_type::confidential) {
    secret = mint_secret();
    command.secret_hash = hasher_.hash_hex(secret.reveal());
  }
  command.registered_by = actor.user_id.empty() ? actor.key_id : actor.user_id;
  command.now = now;
  auto done = execute(
      store, oauth::client_stream_id(command.client_id), oauth::client_state{},
      [&command](const oauth::client_state& s) { return oauth::decide(s, command); }, ctx, random_,
      now);
  if (!done) return problem_of(done.error());
  return client_with_secret{std::move(secret), std::move(done->state), done->position.last_seq};
}

domain::result<changed_client, problem> client_service::run(infra::event_store& store,
                                                            const principal& actor,
                                                            std::string_view client_id,
                                                            const oauth::client_command& command,
                                                            const request_context& ctx) const {
  if (!oauth::valid_client_id(client_id))
    return problem_of(oauth::client_rejection::client_not_found);
  auto state = load(store, client_id);
  // Another workspace's client does not exist for this caller.
  if (!state.exists || state.workspace_id != actor.workspace_id) {
    return problem_of(oauth::client_rejection::client_not_found);
  }
  if (!may(actor, domain::action::oauth_clients_manage, manage_scope)) {
    return forbidden_to_manage();
  }
  auto done = execute(
      store, oauth::client_stream_id(client_id), std::move(state),
      [&command](const oauth::client_state& s) { return oauth::decide(s, command); }, ctx, random_,
      clock_.now());
  if (!done) return problem_of(done.error());
  return changed_client{std::move(done->state), done->position.last_seq};
}

domain::result<changed_client, problem> client_service::update(
    infra::event_store& store, const principal& actor, std::string_view client_id,
    const oauth::client_settings_patch& changes, const request_context& ctx) const {
  return run(store, actor, client_id,
             oauth::update_client{std::string(client_id), changes, clock_.now()}, ctx);
}

domain::result<client_with_secret, problem> client_service::rotate_secret(
    infra::event_store& store, const principal& actor, std::string_view client_id,
    std::chrono::seconds grace_period, const request_context& ctx) const {
  auto secret = mint_secret();
  auto done =
      run(store, actor, client_id,
          oauth::rotate_client_secret{std::string(client_id), hasher_.hash_hex(secret.reveal()),
                                      grace_period, clock_.now()},
          ctx);
  if (!done) return done.error();
  return client_with_secret{std::move(secret), std::move(done->client), done->global_seq};
}

domain::result<changed_client, problem> client_service::disable(infra::event_store& store,
                                                                const principal& actor,
                                                                std::string_view client_id,
                                                                const request_context& ctx) const {
  return run(store, actor, client_id, oauth::disable_client{std::string(client_id), clock_.now()},
             ctx);
}

domain::result<changed_client, problem> client_service::enable(infra::event_store& store,
                                                               const principal& actor,
                                                               std::string_view client_id,
                                                               const request_context& ctx) const {
  return run(store, actor, client_id, oauth::enable_client{std::string(client_id), clock_.now()},
             ctx);
}

domain::result<changed_client, problem> client_service::remove(infra::event_store& store,
                                                               const principal& actor,
                                                               std::string_view client_id,
                                                               const request_context& ctx) const {
  return run(store, actor, client_id, oauth::delete_client{std::string(client_id), clock_.now()},
             ctx);
}

bool client_service::authenticate(const oauth::client_state& client,
                                  std::string_view presented) const {
  if (!presented.starts_with(client_secret_prefix)) return false;
  const auto hash = hasher_.hash_hex(presented);
  // Every accepted hash is compared, in constant time (CRYPTO_memcmp).
  bool match = false;
  for (const auto accepted : client.accepted_secret_hashes(clock_.now())) {
    match = infra::constant_time_equal(hash, accepted) || match;
  }
  return match;
}

}  // namespace keyledger::services
