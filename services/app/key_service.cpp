#include "services/app/key_service.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <variant>

#include "domain/keys/key_format.hpp"
#include "domain/people/policy.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "services/app/command_executor.hpp"
#include "services/app/event_sourcing.hpp"

namespace keyledger::services {
namespace {

domain::api_key_state load_key(infra::event_store& store, std::string_view key_id) {
  return fold_stream<domain::api_key_state>(store, domain::key_stream_id(key_id),
                                            infra::decode_api_key_event);
}

/// How often a person's key command is decided when only notices keep getting in its way.
constexpr int notice_attempts = 3;

/// True when every event of the key's stream after `version` is a notice (domain::is_notice).
bool only_notices_after(infra::event_store& store, std::string_view key_id, std::uint64_t version) {
  for (const auto& recorded : store.read_stream(domain::key_stream_id(key_id))) {
    if (recorded.version <= version) continue;
    auto event = infra::decode_api_key_event(recorded.type, recorded.payload);
    if (!event || !domain::is_notice(*event)) return false;
  }
  return true;
}

/// Runs `once(loaded_version)`, which loads the key (writing the version it loaded), decides and
/// appends, and runs it again when its append conflicted with notices alone: a background job's
/// expiry warning between a person's load and append is no reason to refuse the person. A
/// conflict with any other event (another person's command, an expiry, a leak) propagates, so
/// of two concurrent commands on one key one still wins and the other is refused.
template <class Once>
auto deciding_past_notices(infra::event_store& store, std::string_view key_id, Once&& once) {
  for (int attempt = 1;; ++attempt) {
    std::uint64_t loaded_version = 0;
    try {
      return once(loaded_version);
    } catch (const infra::error& e) {
      if (e.code() != infra::errc::conflict || attempt == notice_attempts ||
          !only_notices_after(store, key_id, loaded_version)) {
        throw;
      }
    }
  }
}

/// A key command through the executor; a key of another workspace is, to this caller, a key
/// that does not exist.
domain::result<executed<domain::api_key_state>, domain::rejection> execute_on_key(
    infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
    const domain::api_key_command& command, const request_context& ctx,
    domain::random_source& random, domain::timestamp now) {
  return deciding_past_notices(store, key_id, [&](std::uint64_t& loaded_version) {
    auto state = load_key(store, key_id);
    loaded_version = state.version;
    using outcome = domain::result<executed<domain::api_key_state>, domain::rejection>;
    if (state.exists && state.workspace_id != workspace_id) {
      return outcome(domain::rejection::key_not_found);
    }
    return execute(
        store, domain::key_stream_id(key_id), std::move(state),
        [&command](const domain::api_key_state& s) { return domain::decide(s, command); }, ctx,
        random, now);
  });
}

/// A fresh secret with its keyed hash and visible start.
struct minted_key {
  infra::secret key;
  std::string hash_hex;
  std::string start;
};

minted_key mint(const infra::hmac_key_hasher& hasher, std::string_view prefix,
                domain::environment env, domain::random_source& random) {
  infra::secret key(domain::generate_key(prefix, env, random));
  auto parsed = domain::parse_key(key.reveal());
  if (!parsed) throw infra::error(infra::errc::internal, "generated key does not parse");
  auto start = domain::visible_start(parsed.value());
  auto hash = hasher.hash_hex(key.reveal());
  return {std::move(key), std::move(hash), std::move(start)};
}

}  // namespace

bool plausible_key_id(std::string_view id) noexcept {
  if (id.size() != 4 + 22 || id.substr(0, 4) != "key_") return false;
  for (char c : id.substr(4)) {
    if (domain::base62_alphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

key_service::key_service(const infra::hmac_key_hasher& hasher, domain::random_source& random,
                         const domain::clock& clock)
    : hasher_(hasher), random_(random), clock_(clock) {}

domain::result<created_key, domain::rejection> key_service::create(
    infra::event_store& store, const create_key_input& input, const request_context& ctx) const {
  const auto now = clock_.now();
  // The domain's one rule for the expiry (the HTTP API already named the field that broke it).
  auto expires_at = domain::resolve_expiry(input.expiry, input.policy, now);
  if (!expires_at) return domain::rejection::invalid_expiry;
  auto cidrs = domain::normalize_cidrs(input.settings.allowed_cidrs);
  if (!cidrs) return domain::rejection::invalid_cidrs;
  if (!domain::valid_key_prefix(input.key_prefix)) return domain::rejection::invalid_key_prefix;

  // The secret is generated here and leaves only through the returned value; the command and
  // its event carry the keyed hash and the visible start.
  auto minted = mint(hasher_, input.key_prefix, input.env, random_);
  domain::create_key command;
  command.key_id = domain::new_id("key", random_);
  command.workspace_id = input.workspace_id;
  command.settings = input.settings;
  command.settings.name = domain::normalize_key_name(input.settings.name);
  command.settings.allowed_cidrs = std::move(*cidrs);
  command.env = input.env;
  command.key_hash = minted.hash_hex;
  command.start = minted.start;
  command.expires_at = expires_at.value();
  command.owner_user_id = input.owner_user_id;
  command.policy = input.policy;
  command.now = now;
  const std::string key_id = command.key_id;
  auto outcome = execute_on_key(store, key_id, input.workspace_id, command, ctx, random_, now);
  if (!outcome) return outcome.error();
  return created_key{std::move(minted.key), std::move(outcome->state), outcome->position.last_seq};
}

domain::result<changed_key, domain::rejection> key_service::update(
    infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
    const domain::key_policy& policy, const update_key_input& input,
    const request_context& ctx) const {
  const auto now = clock_.now();
  domain::update_key command;
  command.key_id = std::string(key_id);
  command.changes = input;
  if (input.name) command.changes.name = domain::normalize_key_name(*input.name);
  if (input.allowed_cidrs) {
    auto cidrs = domain::normalize_cidrs(*input.allowed_cidrs);
    if (!cidrs) return domain::rejection::invalid_cidrs;
    command.changes.allowed_cidrs = std::move(*cidrs);
  }
  command.policy = policy;
  command.now = now;
  auto outcome = execute_on_key(store, key_id, workspace_id, command, ctx, random_, now);
  if (!outcome) return outcome.error();
  return changed_key{std::move(outcome->state), outcome->position.last_seq};
}

domain::result<rotated_key, domain::rejection> key_service::rotate(
    infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
    std::string_view key_prefix, const domain::key_policy& policy,
    std::chrono::seconds grace_period, const request_context& ctx) const {
  const auto now = clock_.now();
  return deciding_past_notices(store, key_id, [&](std::uint64_t& loaded_version) {
    return rotate_once(store, key_id, workspace_id, key_prefix, policy, grace_period, ctx, now,
                       loaded_version);
  });
}

domain::result<rotated_key, domain::rejection> key_service::rotate_once(
    infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
    std::string_view key_prefix, const domain::key_policy& policy,
    std::chrono::seconds grace_period, const request_context& ctx, domain::timestamp now,
    std::uint64_t& loaded_version) const {
  auto old_key = load_key(store, key_id);
  loaded_version = old_key.version;
  if (!old_key.exists || old_key.workspace_id != workspace_id) {
    return domain::rejection::key_not_found;
  }
  if (!domain::valid_key_prefix(key_prefix)) return domain::rejection::invalid_key_prefix;

  auto minted = mint(hasher_, key_prefix, old_key.env, random_);
  domain::rotate_key command;
  command.key_id = old_key.key_id;
  command.new_key_id = domain::new_id("key", random_);
  command.new_key_hash = minted.hash_hex;
  command.new_start = minted.start;
  command.grace_period = grace_period;
  command.policy = policy;
  command.now = now;
  auto decision = domain::decide_rotation(old_key, command);
  if (!decision) return decision.error();

  const std::array<infra::new_event, 1> old_events{
      encode_event(decision->old_key_event, domain::new_uuid(random_))};
  const std::array<infra::new_event, 1> new_events{
      encode_event(decision->new_key_event, domain::new_uuid(random_))};
  const auto old_stream = domain::key_stream_id(old_key.key_id);
  const auto new_stream = domain::key_stream_id(command.new_key_id);
  // Both halves in one transaction: a rotation is never half done, and a concurrent command on
  // the old key makes the whole rotation fail with a conflict.
  const std::array<infra::stream_append, 2> items{
      infra::stream_append{old_stream, old_key.version, old_events},
      infra::stream_append{new_stream, 0, new_events}};
  auto positions = store.append_all(items, metadata_of(ctx), domain::to_micros(now));

  auto new_state = domain::evolve(domain::api_key_state{}, decision->new_key_event);
  auto old_state = domain::evolve(std::move(old_key), decision->old_key_event);
  const auto last_seq = std::max(positions.front().last_seq, positions.back().last_seq);
  return rotated_key{created_key{std::move(minted.key), std::move(new_state), last_seq},
                     std::move(old_state)};
}

domain::api_key_state key_service::load(infra::event_store& store, std::string_view key_id) const {
  return load_key(store, key_id);
}

domain::result<revoked_key, domain::rejection> key_service::revoke(
    infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
    const request_context& ctx) const {
  const auto now = clock_.now();
  auto outcome = execute_on_key(store, key_id, workspace_id,
                                domain::revoke_key{std::string(key_id), now}, ctx, random_, now);
  if (!outcome) {
    if (outcome.error() == domain::rejection::key_already_revoked) {
      return revoked_key{load_key(store, key_id), 0};
    }
    return outcome.error();
  }
  return revoked_key{std::move(outcome->state), outcome->position.last_seq};
}

domain::result<leaked_key, domain::rejection> key_service::report_leak(
    infra::event_store& store, std::string_view key_id, const domain::report_leak& command,
    std::string_view report_id, const request_context& ctx) const {
  const auto base = "keyledger/key-leaked/" + std::string(key_id) + "/" + std::string(report_id);
  constexpr int attempts = 5;
  for (int attempt = 1;; ++attempt) {
    auto state = load_key(store, key_id);
    domain::report_leak c = command;
    c.key_id = std::string(key_id);
    auto decision = domain::decide(state, c);
    if (!decision) return decision.error();
    std::vector<infra::new_event> events;
    for (std::size_t i = 0; i < decision->size(); ++i) {
      events.push_back(
          encode_event(decision.value()[i], derived_event_id(base + "/" + std::to_string(i))));
    }
    const auto action = std::get<domain::key_leaked>(decision->front()).action;
    try {
      const auto position = store.append(domain::key_stream_id(key_id), state.version, events,
                                         metadata_of(ctx), domain::to_micros(c.now));
      if (position.duplicate) return leaked_key{load_key(store, key_id), action, true, 0};
      for (const auto& e : decision.value()) state = domain::evolve(std::move(state), e);
      return leaked_key{std::move(state), action, false, position.last_seq};
    } catch (const infra::error& e) {
      // A rename or a rotation got there first: decide again on the new state.
      if (e.code() != infra::errc::conflict || attempt == attempts) throw;
    }
  }
}

std::size_t key_service::record_expiry(infra::event_store& store, std::string_view key_id) const {
  const auto now = clock_.now();
  const auto state = load_key(store, key_id);
  if (!state.exists || !state.expires_at) return 0;
  const request_context ctx{"expiry-job", domain::new_id("req", random_), "", ""};
  const auto expires = domain::format_timestamp(*state.expires_at);

  // At most one of the two is due: a warning only before expires_at, the expiry from it on.
  for (const auto& [command, kind] :
       {std::pair<domain::api_key_command, std::string_view>{domain::expire_key{state.key_id, now},
                                                             "expired"},
        std::pair<domain::api_key_command, std::string_view>{
            domain::warn_key_expiry{state.key_id, now}, "expiry-approaching"}}) {
    auto decision = domain::decide(state, command);
    if (!decision || decision->empty()) continue;
    std::vector<infra::new_event> events;
    // The 14-day warning keeps the id it had before the 1-day one existed, so nodes of both
    // versions racing on it still append one.
    std::string what(kind);
    if (const auto* warning = std::get_if<domain::key_expiry_approaching>(&decision->front());
        warning != nullptr && warning->days_before != 14) {
      what += "-" + std::to_string(warning->days_before) + "d";
    }
    const auto base = "keyledger/key-" + what + "/" + state.key_id + "/" + expires;
    for (std::size_t i = 0; i < decision->size(); ++i) {
      events.push_back(
          encode_event(decision.value()[i], derived_event_id(base + "/" + std::to_string(i))));
    }
    try {
      auto position = store.append(domain::key_stream_id(state.key_id), state.version, events,
                                   metadata_of(ctx), domain::to_micros(now));
      return position.duplicate ? 0 : events.size();
    } catch (const infra::error& e) {
      // Another node (or a command) changed the stream first; the next pass decides again.
      if (e.code() == infra::errc::conflict) return 0;
      throw;
    }
  }
  return 0;
}

}  // namespace keyledger::services
