#pragma once

// Signing key commands (issue 8): the rotation schedule's step and the operator's rotation,
// through the command executor on the one stream "signing_keys-server". A new key is generated
// here (OpenSSL, P-256), its private half sealed and stored in the signing key store BEFORE its
// SigningKeyCreated is appended; the event carries the public JWK only. docs/oauth.md,
// "Signing keys".

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "domain/oauth/signing_keys.hpp"
#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/periodic_worker.hpp"
#include "infra/core/signing_key_store.hpp"
#include "services/app/key_service.hpp"

namespace keyledger::infra {
class response_sealer;
}

namespace keyledger::services {

/// What a command or a pass of the schedule did.
struct signing_key_step {
  enum class kind {
    nothing,    ///< nothing was due
    created,    ///< a key was created (and, at once or in an emergency, activated)
    activated,  ///< a pending key was activated (and the previous one retired)
    lost_race,  ///< another node (or command) changed the set first: its decision stands
  };
  kind what = kind::nothing;
  std::string kid;               ///< the key created or activated
  std::uint64_t global_seq = 0;  ///< the last event appended; 0 when none
};
std::string_view to_string(signing_key_step::kind k) noexcept;

/// The key set as the log has it now (folded from the signing_keys-server stream). Storage
/// errors propagate as infra::error.
domain::oauth::signing_key_set load_signing_keys(infra::event_store& events);

class signing_key_service {
 public:
  /// `sealer`: AES-256-GCM under derive_key(server secret, signing_key_sealing_info) - the same
  /// as the ring's. Precondition: valid(policy). All references must outlive the service.
  signing_key_service(const infra::response_sealer& sealer, domain::random_source& random,
                      const domain::clock& clock, domain::oauth::rotation_policy policy = {});

  /// load_signing_keys.
  domain::oauth::signing_key_set load(infra::event_store& events) const {
    return load_signing_keys(events);
  }

  /// One step of the schedule (domain::oauth::plan at the clock's now): creates, activates, or
  /// does nothing; appended with the actor "signing-key-schedule". Of nodes racing to take the
  /// same step one wins; the others get lost_race (and see the winner's decision on their next
  /// pass). Storage errors propagate as infra::error.
  signing_key_step run_schedule(infra::event_store& events,
                                infra::signing_key_store& secrets) const;

  /// `keyledger signing-keys rotate`: a new key now. Normally scheduled: published at once and
  /// active after the policy's overlap (at once when no key is active). `immediately`: the
  /// emergency rotation, active at once, every earlier key unpublished (tokens they signed stop
  /// verifying). Refused: 409 PENDING_KEY_EXISTS (normal rotation while a key waits: it is the
  /// rotation already under way), 409 WRONG_SERVER_SECRET (this server secret cannot open the
  /// active key: a new key would be sealed under a secret the servers do not have), 409
  /// CONFLICT (the set changed meanwhile: try again). Storage errors propagate.
  domain::result<signing_key_step, domain::problem> rotate(infra::event_store& events,
                                                           infra::signing_key_store& secrets,
                                                           bool immediately,
                                                           const request_context& ctx) const;

  const domain::oauth::rotation_policy& policy() const noexcept { return policy_; }

 private:
  /// Generates a key, seals and stores its private half, then decides and appends its creation.
  /// Throws infra::error (conflict: the stream changed since `state` was loaded).
  domain::result<signing_key_step, domain::oauth::signing_key_rejection> create(
      infra::event_store& events, infra::signing_key_store& secrets,
      const domain::oauth::signing_key_set& state, domain::oauth::key_activation activation,
      domain::timestamp activate_after, domain::timestamp now, const request_context& ctx) const;

  /// Whether the sealed private key of `kid` opens with this server secret.
  bool opens(infra::signing_key_store& secrets, const std::string& kid) const;

  const infra::response_sealer& sealer_;
  domain::random_source& random_;
  const domain::clock& clock_;
  domain::oauth::rotation_policy policy_;
};

/// Runs the schedule on every node: one pass at once on start-up (run_once, before the server
/// answers: a fresh server gets its first key), then one every `interval` on a worker thread.
/// A lost race is normal (another node took the step); other failures are logged and retried
/// at the next pass with freshly opened stores.
class signing_key_rotation {
 public:
  struct options {
    std::chrono::milliseconds interval{60'000};
  };

  /// The factories are called on whichever thread runs a pass, to open that pass's stores.
  signing_key_rotation(const signing_key_service& service,
                       std::function<std::unique_ptr<infra::event_store>()> open_events,
                       std::function<std::unique_ptr<infra::signing_key_store>()> open_secrets,
                       options opts);
  ~signing_key_rotation();  ///< stop()s
  signing_key_rotation(const signing_key_rotation&) = delete;
  signing_key_rotation& operator=(const signing_key_rotation&) = delete;

  /// One pass on the calling thread (serialised with the worker's). Throws what the stores
  /// throw (but a lost race, which is a result).
  signing_key_step run_once();

  /// Starts the worker; its first pass comes one interval later.
  void start();
  void stop();  ///< idempotent

 private:
  void pass();

  const signing_key_service& service_;
  std::function<std::unique_ptr<infra::event_store>()> open_events_;
  std::function<std::unique_ptr<infra::signing_key_store>()> open_secrets_;
  std::mutex mutex_;  // one pass at a time; guards the stores
  std::unique_ptr<infra::event_store> events_;
  std::unique_ptr<infra::signing_key_store> secrets_;
  // Last: stopped (destroyed) before what its passes use.
  infra::periodic_worker worker_;
};

}  // namespace keyledger::services
