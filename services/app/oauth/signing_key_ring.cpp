#include "services/app/oauth/signing_key_ring.hpp"

#include <exception>
#include <mutex>
#include <utility>
#include <variant>

#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/secret.hpp"
#include "infra/json/signing_key_codec.hpp"

namespace keyledger::services {
namespace {

namespace oauth = domain::oauth;

void log_key_problem(std::string_view event, std::string_view kid) {
  // The kid only: never a key's bytes, sealed or open.
  infra::log(infra::log_level::error, event, {{"kid", kid}});
}

}  // namespace

std::string_view to_string(signing_failure f) noexcept {
  switch (f) {
    case signing_failure::no_active_key:
      return "no_active_key";
    case signing_failure::key_unavailable:
      return "key_unavailable";
  }
  return "unknown";
}

signing_key_ring::signing_key_ring(
    const infra::response_sealer& sealer,
    std::function<std::unique_ptr<infra::signing_key_store>()> open_store,
    const domain::clock& clock)
    : sealer_(sealer), open_store_(std::move(open_store)), clock_(clock) {}

signing_key_ring::~signing_key_ring() = default;

std::span<const std::string_view> signing_key_ring::categories() const noexcept {
  // The category of oauth::signing_keys_stream_id.
  static constexpr std::string_view categories[] = {"signing_keys"};
  return categories;
}

void signing_key_ring::apply(const infra::recorded_event& e) {
  const bool ours = e.stream_id.empty() || e.stream_id == oauth::signing_keys_stream_id;
  const auto event = ours ? infra::decode_signing_key_event(e.type, e.payload) : std::nullopt;
  if (!event) {
    infra::log(infra::log_level::error, "signing_key_ring_skipped_event",
               {{"type", e.type}, {"global_seq", std::to_string(e.global_seq)}});
    applied_.store(e.global_seq, std::memory_order_release);
    return;
  }
  // A key is usable only if its JWK is an ES256 public key of its own kid.
  std::optional<public_entry> usable;
  if (const auto* created = std::get_if<oauth::signing_key_created>(&*event)) {
    auto parsed = infra::parse_es256_jwk(created->public_jwk);
    if (parsed && parsed->kid == created->kid && created->alg == oauth::signing_alg_es256) {
      std::string jwk = parsed->key.to_jwk(created->kid);
      usable.emplace(public_entry{std::move(parsed->key), std::move(jwk)});
    } else {
      log_key_problem("signing_key_unusable", created->kid);
    }
  }
  {
    std::unique_lock lock(mutex_);
    state_ = oauth::evolve(std::move(state_), *event);
    if (usable) {
      public_keys_.try_emplace(std::get<oauth::signing_key_created>(*event).kid,
                               std::move(*usable));
    }
    // A retired key signs nothing more: its private half leaves memory.
    if (const auto* retired = std::get_if<oauth::signing_key_retired>(&*event)) {
      if (const auto it = private_keys_.find(retired->kid); it != private_keys_.end()) {
        private_keys_.erase(it);
      }
    }
  }
  // Whatever the event changed (a key retired, unpublished), no verification outlives it.
  {
    std::unique_lock lock(remembered_mutex_);
    remembered_.clear();
  }
  // Through the waiters' mutex, so that one between its check and its wait is not missed.
  { std::lock_guard lock(active_mutex_); }
  active_changed_.notify_all();
  applied_.store(e.global_seq, std::memory_order_release);
}

std::shared_ptr<const infra::es256_key> signing_key_ring::private_key(
    const std::string& kid, const infra::es256_public_key& expected) const {
  std::lock_guard loading(load_mutex_);
  {
    // Another signer may have loaded it while this one waited.
    std::shared_lock lock(mutex_);
    if (const auto it = private_keys_.find(kid); it != private_keys_.end()) return it->second;
  }
  const auto now = std::chrono::steady_clock::now();
  if (const auto it = retry_after_.find(kid); it != retry_after_.end()) {
    if (now < it->second) return nullptr;
    retry_after_.erase(it);
  }
  auto key = load(kid, expected);
  if (!key) {
    retry_after_[kid] = now + load_retry_interval;
    return nullptr;
  }
  std::unique_lock lock(mutex_);
  // Kept only while the key may still sign.
  const auto* k = state_.find(kid);
  if (k != nullptr && k->status != oauth::signing_key_status::retired) {
    private_keys_.try_emplace(kid, key);
  }
  return key;
}

std::shared_ptr<const infra::es256_key> signing_key_ring::load(
    const std::string& kid, const infra::es256_public_key& expected) const {
  std::optional<std::string> sealed;
  try {
    if (!store_) store_ = open_store_();
    sealed = store_->get(kid);
  } catch (const std::exception& e) {
    store_.reset();  // a broken connection: a fresh one next time
    infra::log(infra::log_level::error, "signing_key_load_failed",
               {{"kid", kid}, {"detail", e.what()}});
    return nullptr;
  }
  if (!sealed) {
    log_key_problem("signing_key_missing", kid);
    return nullptr;
  }
  auto opened = sealer_.open(*sealed, kid);
  if (!opened) {
    // Another server secret sealed it (a node or CLI with another data dir), or it was altered.
    log_key_problem("signing_key_unsealable", kid);
    return nullptr;
  }
  const infra::secret der(std::move(*opened));
  auto key = infra::es256_key::from_pkcs8_der(der);
  if (!key || !(key->public_key() == expected)) {
    log_key_problem("signing_key_mismatch", kid);
    return nullptr;
  }
  return std::make_shared<const infra::es256_key>(std::move(*key));
}

domain::result<std::string, signing_failure> signing_key_ring::sign(
    std::string_view payload_json) const {
  std::string kid;
  std::optional<infra::es256_public_key> expected;
  std::shared_ptr<const infra::es256_key> key;
  {
    std::shared_lock lock(mutex_);
    const auto* active = state_.active();
    if (active == nullptr) return signing_failure::no_active_key;
    kid = active->kid;
    const auto pub = public_keys_.find(kid);
    if (pub == public_keys_.end()) return signing_failure::key_unavailable;  // logged at apply
    expected = pub->second.key;
    if (const auto it = private_keys_.find(kid); it != private_keys_.end()) key = it->second;
  }
  if (!key) key = private_key(kid, *expected);
  if (!key) return signing_failure::key_unavailable;
  return infra::sign_compact(*key, kid, infra::access_token_typ, payload_json);
}

std::optional<infra::es256_public_key> signing_key_ring::published_key(
    std::string_view kid, domain::timestamp now) const {
  std::shared_lock lock(mutex_);
  const auto* k = state_.find(kid);
  if (k == nullptr || !oauth::is_published(*k, now)) return std::nullopt;
  const auto it = public_keys_.find(kid);
  if (it == public_keys_.end()) return std::nullopt;
  return it->second.key;
}

domain::result<std::string, infra::jws_refusal> signing_key_ring::verify(
    std::string_view token) const {
  const auto now = clock_.now();
  // The same bytes verified before under a key that cannot change (a kid names one key for
  // ever): only whether that key is published now is left to check. An oversized token is not
  // even hashed: verify_compact refuses it first.
  if (token.size() <= infra::max_compact_jws_bytes) {
    std::optional<remembered_token> seen;
    {
      std::shared_lock lock(remembered_mutex_);
      if (const auto it = remembered_.find(token); it != remembered_.end()) seen = it->second;
    }
    if (seen && published_key(seen->kid, now)) {
      remembered_hits_.fetch_add(1, std::memory_order_relaxed);
      return std::move(seen->payload);
    }
  }
  std::string verified_kid;
  auto payload = infra::verify_compact(
      token,
      [&](std::string_view kid) {
        verified_kid = kid;
        return published_key(kid, now);
      },
      infra::access_token_typ);
  if (payload) {
    std::unique_lock lock(remembered_mutex_);
    // Bounded: forgetting everything at once keeps the cost of a flood of distinct tokens at one
    // verification each, as without the memory.
    if (remembered_.size() >= max_remembered_tokens) remembered_.clear();
    remembered_.insert_or_assign(std::string(token),
                                 remembered_token{std::move(verified_kid), payload.value()});
  }
  return payload;
}

std::string signing_key_ring::jwks_json(domain::timestamp now) const {
  std::string out = R"({"keys":[)";
  bool first = true;
  std::shared_lock lock(mutex_);
  for (const auto& k : state_.keys) {
    if (!oauth::is_published(k, now)) continue;
    const auto it = public_keys_.find(k.kid);
    if (it == public_keys_.end()) continue;
    if (!first) out += ',';
    first = false;
    out += it->second.jwk;
  }
  out += "]}";
  return out;
}

oauth::signing_key_set signing_key_ring::state() const {
  std::shared_lock lock(mutex_);
  return state_;
}

std::optional<std::string> signing_key_ring::active_kid() const {
  std::shared_lock lock(mutex_);
  const auto* active = state_.active();
  if (active == nullptr) return std::nullopt;
  return active->kid;
}

bool signing_key_ring::active_key_loaded() const {
  std::shared_lock lock(mutex_);
  const auto* active = state_.active();
  return active != nullptr && private_keys_.contains(active->kid);
}

bool signing_key_ring::wait_for_active_key(std::chrono::steady_clock::time_point until) const {
  std::unique_lock lock(active_mutex_);
  return active_changed_.wait_until(lock, until, [this] { return active_kid().has_value(); });
}

std::string ring_token_signer::sign(std::string_view claims_json) const {
  auto token = ring_.sign(claims_json);
  if (!token) {
    throw infra::error(infra::errc::unavailable,
                       "cannot sign: " + std::string(to_string(token.error())));
  }
  return std::move(token.value());
}

std::optional<std::string> ring_token_signer::verify(std::string_view token) const {
  auto payload = ring_.verify(token);
  if (!payload) return std::nullopt;
  return std::move(payload.value());
}

}  // namespace keyledger::services
