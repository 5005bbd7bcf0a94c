#include "services/app/key_service.hpp"

#include <algorithm>
#include <variant>

#include "domain/key_format.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"

namespace keyledger::services {
namespace {

constexpr int max_conflict_retries = 3;

infra::uuid random_event_id(domain::random_source& random) { return domain::new_uuid(random); }

std::int64_t micros(domain::timestamp t) { return t.time_since_epoch().count(); }

infra::event_metadata metadata_of(const request_context& ctx) {
  return {ctx.actor, ctx.request_id, ctx.source_ip, ctx.idempotency_key};
}

domain::api_key_state load_key(infra::event_store& store, std::string_view key_id) {
  domain::api_key_state state;
  for (const auto& recorded : store.read_stream(domain::key_stream_id(key_id))) {
    auto event = infra::decode_api_key_event(recorded.type, recorded.payload);
    if (!event) {
      throw infra::error(infra::errc::storage,
                         "undecodable event at global_seq " + std::to_string(recorded.global_seq));
    }
    state = domain::evolve(std::move(state), *event);
  }
  return state;
}

struct appended {
  domain::api_key_state state;
  infra::append_result position;
};

/// load -> decide -> append(expected = loaded version), retried on a concurrent change.
domain::result<appended, domain::rejection> execute(
    infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
    const domain::api_key_command& command, const request_context& ctx,
    domain::random_source& random, domain::timestamp now) {
  for (int attempt = 0;; ++attempt) {
    auto state = load_key(store, key_id);
    // A key of another workspace is, to this caller, a key that does not exist.
    if (state.exists && state.workspace_id != workspace_id) return domain::rejection::key_not_found;
    auto decision = domain::decide(state, command);
    if (!decision) return decision.error();

    const auto expected_version = state.version;
    std::vector<infra::new_event> events;
    for (const auto& e : decision.value()) {
      events.push_back(
          {random_event_id(random), std::string(domain::event_type(e)), infra::encode_payload(e)});
      state = domain::evolve(std::move(state), e);
    }
    try {
      auto position = store.append(domain::key_stream_id(key_id), expected_version, events,
                                   metadata_of(ctx), micros(now));
      return appended{std::move(state), position};
    } catch (const infra::error& e) {
      if (e.code() != infra::errc::conflict || attempt + 1 >= max_conflict_retries) throw;
    }
  }
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
  // The secret is generated here and leaves only through the returned value; the command and
  // its event carry the keyed hash and the visible start.
  infra::secret key(domain::generate_key(input.key_prefix, input.env, random_));
  auto parsed = domain::parse_key(key.reveal());
  if (!parsed) throw infra::error(infra::errc::internal, "generated key does not parse");

  const auto now = clock_.now();
  domain::create_key command{domain::new_id("key", random_),
                             input.workspace_id,
                             input.name,
                             input.env,
                             input.scopes,
                             hasher_.hash_hex(key.reveal()),
                             domain::visible_start(parsed.value()),
                             now};
  const std::string key_id = command.key_id;
  auto outcome = execute(store, key_id, input.workspace_id, command, ctx, random_, now);
  if (!outcome) return outcome.error();
  return created_key{std::move(key), std::move(outcome->state), outcome->position.last_seq};
}

domain::api_key_state key_service::load(infra::event_store& store, std::string_view key_id) const {
  return load_key(store, key_id);
}

domain::result<revoked_key, domain::rejection> key_service::revoke(
    infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
    const request_context& ctx) const {
  const auto now = clock_.now();
  auto outcome = execute(store, key_id, workspace_id, domain::revoke_key{std::string(key_id), now},
                         ctx, random_, now);
  if (!outcome) {
    if (outcome.error() == domain::rejection::key_already_revoked) {
      return revoked_key{load_key(store, key_id), 0};
    }
    return outcome.error();
  }
  return revoked_key{std::move(outcome->state), outcome->position.last_seq};
}

domain::result<bootstrapped_workspace, domain::rejection> key_service::bootstrap(
    infra::event_store& store, const std::string& name, const std::string& key_prefix,
    const request_context& ctx) const {
  const auto now = clock_.now();
  domain::workspace_state empty;
  domain::create_workspace command{domain::new_id("ws", random_), name, key_prefix, now};
  auto decision = domain::decide(empty, command);
  if (!decision) return decision.error();

  // The event id is a function of the name: the store's unique event id makes the name unique
  // without a second table, and a repeated bootstrap appends nothing.
  const auto digest = infra::sha256("keyledger/workspace-name/" + name);
  infra::uuid event_id{};
  std::copy_n(digest.begin(), event_id.size(), event_id.begin());
  event_id[6] = static_cast<std::uint8_t>((event_id[6] & 0x0F) | 0x80);  // RFC 9562 v8
  event_id[8] = static_cast<std::uint8_t>((event_id[8] & 0x3F) | 0x80);

  const auto& created = decision.value().front();
  std::vector<infra::new_event> events{
      {event_id, std::string(domain::event_type(created)), infra::encode_payload(created)}};
  auto position = store.append(domain::workspace_stream_id(command.workspace_id), 0, events,
                               metadata_of(ctx), micros(now));
  if (position.duplicate) return domain::rejection::workspace_already_exists;

  auto workspace = domain::evolve(empty, created);
  auto admin = create(store,
                      {workspace.workspace_id,
                       workspace.key_prefix,
                       "admin",
                       domain::environment::live,
                       {"keys:read", "keys:write"}},
                      ctx);
  if (!admin) return admin.error();
  return bootstrapped_workspace{std::move(workspace), std::move(admin.value())};
}

}  // namespace keyledger::services
