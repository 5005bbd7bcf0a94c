#include "services/app/webhooks/endpoint_service.hpp"

#include <array>
#include <span>

#include "domain/webhooks/delivery.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/json/webhook_codec.hpp"
#include "services/app/command_executor.hpp"
#include "services/app/event_sourcing.hpp"

namespace keyledger::services {
namespace {

namespace wh = domain::webhooks;
using domain::problem;
using domain::problem_kind;

constexpr std::string_view manage_scope = "workspace:admin";

problem forbidden_to_manage() {
  return problem::of(problem_kind::forbidden, "FORBIDDEN",
                     "Only owners and admins of the workspace manage its webhook endpoints");
}

/// What a sealed secret is bound to: a row copied under another owner or version does not open.
std::string associated_data(std::string_view owner, std::uint32_t version) {
  return std::string(owner) + "/" + std::to_string(version);
}

}  // namespace

problem problem_of(wh::endpoint_rejection r) {
  using R = wh::endpoint_rejection;
  switch (r) {
    case R::endpoint_not_found:
    case R::endpoint_deleted:
      return problem::of(problem_kind::not_found, "NOT_FOUND");
    case R::endpoint_already_exists:
      return problem::of(problem_kind::conflict, "CONFLICT", "The endpoint already exists");
    case R::invalid_url:
      return problem::invalid("url",
                              "field 'url' must be an https URL (http only to a loopback "
                              "address) of at most 2048 characters, without user info or "
                              "fragment");
    case R::invalid_event_types:
      return problem::invalid("event_types",
                              "field 'event_types' must hold 1-32 distinct event types of the "
                              "catalog or the wildcards *, key.*, oauth.*, oauth.client.*");
    case R::invalid_overlap:
      return problem::invalid("overlap_seconds",
                              "field 'overlap_seconds' must be an integer from 0 to 604800");
    case R::invalid_endpoint_id:
    case R::invalid_workspace:
    case R::invalid_secret_version:
      break;
  }
  return problem::of(problem_kind::internal, "INTERNAL");
}

bool may_manage_webhooks(const principal& actor) noexcept {
  return may(actor, domain::action::workspace_update, manage_scope);
}

endpoint_service::endpoint_service(const infra::response_sealer& sealer,
                                   domain::random_source& random, const domain::clock& clock)
    : sealer_(sealer), random_(random), clock_(clock) {}

infra::secret endpoint_service::mint_and_store(infra::webhook_store& secrets,
                                               std::string_view owner,
                                               std::uint32_t version) const {
  std::array<std::uint8_t, 32> key{};
  random_.fill(key);
  const infra::secret raw(std::string(reinterpret_cast<const char*>(key.data()), key.size()));
  secrets.put_secret(owner, version, sealer_.seal(raw.reveal(), associated_data(owner, version)));
  infra::secret text(wh::secret_text(key));
  key.fill(0);
  return text;
}

infra::secret endpoint_service::mint_at_free_version(infra::webhook_store& secrets,
                                                     std::string_view owner,
                                                     std::uint32_t& version) const {
  for (int tries = 0;; ++tries, ++version) {
    try {
      return mint_and_store(secrets, owner, version);
    } catch (const infra::error& e) {
      if (e.code() != infra::errc::conflict || tries == 7) throw;
    }
  }
}

std::optional<infra::secret> endpoint_service::open_secret(infra::webhook_store& secrets,
                                                           std::string_view owner,
                                                           std::uint32_t version) const {
  const auto sealed = secrets.get_secret(owner, version);
  auto key = sealed ? sealer_.open(*sealed, associated_data(owner, version)) : std::nullopt;
  if (!key) {
    infra::log(infra::log_level::error, "webhook_secret_unavailable",
               {{"owner_id", std::string(owner)}, {"version", std::to_string(version)}});
    return std::nullopt;
  }
  return infra::secret(std::move(*key));
}

wh::endpoint_state endpoint_service::load(infra::event_store& store,
                                          std::string_view endpoint_id) const {
  return fold_stream<wh::endpoint_state>(store, wh::endpoint_stream_id(endpoint_id),
                                         infra::decode_endpoint_event);
}

domain::result<endpoint_with_secret, problem> endpoint_service::create(
    infra::event_store& store, infra::webhook_store& secrets, const principal& actor,
    const wh::endpoint_settings& settings, bool enabled, const request_context& ctx) const {
  if (!may_manage_webhooks(actor)) return forbidden_to_manage();
  if (auto bad = wh::check_settings(settings)) return problem_of(*bad);
  const auto now = clock_.now();
  wh::create_endpoint command;
  command.endpoint_id = domain::new_id(wh::endpoint_id_tag, random_);
  command.workspace_id = actor.workspace_id;
  command.settings = settings;
  command.enabled = enabled;
  command.created_by = actor.user_id.empty() ? actor.key_id : actor.user_id;
  command.now = now;
  // The secret first: an event never names a version whose secret is not stored.
  auto secret = mint_and_store(secrets, command.endpoint_id, 1);
  auto done = execute(
      store, wh::endpoint_stream_id(command.endpoint_id), wh::endpoint_state{},
      [&command](const wh::endpoint_state& s) { return wh::decide(s, command); }, ctx, random_,
      now);
  if (!done) return problem_of(done.error());
  return endpoint_with_secret{std::move(secret), std::move(done->state), done->position.last_seq};
}

domain::result<changed_endpoint, problem> endpoint_service::run(infra::event_store& store,
                                                                const principal& actor,
                                                                std::string_view endpoint_id,
                                                                const wh::endpoint_command& command,
                                                                const request_context& ctx) const {
  if (!wh::valid_endpoint_id(endpoint_id)) {
    return problem_of(wh::endpoint_rejection::endpoint_not_found);
  }
  auto state = load(store, endpoint_id);
  // Another workspace's endpoint does not exist for this caller.
  if (!state.exists || state.workspace_id != actor.workspace_id) {
    return problem_of(wh::endpoint_rejection::endpoint_not_found);
  }
  if (!may_manage_webhooks(actor)) return forbidden_to_manage();
  auto done = execute(
      store, wh::endpoint_stream_id(endpoint_id), std::move(state),
      [&command](const wh::endpoint_state& s) { return wh::decide(s, command); }, ctx, random_,
      clock_.now());
  if (!done) return problem_of(done.error());
  return changed_endpoint{std::move(done->state), done->position.last_seq};
}

domain::result<changed_endpoint, problem> endpoint_service::update(
    infra::event_store& store, const principal& actor, std::string_view endpoint_id,
    const wh::endpoint_settings_patch& changes, std::optional<bool> enabled,
    const request_context& ctx) const {
  const std::string id(endpoint_id);
  auto done = run(store, actor, endpoint_id, wh::update_endpoint{id, changes, clock_.now()}, ctx);
  if (!done || !enabled) return done;
  wh::endpoint_command toggle = wh::enable_endpoint{id, clock_.now()};
  if (!*enabled) toggle = wh::disable_endpoint{id, wh::disable_reason::manual, {}, clock_.now()};
  auto toggled = run(store, actor, endpoint_id, toggle, ctx);
  if (!toggled) return toggled;
  if (toggled->global_seq == 0) toggled->global_seq = done->global_seq;
  return toggled;
}

domain::result<endpoint_with_secret, problem> endpoint_service::rotate_secret(
    infra::event_store& store, infra::webhook_store& secrets, const principal& actor,
    std::string_view endpoint_id, std::chrono::seconds overlap, const request_context& ctx) const {
  if (!wh::valid_endpoint_id(endpoint_id)) {
    return problem_of(wh::endpoint_rejection::endpoint_not_found);
  }
  const auto state = load(store, endpoint_id);
  if (!state.exists || state.deleted || state.workspace_id != actor.workspace_id) {
    return problem_of(wh::endpoint_rejection::endpoint_not_found);
  }
  if (!may_manage_webhooks(actor)) return forbidden_to_manage();
  if (overlap < std::chrono::seconds(0) || overlap > wh::max_secret_overlap) {
    return problem_of(wh::endpoint_rejection::invalid_overlap);
  }
  // The new secret is stored first, under the first free version above the current one: a row
  // left by a rotation whose append failed is an orphan nobody reads, and is skipped.
  std::uint32_t version = state.secret_version + 1;
  auto secret = mint_at_free_version(secrets, endpoint_id, version);
  auto done = run(
      store, actor, endpoint_id,
      wh::rotate_endpoint_secret{std::string(endpoint_id), version, overlap, clock_.now()}, ctx);
  if (!done) return done.error();
  return endpoint_with_secret{std::move(secret), std::move(done->endpoint), done->global_seq};
}

domain::result<changed_endpoint, problem> endpoint_service::remove(
    infra::event_store& store, const principal& actor, std::string_view endpoint_id,
    const request_context& ctx) const {
  return run(store, actor, endpoint_id, wh::delete_endpoint{std::string(endpoint_id), clock_.now()},
             ctx);
}

bool endpoint_service::disable_failing(infra::event_store& store,
                                       const wh::endpoint_state& endpoint,
                                       domain::timestamp failing_since) const {
  const auto state = load(store, endpoint.endpoint_id);
  const auto now = clock_.now();
  auto decision = wh::decide(
      state,
      wh::disable_endpoint{endpoint.endpoint_id, wh::disable_reason::failing, failing_since, now});
  if (!decision || decision->empty()) return false;
  const request_context ctx{"webhook-dispatcher", domain::new_id("req", random_), "", ""};
  std::vector<infra::new_event> events;
  const auto base = "keyledger/webhook-failing/" + endpoint.endpoint_id + "/" +
                    domain::format_timestamp(failing_since);
  for (std::size_t i = 0; i < decision->size(); ++i) {
    events.push_back(
        encode_event(decision.value()[i], derived_event_id(base + "/" + std::to_string(i))));
  }
  try {
    const auto position = store.append(wh::endpoint_stream_id(endpoint.endpoint_id), state.version,
                                       events, metadata_of(ctx), domain::to_micros(now));
    return !position.duplicate;
  } catch (const infra::error& e) {
    if (e.code() == infra::errc::conflict) return false;  // another node or a person was first
    throw;
  }
}

std::vector<infra::secret> endpoint_service::signing_keys(infra::webhook_store& secrets,
                                                          const wh::endpoint_state& endpoint,
                                                          domain::timestamp now) const {
  std::vector<infra::secret> out;
  for (const auto version : endpoint.signing_versions(now)) {
    if (auto key = open_secret(secrets, endpoint.endpoint_id, version)) {
      out.push_back(std::move(*key));
    }
  }
  return out;
}

infra::secret endpoint_service::mint_key_secret(infra::webhook_store& secrets,
                                                std::string_view key_id) const {
  const auto stored = secrets.secret_versions(key_id);
  std::uint32_t version = stored.empty() ? 1 : stored.front().version + 1;
  return mint_at_free_version(secrets, key_id, version);
}

std::vector<infra::secret> endpoint_service::key_signing_keys(infra::webhook_store& secrets,
                                                              std::string_view key_id,
                                                              domain::timestamp now) const {
  const auto stored = secrets.secret_versions(key_id);
  std::vector<infra::secret> out;
  if (stored.empty()) return out;
  if (auto current = open_secret(secrets, key_id, stored[0].version)) {
    out.push_back(std::move(*current));
  }
  const auto newest_at = domain::timestamp(std::chrono::microseconds(stored[0].created_us));
  if (stored.size() > 1 && now < newest_at + key_secret_overlap) {
    if (auto previous = open_secret(secrets, key_id, stored[1].version)) {
      out.push_back(std::move(*previous));
    }
  }
  return out;
}

}  // namespace keyledger::services
