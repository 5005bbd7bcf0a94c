#include "infra/crypto/password.hpp"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "domain/encoding.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"

namespace keyledger::infra {

namespace {

constexpr std::string_view argon2id_prefix = "$argon2id$v=19$";
// libargon2's limits on salt and output length are 8 bytes and 4 bytes; we also cap them from
// above, because a stored hash is parsed before anything else is known about it.
constexpr std::size_t min_encoded_bytes = 8;
constexpr std::size_t max_encoded_bytes = 64;
constexpr std::string_view csrf_label = "keyledger/csrf/v1\n";

// ---- PHC string parsing -----------------------------------------------------------------

struct parsed_hash {
  argon2id_params params;
  std::size_t salt_bytes = 0;
  std::size_t hash_bytes = 0;
};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_base64_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' || c == '/';
}

// Reads "<name>=<decimal>" at the front of `s`: a canonical decimal (no sign, no leading zero)
// that fits in 32 bits.
std::optional<std::uint32_t> take_number(std::string_view& s, std::string_view name) noexcept {
  if (s.substr(0, name.size()) != name || s.size() <= name.size() || s[name.size()] != '=') {
    return std::nullopt;
  }
  s.remove_prefix(name.size() + 1);
  std::size_t digits = 0;
  while (digits < s.size() && is_digit(s[digits])) ++digits;
  if (digits == 0 || digits > 10 || (digits > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < digits; ++i) value = value * 10 + static_cast<unsigned>(s[i] - '0');
  if (value > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  s.remove_prefix(digits);
  return static_cast<std::uint32_t>(value);
}

// The byte length of an unpadded standard base64 text, or nullopt if it is not one.
std::optional<std::size_t> base64_length(std::string_view text) noexcept {
  if (text.empty() || text.size() % 4 == 1) return std::nullopt;
  for (const char c : text) {
    if (!is_base64_char(c)) return std::nullopt;
  }
  return text.size() * 3 / 4;
}

std::optional<parsed_hash> parse(std::string_view encoded) noexcept {
  if (encoded.substr(0, argon2id_prefix.size()) != argon2id_prefix) return std::nullopt;
  std::string_view s = encoded.substr(argon2id_prefix.size());
  parsed_hash out;
  const auto m = take_number(s, "m");
  if (!m || s.empty() || s.front() != ',') return std::nullopt;
  s.remove_prefix(1);
  const auto t = take_number(s, "t");
  if (!t || s.empty() || s.front() != ',') return std::nullopt;
  s.remove_prefix(1);
  const auto p = take_number(s, "p");
  if (!p || s.empty() || s.front() != '$') return std::nullopt;
  s.remove_prefix(1);
  const std::size_t dollar = s.find('$');
  if (dollar == std::string_view::npos) return std::nullopt;
  const auto salt = base64_length(s.substr(0, dollar));
  const auto hash = base64_length(s.substr(dollar + 1));
  if (!salt || !hash) return std::nullopt;
  if (*salt < min_encoded_bytes || *salt > max_encoded_bytes) return std::nullopt;
  if (*hash < min_encoded_bytes || *hash > max_encoded_bytes) return std::nullopt;
  if (*m == 0 || *t == 0 || *p == 0) return std::nullopt;
  out.params = argon2id_params{*m, *t, *p};
  out.salt_bytes = *salt;
  out.hash_bytes = *hash;
  return out;
}

bool within(const argon2id_params& p, const argon2id_params& max) noexcept {
  return p.memory_kib <= max.memory_kib && p.iterations <= max.iterations &&
         p.parallelism <= max.parallelism;
}

// ---- encodings --------------------------------------------------------------------------

// The fixed hash verify_password_dummy checks against: made once per process with our own
// parameters, so a dummy check costs what a real one does.
const std::string& dummy_hash() {
  static const std::string hash = [] {
    auto h = hash_password(secret(std::string("keyledger-dummy-password")));
    return h.ok() ? std::move(h).value() : std::string();
  }();
  return hash;
}

}  // namespace

// ---- passwords --------------------------------------------------------------------------

std::string_view to_string(password_problem p) noexcept {
  switch (p) {
    case password_problem::too_short:
      return "too_short";
    case password_problem::too_long:
      return "too_long";
  }
  return "unknown";
}

std::optional<password_problem> check_new_password(std::string_view password) noexcept {
  if (password.size() < min_password_bytes) return password_problem::too_short;
  if (password.size() > max_password_bytes) return password_problem::too_long;
  return std::nullopt;
}

domain::result<std::string, password_problem> hash_password(const secret& password,
                                                            const argon2id_params& params) {
  if (const auto problem = check_new_password(password.reveal())) return *problem;

  std::array<std::uint8_t, password_salt_bytes> salt{};
  openssl_random_source{}.fill(salt);

  const std::size_t length =
      argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism,
                        password_salt_bytes, password_hash_bytes, Argon2_id);
  std::string encoded(length, '\0');
  const int rc =
      argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism,
                            password.reveal().data(), password.size(), salt.data(), salt.size(),
                            password_hash_bytes, encoded.data(), encoded.size());
  OPENSSL_cleanse(salt.data(), salt.size());
  if (rc != ARGON2_OK) {
    // libargon2's messages name the failing parameter or resource, never the input.
    throw error(errc::internal,
                std::string("argon2id hashing failed: ") + argon2_error_message(rc));
  }
  // argon2_encodedlen counts the terminating NUL.
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

std::optional<argon2id_params> parse_argon2id_params(std::string_view encoded) noexcept {
  const auto parsed = parse(encoded);
  if (!parsed) return std::nullopt;
  return parsed->params;
}

bool verify_password(const secret& password, std::string_view encoded) noexcept {
  try {
    if (password.size() > max_password_bytes) return false;
    const auto parsed = parse(encoded);
    if (!parsed || !within(parsed->params, max_verify_argon2id)) return false;
    // libargon2 wants a NUL-terminated string; parse() has ruled out embedded NULs.
    const std::string terminated(encoded);
    return argon2id_verify(terminated.c_str(), password.reveal().data(), password.size()) ==
           ARGON2_OK;
  } catch (...) {
    // Only allocation can throw here; "does not verify" is the safe answer.
    return false;
  }
}

bool needs_rehash(std::string_view encoded, const argon2id_params& wanted) noexcept {
  const auto parsed = parse(encoded);
  if (!parsed) return true;
  return parsed->params != wanted || parsed->salt_bytes != password_salt_bytes ||
         parsed->hash_bytes != password_hash_bytes;
}

void verify_password_dummy(const secret& password) noexcept {
  try {
    const std::string& hash = dummy_hash();
    if (hash.empty()) return;
    // The answer is irrelevant; only the work matters. A password longer than the maximum is
    // refused before any work by verify_password, and so it is here.
    static_cast<void>(verify_password(password, hash));
  } catch (...) {
  }
}

// ---- sessions and CSRF ------------------------------------------------------------------

std::string session_id_hash(std::string_view session_id) {
  const sha256_digest digest = sha256(session_id);
  return to_hex(digest);
}

std::string csrf_token(const secret& key, std::string_view session_id) {
  if (key.empty()) throw error(errc::internal, "csrf_token: the key is empty");
  std::string message;
  message.reserve(csrf_label.size() + session_id.size());
  message.append(csrf_label);
  message.append(session_id);
  // The session id is a credential: the copy is wiped when `guard` goes.
  const secret guard(std::move(message));

  std::array<unsigned char, 32> mac{};
  std::size_t mac_length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.reveal().data(), key.size(),
                reinterpret_cast<const unsigned char*>(guard.reveal().data()), guard.size(),
                mac.data(), mac.size(), &mac_length) == nullptr ||
      mac_length != mac.size()) {
    throw error(errc::internal, "OpenSSL: HMAC-SHA256 failed");
  }
  std::string token =
      domain::base64url_encode(std::span<const std::uint8_t>(mac.data(), mac.size()));
  OPENSSL_cleanse(mac.data(), mac.size());
  return token;
}

bool csrf_token_valid(const secret& key, std::string_view session_id,
                      std::string_view presented) noexcept {
  try {
    if (key.empty()) return false;
    const secret expected(csrf_token(key, session_id));
    return expected.equals(presented);
  } catch (...) {
    return false;
  }
}

}  // namespace keyledger::infra
