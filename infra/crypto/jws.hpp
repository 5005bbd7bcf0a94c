#pragma once

// ES256 JSON Web Signatures in compact serialisation (RFC 7515, RFC 7518 section 3.4) for JWT
// access tokens (RFC 9068), and P-256 keys as JWKs (RFC 7517, RFC 7518 section 6.2). OpenSSL 3
// EVP behind a pimpl: nothing of OpenSSL in this header.
//
// Only ES256 exists here. A verifier that learns the algorithm from the token is the classic JWT
// hole ("alg": "none", or HS256 keyed with the public key): this one takes the algorithm as
// fixed, refuses every token that names another, and only ever holds P-256 public keys.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "domain/result.hpp"
#include "infra/crypto/secret.hpp"

namespace keyledger::infra {

/// The JWS "typ" of an access token (RFC 9068 section 2.1).
inline constexpr std::string_view access_token_typ = "at+jwt";

/// The largest compact JWS verify_compact looks at. An access token is a few hundred bytes; a
/// cap keeps an attacker's 1 MB header away from base64 and the JSON parser.
inline constexpr std::size_t max_compact_jws_bytes = 8 * 1024;

/// A P-256 public key (an ECDSA verifier). Immutable; copies share the key; thread-safe.
class es256_public_key {
 public:
  /// The key as a JWK object text, members exactly in this order:
  /// {"kty":"EC","crv":"P-256","x":...,"y":...,"kid":...,"use":"sig","alg":"ES256"}, x and y
  /// the 32-byte big-endian coordinates in base64url without padding.
  std::string to_jwk(std::string_view kid) const;

  /// Whether `signature` (64 bytes, r || s) is a valid ES256 signature of `signing_input`.
  bool verify(std::string_view signing_input, std::string_view signature) const;

  /// Same key (same point).
  bool operator==(const es256_public_key& other) const;

 private:
  struct impl;
  friend struct es256_access;  // jws.cpp: builds keys from OpenSSL handles
  explicit es256_public_key(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<const impl> impl_;
};

/// A public JWK as parse_es256_jwk read it.
struct parsed_jwk {
  std::string kid;
  es256_public_key key;
};

/// Reads a public JWK of exactly the shape es256_public_key::to_jwk writes (members in any
/// order): kty "EC", crv "P-256", x and y of 32 bytes each in strict base64url, a non-empty kid,
/// use "sig", alg "ES256", and no other member (no "d": a private JWK is refused, as is any
/// other key type). The point must be on the curve. nullopt for anything else; never throws but
/// std::bad_alloc.
std::optional<parsed_jwk> parse_es256_jwk(std::string_view jwk_json);

/// A P-256 key pair (an ECDSA signer). Immutable once made; signing is thread-safe. Not
/// copyable (the private key is not duplicated); movable.
class es256_key {
 public:
  /// A fresh key pair from OpenSSL's CSPRNG. Throws infra::error(errc::internal) if OpenSSL
  /// fails.
  static es256_key generate();

  /// Reads an unencrypted PKCS#8 PrivateKeyInfo (DER) holding a P-256 key, all of `der` and
  /// nothing more. nullopt for anything else: another curve, another key type, trailing bytes,
  /// garbage.
  static std::optional<es256_key> from_pkcs8_der(const secret& der);

  /// The private key as unencrypted PKCS#8 PrivateKeyInfo (DER). A secret: sealed before it is
  /// stored, never logged.
  secret to_pkcs8_der() const;

  es256_public_key public_key() const;

  /// The 64-byte JOSE form (r || s, 32 bytes each, big-endian) of an ECDSA P-256 SHA-256
  /// signature of `signing_input`. Throws infra::error(errc::internal) if OpenSSL fails.
  std::string sign(std::string_view signing_input) const;

  ~es256_key();
  es256_key(es256_key&&) noexcept;
  es256_key& operator=(es256_key&&) noexcept;
  es256_key(const es256_key&) = delete;
  es256_key& operator=(const es256_key&) = delete;

 private:
  struct impl;
  friend struct es256_access;
  explicit es256_key(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// `base64url(header).base64url(payload).base64url(r || s)` with the protected header
/// {"alg":"ES256","typ":<typ>,"kid":<kid>} (members in this order). `payload` is signed as it
/// is (the caller writes the claims as JSON).
std::string sign_compact(const es256_key& key, std::string_view kid, std::string_view typ,
                         std::string_view payload);

/// Why a compact JWS was refused. None of them says more than the reason: the token itself is
/// never echoed.
enum class jws_refusal {
  too_large,        ///< over max_compact_jws_bytes
  malformed,        ///< not three parts, or a part not strict base64url (no padding or spaces)
  bad_header,       ///< the header is not one JSON object, or a member has the wrong JSON type
  unsupported_alg,  ///< "alg" absent or anything but "ES256" (none, HS256, RS256, ...)
  critical_header,  ///< a "crit" member: no extension is understood, so none may be critical
  missing_kid,      ///< no "kid"
  unknown_kid,      ///< a kid the caller does not know (or no longer publishes)
  wrong_typ,        ///< "typ" absent or not the expected one
  bad_signature,    ///< not 64 bytes, or does not verify
};
std::string_view to_string(jws_refusal r) noexcept;

/// The key for a kid, or nullopt when the kid is unknown.
using es256_key_lookup = std::function<std::optional<es256_public_key>(std::string_view kid)>;

/// Verifies a compact JWS signed with ES256 and returns its payload (the bytes that were signed
/// as the second part, decoded). In this order: the size cap; three parts of strict base64url;
/// the header one JSON object (strict parser: valid UTF-8, no duplicate members); "alg" exactly
/// "ES256"; no "crit"; "kid" present and known to `lookup`; "typ" equal to `expected_typ`, ASCII
/// case-insensitively and also with the "application/" prefix (RFC 7515 section 4.1.9: so
/// "application/at+jwt" passes for "at+jwt"); a 64-byte signature that verifies. Other header
/// members are ignored (RFC 7515 section 4). Claims (exp, iss, aud, ...) are NOT checked: that is
/// the caller's. Bad input is a refusal, never an exception (std::bad_alloc aside, and
/// infra::error(errc::internal) should OpenSSL itself fail).
domain::result<std::string, jws_refusal> verify_compact(std::string_view token,
                                                        const es256_key_lookup& lookup,
                                                        std::string_view expected_typ);

/// The lower-level check for a token whose key the caller already holds: the same rules as
/// verify_compact except that "kid" and "typ" are not looked at (for published test vectors such
/// as RFC 7515 appendix A.3, whose header is only {"alg":"ES256"}). The algorithm is still fixed
/// to ES256. Throws as verify_compact does.
domain::result<std::string, jws_refusal> verify_compact_with_key(std::string_view token,
                                                                 const es256_public_key& key);

}  // namespace keyledger::infra
