#pragma once

// The server's signing keys for JWT access tokens (issue 8): ONE aggregate for the whole set,
// stream "signing_keys-server", so that two nodes racing to create or activate a key conflict on
// the stream's version and exactly one wins. decide/evolve, pure, time injected; plan() says what
// the rotation schedule wants next. No private key is ever in an event: SigningKeyCreated carries
// the public JWK only (the sealed private key lives beside the log). docs/oauth.md, "Signing
// keys".
//
// A key's life: pending (published in the JWKS, not used) -> active (signs every new token; at
// most one) -> retired (no longer signs; published until `publish_until`, so tokens it signed
// keep verifying for as long as they can live).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/oauth/client.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain::oauth {

/// The one stream of the key set (category "signing_keys").
inline constexpr std::string_view signing_keys_stream_id = "signing_keys-server";

/// The tag of key ids: new_id(signing_key_id_tag, random) gives "sig_" + 22 base62.
inline constexpr std::string_view signing_key_id_tag = "sig";
bool valid_signing_key_id(std::string_view kid) noexcept;

/// The only signing algorithm (RFC 7518 section 3.4).
inline constexpr std::string_view signing_alg_es256 = "ES256";

/// Clock skew allowed between the server and a verifier.
inline constexpr std::chrono::seconds verification_skew = std::chrono::minutes(5);

/// How long a key retired in the normal course stays published: the longest an access token can
/// live, plus the skew, so every token it signed verifies until it expires.
inline constexpr std::chrono::seconds retired_key_publication =
    max_access_token_lifetime + verification_skew;

enum class signing_key_status { pending, active, retired };
std::string_view to_string(signing_key_status s) noexcept;

// ---- events ---------------------------------------------------------------------------------

/// "SigningKeyCreated": a new key, published from now on, active not before `activate_after`.
struct signing_key_created {
  std::string kid;
  std::string alg{signing_alg_es256};
  std::string public_jwk;  ///< the public key as a JWK object text (never a private member)
  timestamp created_at{};
  timestamp activate_after{};
  bool operator==(const signing_key_created&) const = default;
};

/// "SigningKeyActivated": the key signs every new token from `at`.
struct signing_key_activated {
  std::string kid;
  timestamp at{};
  bool operator==(const signing_key_activated&) const = default;
};

/// "SigningKeyRetired": the key signs nothing from `at` and is published until `publish_until`.
/// A second one for a retired key may only bring publish_until forward (an emergency rotation
/// stops publishing every earlier key at once).
struct signing_key_retired {
  std::string kid;
  timestamp at{};
  timestamp publish_until{};
  bool operator==(const signing_key_retired&) const = default;
};

using signing_key_event =
    std::variant<signing_key_created, signing_key_activated, signing_key_retired>;
std::string_view event_type(const signing_key_event& e) noexcept;

// ---- state ----------------------------------------------------------------------------------

struct signing_key {
  std::string kid;
  std::string alg;
  std::string public_jwk;
  signing_key_status status = signing_key_status::pending;
  timestamp created_at{};
  timestamp activate_after{};
  std::optional<timestamp> activated_at;
  std::optional<timestamp> retired_at;
  std::optional<timestamp> publish_until;  ///< set when retired
  bool operator==(const signing_key&) const = default;
};

struct signing_key_set {
  std::uint64_t version = 0;
  std::vector<signing_key> keys;  ///< in creation order

  /// The key that signs, or null (none yet, or it was retired without a successor).
  const signing_key* active() const noexcept;
  /// The key waiting for its activation, or null. At most one.
  const signing_key* pending() const noexcept;
  const signing_key* find(std::string_view kid) const noexcept;
};

/// Whether a verifier may need the key at `now`: pending, active, or retired with publish_until
/// after `now`.
bool is_published(const signing_key& key, timestamp now) noexcept;

/// The keys a verifier may need at `now` (is_published), in creation order. What GET
/// /oauth/jwks publishes and what verifies.
std::vector<signing_key> published(const signing_key_set& state, timestamp now);

// ---- commands -------------------------------------------------------------------------------

/// How a new key becomes active.
enum class key_activation {
  /// Later: a SigningKeyActivated once `activate_after` has passed (plan() sees to it). The
  /// normal rotation: verifiers see the key in the JWKS long before any token carries its kid.
  scheduled,
  /// In the same decision. Only while no key is active (the very first key, or after every key
  /// was retired): no verifier can hold a token of an unknown kid yet.
  at_once,
  /// In the same decision, and every other key is retired with publish_until = now: tokens
  /// signed by earlier keys stop verifying, here and at every verifier once it refetches the
  /// JWKS. For a key that leaked (`keyledger signing-keys rotate --immediately`).
  emergency,
};

struct create_signing_key {
  std::string kid;         ///< "sig_" + 22 base62
  std::string public_jwk;  ///< non-empty; the caller made it from the key it generated
  key_activation activation = key_activation::scheduled;
  /// scheduled: not before now. Ignored otherwise (the key activates at `now`).
  timestamp activate_after{};
  timestamp now{};
};

struct activate_signing_key {
  std::string kid;
  timestamp now{};
  bool operator==(const activate_signing_key&) const = default;
};

struct retire_signing_key {
  std::string kid;
  timestamp now{};
};

using signing_key_command =
    std::variant<create_signing_key, activate_signing_key, retire_signing_key>;

enum class signing_key_rejection {
  invalid_kid,
  key_exists,          ///< the kid is taken
  invalid_public_key,  ///< an empty JWK
  invalid_activation,  ///< scheduled before now
  pending_key_exists,  ///< create (scheduled or at_once) while a key waits for its activation
  active_key_exists,   ///< at_once while a key is active (use scheduled, or emergency)
  key_not_found,
  key_retired,  ///< activate a retired key
  too_early,    ///< activate before activate_after while another key is active
};
std::string_view to_string(signing_key_rejection r) noexcept;

/// Decides:
/// - create: refuses invalid_kid, key_exists, invalid_public_key; scheduled and at_once refuse
///   pending_key_exists; scheduled refuses invalid_activation; at_once refuses active_key_exists.
///   Decides SigningKeyCreated, and for at_once / emergency SigningKeyActivated at now;
///   emergency first retires every key not yet retired and stops publishing every retired one
///   (SigningKeyRetired with publish_until = now).
/// - activate: a pending key whose activate_after has passed, or any pending key while none is
///   active (key_not_found, key_retired, too_early). The previous active key is retired in the
///   same decision, published until now + retired_key_publication. An active key: nothing.
/// - retire: an active key is published until now + retired_key_publication (no key is active
///   afterwards: plan() then makes one at once); a pending key signed nothing and is published
///   until now. A retired key: nothing. key_not_found.
result<std::vector<signing_key_event>, signing_key_rejection> decide(
    const signing_key_set& state, const signing_key_command& command);

/// Events of unknown kids, or an activation of a key that is not pending, change nothing but
/// the version (the log is the truth; decide never writes them).
signing_key_set evolve(signing_key_set state, const signing_key_event& event);

// ---- the schedule ---------------------------------------------------------------------------

struct rotation_policy {
  /// How long each key signs.
  std::chrono::seconds every = std::chrono::days(30);
  /// How long a new key is published before it signs: far longer than any verifier caches the
  /// JWKS (GET /oauth/jwks says max-age=300).
  std::chrono::seconds overlap = std::chrono::hours(24);
};

/// 0 < overlap < every.
bool valid(const rotation_policy& p) noexcept;

/// A new key is due: the caller generates it and decides create_signing_key with these.
struct new_key_due {
  key_activation activation = key_activation::scheduled;
  timestamp activate_after{};
  bool operator==(const new_key_due&) const = default;
};

using planned_step = std::variant<new_key_due, activate_signing_key>;

/// What the schedule wants at `now`, or nothing:
/// - a pending key may activate (its activate_after has passed, or no key is active): activate;
/// - no key active and none pending: a new key, at_once;
/// - the active key has signed for `every - overlap` or longer, and none is pending: a new key,
///   scheduled to activate at now + overlap (so each key signs for about `every`).
/// Precondition: valid(policy).
std::optional<planned_step> plan(const signing_key_set& state, timestamp now,
                                 const rotation_policy& policy);

}  // namespace keyledger::domain::oauth
