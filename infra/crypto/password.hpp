#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/result.hpp"
#include "infra/crypto/secret.hpp"

// Secrets of people (issue 4): Argon2id password hashes (libargon2), the stored form of session
// ids, and CSRF tokens bound to a session. See docs/users-and-roles.md.

namespace keyledger::infra {

// ---- passwords ----------------------------------------------------------------------------

/// Argon2id cost parameters (RFC 9106 names: m in KiB, t passes, p lanes).
struct argon2id_params {
  std::uint32_t memory_kib = 19456;
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
  bool operator==(const argon2id_params&) const = default;
};

/// OWASP's recommended Argon2id configuration (m = 19 MiB, t = 2, p = 1): about 20-40 ms and
/// 19 MiB per hash, so callers bound how many run at once (the blocking pool does).
inline constexpr argon2id_params owasp_argon2id{};

/// verify_password refuses stored hashes whose parameters exceed these: a tampered or foreign
/// hash must not make one login allocate gigabytes or spin for minutes.
inline constexpr argon2id_params max_verify_argon2id{262144, 16, 8};

inline constexpr std::size_t password_salt_bytes = 16;
inline constexpr std::size_t password_hash_bytes = 32;
/// NIST SP 800-63B style: at least 12 bytes, at most 1024, any bytes at all.
inline constexpr std::size_t min_password_bytes = 12;
inline constexpr std::size_t max_password_bytes = 1024;

enum class password_problem { too_short, too_long };

/// "too_short", "too_long".
std::string_view to_string(password_problem p) noexcept;

/// nullopt if a new password of this length is acceptable.
std::optional<password_problem> check_new_password(std::string_view password) noexcept;

/// Hashes a new password with a fresh 16-byte salt from OpenSSL's CSPRNG and returns the PHC
/// string, e.g. "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (unpadded standard base64; 32-byte
/// hash). Refuses passwords outside 12-1024 bytes. Throws infra::error(errc::internal) if
/// libargon2 fails (out of memory); the error never names the password. Thread-safe; CPU- and
/// memory-heavy: call it on the blocking pool, never on an I/O thread.
domain::result<std::string, password_problem> hash_password(
    const secret& password, const argon2id_params& params = owasp_argon2id);

/// The parameters of an Argon2id PHC string as written by hash_password (version 19, decimal
/// numbers without leading zeros, salt and hash in unpadded standard base64 of 8-64 bytes each);
/// nullopt for anything else.
std::optional<argon2id_params> parse_argon2id_params(std::string_view encoded) noexcept;

/// True iff `encoded` is a well-formed Argon2id hash (parse_argon2id_params) within
/// max_verify_argon2id and `password` hashes to it; the comparison is constant-time
/// (argon2id_verify). The minimum length is not checked (a hash made under older rules still
/// verifies); a password over 1024 bytes never matches. Never throws. Same cost as
/// hash_password.
bool verify_password(const secret& password, std::string_view encoded) noexcept;

/// True when `encoded` should be replaced by a fresh hash at the next successful login: it does
/// not parse, or its parameters, salt length or hash length differ from `wanted` / ours.
bool needs_rehash(std::string_view encoded,
                  const argon2id_params& wanted = owasp_argon2id) noexcept;

/// Spends the time and memory of one verify_password against a fixed internal hash and
/// discards the answer. A login for an unknown email calls it, so that answering "no such
/// user" takes as long as "wrong password" (no account enumeration by timing).
void verify_password_dummy(const secret& password) noexcept;

// ---- sessions and CSRF --------------------------------------------------------------------

/// What is stored for a session: SHA-256 of the session id (domain::new_session_token), 64
/// lowercase hex characters. The id itself (the cookie value) is never stored, so a copy of
/// the sessions table logs nobody in. A plain hash suffices: the id has 256 random bits.
std::string session_id_hash(std::string_view session_id);

/// The CSRF token of a session (double-submit, bound to the session): base64url without
/// padding of HMAC-SHA256(key, "keyledger/csrf/v1\n" + session_id), 43 characters. `key` is
/// the server secret or a key derived from it (derive_key(server secret, "keyledger/csrf/v1"));
/// the label keeps these MACs apart from every other use of the same key. Throws
/// infra::error(errc::internal) for an empty key. Thread-safe.
std::string csrf_token(const secret& key, std::string_view session_id);

/// Constant-time check of a presented CSRF token (header or form field) against the session's.
/// False for an empty key or a token of any other length. Never throws.
bool csrf_token_valid(const secret& key, std::string_view session_id,
                      std::string_view presented) noexcept;

}  // namespace keyledger::infra
