#include "services/app/oauth/signing_key_service.hpp"

#include <utility>
#include <variant>

#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/jws.hpp"
#include "infra/crypto/secret.hpp"
#include "infra/json/signing_key_codec.hpp"
#include "services/app/command_executor.hpp"
#include "services/app/event_sourcing.hpp"

namespace keyledger::services {
namespace {

namespace oauth = domain::oauth;
using domain::problem;
using domain::problem_kind;

constexpr std::string_view schedule_actor = "signing-key-schedule";

bool is_conflict(const infra::error& e) noexcept { return e.code() == infra::errc::conflict; }

problem changed_meanwhile() {
  return problem::of(problem_kind::conflict, "CONFLICT",
                     "The signing keys changed meanwhile (another node or command): try again");
}

}  // namespace

std::string_view to_string(signing_key_step::kind k) noexcept {
  switch (k) {
    case signing_key_step::kind::nothing:
      return "nothing";
    case signing_key_step::kind::created:
      return "created";
    case signing_key_step::kind::activated:
      return "activated";
    case signing_key_step::kind::lost_race:
      return "lost_race";
  }
  return "unknown";
}

signing_key_service::signing_key_service(const infra::response_sealer& sealer,
                                         domain::random_source& random, const domain::clock& clock,
                                         oauth::rotation_policy policy)
    : sealer_(sealer), random_(random), clock_(clock), policy_(policy) {
  if (!oauth::valid(policy_)) {
    throw infra::error(infra::errc::config, "signing key rotation: overlap must be in (0, every)");
  }
}

oauth::signing_key_set load_signing_keys(infra::event_store& events) {
  return fold_stream<oauth::signing_key_set>(events, oauth::signing_keys_stream_id,
                                             infra::decode_signing_key_event);
}

domain::result<signing_key_step, oauth::signing_key_rejection> signing_key_service::create(
    infra::event_store& events, infra::signing_key_store& secrets,
    const oauth::signing_key_set& state, oauth::key_activation activation,
    domain::timestamp activate_after, domain::timestamp now, const request_context& ctx) const {
  const auto key = infra::es256_key::generate();
  oauth::create_signing_key command;
  command.kid = domain::new_id(oauth::signing_key_id_tag, random_);
  command.public_jwk = key.public_key().to_jwk(command.kid);
  command.activation = activation;
  command.activate_after = activate_after;
  command.now = now;
  auto done = execute(
      events, oauth::signing_keys_stream_id, state,
      [&](const oauth::signing_key_set& s) {
        auto decision = oauth::decide(s, command);
        // Decided, not yet appended: the private half is stored first, so that no event ever
        // names a key whose private half could be missing. Sealed under the kid: a row copied
        // to another kid does not open.
        if (decision)
          secrets.put(command.kid, sealer_.seal(key.to_pkcs8_der().reveal(), command.kid));
        return decision;
      },
      ctx, random_, now);
  if (!done) return done.error();
  return signing_key_step{signing_key_step::kind::created, command.kid, done->position.last_seq};
}

signing_key_step signing_key_service::run_schedule(infra::event_store& events,
                                                   infra::signing_key_store& secrets) const {
  const auto now = clock_.now();
  const auto state = load(events);
  const auto due = oauth::plan(state, now, policy_);
  if (!due) return {};
  const request_context ctx{std::string(schedule_actor), domain::new_id("req", random_), "", ""};
  try {
    if (const auto* key = std::get_if<oauth::new_key_due>(&*due)) {
      auto made = create(events, secrets, state, key->activation, key->activate_after, now, ctx);
      if (!made) {
        throw infra::error(infra::errc::internal,
                           std::string("signing key schedule: the plan was refused: ") +
                               std::string(oauth::to_string(made.error())));
      }
      return made.value();
    }
    const auto& activate = std::get<oauth::activate_signing_key>(*due);
    auto done = execute(
        events, oauth::signing_keys_stream_id, state,
        [&](const oauth::signing_key_set& s) { return oauth::decide(s, activate); }, ctx, random_,
        now);
    if (!done) {
      throw infra::error(infra::errc::internal,
                         std::string("signing key schedule: the activation was refused: ") +
                             std::string(oauth::to_string(done.error())));
    }
    return {signing_key_step::kind::activated, activate.kid, done->position.last_seq};
  } catch (const infra::error& e) {
    if (is_conflict(e)) return {signing_key_step::kind::lost_race, "", 0};
    throw;
  }
}

bool signing_key_service::opens(infra::signing_key_store& secrets, const std::string& kid) const {
  const auto sealed = secrets.get(kid);
  if (!sealed) return false;
  auto opened = sealer_.open(*sealed, kid);
  if (!opened) return false;
  const infra::secret wiped(std::move(*opened));  // only its opening mattered
  return true;
}

domain::result<signing_key_step, problem> signing_key_service::rotate(
    infra::event_store& events, infra::signing_key_store& secrets, bool immediately,
    const request_context& ctx) const {
  const auto now = clock_.now();
  const auto state = load(events);
  if (const auto* active = state.active(); active != nullptr && !opens(secrets, active->kid)) {
    return problem::of(problem_kind::conflict, "WRONG_SERVER_SECRET",
                       "This server secret does not open the active key " + active->kid +
                           ": use the servers' KEYLEDGER_DATA_DIR or KEYLEDGER_SECRET_FILE");
  }
  auto activation = oauth::key_activation::emergency;
  auto activate_after = now;
  if (!immediately) {
    if (const auto* pending = state.pending()) {
      return problem::of(problem_kind::conflict, "PENDING_KEY_EXISTS",
                         "Key " + pending->kid + " already waits for its activation (not before " +
                             domain::format_timestamp(pending->activate_after) +
                             "); rotate --immediately replaces every key now");
    }
    if (state.active() == nullptr) {
      activation = oauth::key_activation::at_once;
    } else {
      activation = oauth::key_activation::scheduled;
      activate_after = now + policy_.overlap;
    }
  }
  try {
    auto made = create(events, secrets, state, activation, activate_after, now, ctx);
    if (!made) return changed_meanwhile();
    return made.value();
  } catch (const infra::error& e) {
    if (is_conflict(e)) return changed_meanwhile();
    throw;
  }
}

// ---- the schedule on every node --------------------------------------------------------------

signing_key_rotation::signing_key_rotation(
    const signing_key_service& service,
    std::function<std::unique_ptr<infra::event_store>()> open_events,
    std::function<std::unique_ptr<infra::signing_key_store>()> open_secrets, options opts)
    : service_(service),
      open_events_(std::move(open_events)),
      open_secrets_(std::move(open_secrets)),
      worker_("signing_key_rotation", {opts.interval, false}, [this] { pass(); }) {}

signing_key_rotation::~signing_key_rotation() { stop(); }

signing_key_step signing_key_rotation::run_once() {
  std::lock_guard lock(mutex_);
  try {
    if (!events_) events_ = open_events_();
    if (!secrets_) secrets_ = open_secrets_();
    auto step = service_.run_schedule(*events_, *secrets_);
    switch (step.what) {
      case signing_key_step::kind::created:
      case signing_key_step::kind::activated:
        infra::log(infra::log_level::info,
                   step.what == signing_key_step::kind::created ? "signing_key_created"
                                                                : "signing_key_activated",
                   {{"kid", step.kid}, {"global_seq", std::to_string(step.global_seq)}});
        break;
      case signing_key_step::kind::lost_race:
        infra::log(infra::log_level::debug, "signing_key_step_lost_race");
        break;
      case signing_key_step::kind::nothing:
        break;
    }
    return step;
  } catch (...) {
    // Perhaps a broken connection: fresh stores next time.
    events_.reset();
    secrets_.reset();
    throw;
  }
}

void signing_key_rotation::pass() { run_once(); }

void signing_key_rotation::start() { worker_.start(); }

void signing_key_rotation::stop() { worker_.stop(); }

}  // namespace keyledger::services
