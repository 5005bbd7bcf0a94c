#pragma once

// The node's signing keys in memory (issue 8): a consumer of the signing_keys stream, fed by the
// same subscription as the other views, holding the published public keys; it signs access
// tokens with the active key and verifies them against the published ones, and writes the JWKS.
// Every node follows the same log, so every node signs with the same active key.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/oauth/signing_keys.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"
#include "infra/core/event_log/consumer.hpp"
#include "infra/core/signing_key_store.hpp"
#include "infra/crypto/jws.hpp"
#include "services/app/oauth/token_signer.hpp"

namespace keyledger::infra {
class response_sealer;
}

namespace keyledger::services {

/// Why a token could not be signed.
enum class signing_failure {
  no_active_key,    ///< none yet (a fresh server before its first key), or every key retired
  key_unavailable,  ///< the active key's private half could not be loaded (logged: the row is
                    ///< missing, the store is down, or this server secret does not open it)
};
std::string_view to_string(signing_failure f) noexcept;

/// The label of the private-key sealing key: derive_key(server_secret, signing_key_sealing_info).
inline constexpr std::string_view signing_key_sealing_info = "keyledger/signing-keys/v1";

/// How long a kid whose private key could not be loaded is left alone before the next try.
inline constexpr std::chrono::seconds load_retry_interval{5};

/// How many verified tokens the ring remembers (by their exact bytes) before it forgets them all.
inline constexpr std::size_t max_remembered_tokens = 4096;

/// Thread-safety: one applier (the subscription thread), any number of concurrent signers and
/// verifiers (pool and I/O threads). Readers take a shared lock for a lookup only; signing and
/// verification run outside it.
class signing_key_ring final : public infra::log_consumer {
 public:
  /// `sealer` opens the sealed private keys (AES-256-GCM under derive_key(server secret,
  /// signing_key_sealing_info), associated data = kid). `open_store` is called, under the ring's
  /// loading lock, the first time a private key is needed (and again after a store failure);
  /// the store it returns is used for those loads only. Both, and `clock`, must outlive the ring.
  signing_key_ring(const infra::response_sealer& sealer,
                   std::function<std::unique_ptr<infra::signing_key_store>()> open_store,
                   const domain::clock& clock);
  ~signing_key_ring() override;

  std::string_view name() const noexcept override { return "signing_key_ring"; }
  /// Only the signing_keys stream.
  std::span<const std::string_view> categories() const noexcept override;

  /// Folds one event of the stream. A key whose public JWK does not parse as an ES256 JWK of its
  /// own kid is logged and never published (nor used); undecodable events are logged and
  /// skipped. Precondition: global_seq order, each event once.
  void apply(const infra::recorded_event& e) override;

  /// A compact JWS (typ at+jwt) of `payload_json` signed with the active key. The first use of a
  /// kid on this node loads its sealed private key from the store, opens it and checks that it
  /// matches the published public key, then keeps it in memory (until the key retires); so this
  /// may block on the database once per kid: call it from the blocking pool. After a failed
  /// load the kid is not tried again for load_retry_interval (key_unavailable meanwhile).
  domain::result<std::string, signing_failure> sign(std::string_view payload_json) const;

  /// The payload of an access token signed by a key published now (pending, active, or retired
  /// within its publication), or why not (infra::verify_compact: ES256 only, typ at+jwt, ...).
  /// Claims are not checked. Never blocks on I/O.
  ///
  /// A token that verified is remembered by its exact bytes with its kid and payload (at most
  /// max_remembered_tokens, then all are forgotten; every signing-key event forgets them too).
  /// The same bytes again skip the ECDSA verification, never the publication check: the kid must
  /// still be published now, else the token goes through verify_compact again (and is refused).
  /// A token that failed is never remembered.
  domain::result<std::string, infra::jws_refusal> verify(std::string_view token) const;

  /// How many verifications the remembered tokens answered (tests, diagnostics).
  std::uint64_t remembered_hits() const noexcept {
    return remembered_hits_.load(std::memory_order_relaxed);
  }

  /// {"keys":[...]}: the public JWKs of the keys published at `now` (pending, active, recently
  /// retired), in creation order. Never a private member.
  std::string jwks_json(domain::timestamp now) const;

  /// A copy of the key set as this node has applied it.
  domain::oauth::signing_key_set state() const;

  /// The active key's id, if any.
  std::optional<std::string> active_kid() const;
  /// Whether the active key's private half is loaded (sign() then never touches the store).
  bool active_key_loaded() const;

  /// Waits until some key is active (true) or `until` passes (false).
  bool wait_for_active_key(std::chrono::steady_clock::time_point until) const;

  std::uint64_t applied_seq() const noexcept { return applied_.load(std::memory_order_acquire); }

 private:
  struct public_entry {
    infra::es256_public_key key;
    std::string jwk;  ///< canonical text (es256_public_key::to_jwk)
  };

  /// The private key of `kid`, from the cache or loaded; null when it cannot be had.
  std::shared_ptr<const infra::es256_key> private_key(
      const std::string& kid, const infra::es256_public_key& expected) const;
  /// Reads, opens and checks the private key of `kid` (under load_mutex_); null, logged, when
  /// it cannot be had.
  std::shared_ptr<const infra::es256_key> load(const std::string& kid,
                                               const infra::es256_public_key& expected) const;
  std::optional<infra::es256_public_key> published_key(std::string_view kid,
                                                       domain::timestamp now) const;

  const infra::response_sealer& sealer_;
  std::function<std::unique_ptr<infra::signing_key_store>()> open_store_;
  const domain::clock& clock_;

  mutable std::shared_mutex mutex_;
  domain::oauth::signing_key_set state_;
  std::map<std::string, public_entry, std::less<>> public_keys_;  // usable keys only
  // Opened private keys of keys not retired, by kid.
  mutable std::map<std::string, std::shared_ptr<const infra::es256_key>, std::less<>> private_keys_;

  // Loading private keys: one loader at a time (a first use per kid per node), with its store,
  // and when a kid's load last failed: it is not tried again for a while (a missing row must not
  // turn every token request into a database read and a log line).
  mutable std::mutex load_mutex_;
  mutable std::unique_ptr<infra::signing_key_store> store_;
  mutable std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> retry_after_;

  // Tokens that verified, by their exact bytes: the kid that verified them and their payload.
  struct remembered_token {
    std::string kid;
    std::string payload;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  mutable std::shared_mutex remembered_mutex_;
  mutable std::unordered_map<std::string, remembered_token, string_hash, std::equal_to<>>
      remembered_;
  mutable std::atomic<std::uint64_t> remembered_hits_{0};

  mutable std::mutex active_mutex_;
  mutable std::condition_variable active_changed_;
  std::atomic<std::uint64_t> applied_{0};
};

/// The ring as the OAuth services see it (the access_token_signer port): signing without an
/// active key, or without its private half, is errc::unavailable (503 temporarily_unavailable).
class ring_token_signer final : public access_token_signer {
 public:
  explicit ring_token_signer(const signing_key_ring& ring) : ring_(ring) {}
  std::string sign(std::string_view claims_json) const override;
  std::optional<std::string> verify(std::string_view token) const override;
  bool signs_without_io() const override { return ring_.active_key_loaded(); }

 private:
  const signing_key_ring& ring_;
};

}  // namespace keyledger::services
