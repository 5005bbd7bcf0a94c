#include "infra/crypto/jws.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "domain/encoding.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {

namespace {

// ---- OpenSSL handles ------------------------------------------------------------------------

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct bn_deleter {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct ecdsa_sig_deleter {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};
struct encoder_ctx_deleter {
  void operator()(OSSL_ENCODER_CTX* c) const noexcept { OSSL_ENCODER_CTX_free(c); }
};
struct decoder_ctx_deleter {
  void operator()(OSSL_DECODER_CTX* c) const noexcept { OSSL_DECODER_CTX_free(c); }
};
struct openssl_free {
  void operator()(unsigned char* p) const noexcept { OPENSSL_free(p); }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_deleter>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter>;

constexpr std::size_t coordinate_bytes = 32;
constexpr std::size_t signature_bytes = 2 * coordinate_bytes;
constexpr std::size_t max_kid_bytes = 128;
constexpr std::string_view es256 = "ES256";

using coordinate = std::array<unsigned char, coordinate_bytes>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OpenSSL leaves the reasons of a failure on the thread's error queue; a refused input is an
// answer here, not an error to report later, so the queue is emptied.
template <class T>
T refused(T value) {
  ERR_clear_error();
  return value;
}

[[noreturn]] void openssl_failure(const char* what) {
  ERR_clear_error();
  throw error(errc::internal, std::string("OpenSSL: ") + what);
}

bool is_p256(EVP_PKEY* pkey) {
  if (pkey == nullptr || EVP_PKEY_is_a(pkey, "EC") != 1) return false;
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &length) != 1) {
    return false;  // explicit curve parameters have no name: refused
  }
  const std::string_view name(group, length);
  return name == "prime256v1" || name == "P-256";
}

bool coordinate_of(EVP_PKEY* pkey, const char* param, coordinate& out) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) return false;
  const bn_ptr value(raw);
  return BN_bn2binpad(value.get(), out.data(), static_cast<int>(out.size())) ==
         static_cast<int>(out.size());
}

// A public-only key from its affine coordinates, or null when the point is not on P-256.
pkey_ptr public_from_coordinates(const coordinate& x, const coordinate& y) {
  // The uncompressed SEC 1 encoding: 0x04 || x || y.
  std::array<unsigned char, 1 + 2 * coordinate_bytes> point{};
  point[0] = 0x04;
  std::memcpy(point.data() + 1, x.data(), x.size());
  std::memcpy(point.data() + 1 + x.size(), y.data(), y.size());
  char group[] = "P-256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end(),
  };
  const pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx) throw std::bad_alloc();
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return refused(pkey_ptr());
  }
  pkey_ptr pkey(raw);
  // Decoding already refuses a point off the curve; the explicit check says so in one place
  // (an invalid-curve point must never reach a verification).
  const pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check) throw std::bad_alloc();
  if (EVP_PKEY_public_check(check.get()) != 1) return refused(pkey_ptr());
  return pkey;
}

std::optional<coordinate> decode_coordinate(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  const auto raw = domain::base64url_decode(*text);
  if (!raw || raw->size() != coordinate_bytes) return std::nullopt;
  coordinate out{};
  std::memcpy(out.data(), raw->data(), out.size());
  return out;
}

// A string member: absent -> nullopt, present as a string -> its value, any other type -> the
// `wrong_type` flag.
std::optional<std::string> string_member(const json_body& obj, std::string_view name,
                                         bool& wrong_type) {
  auto v = obj.get_string(name);
  if (!v) {
    wrong_type = true;
    return std::nullopt;
  }
  return std::move(v.value());
}

bool member_present(const json_body& obj, std::string_view name) {
  if (obj.is_null(name)) return true;
  const auto v = obj.get_string(name);
  return !v || v->has_value();
}

// RFC 7515 section 4.1.9: a "typ" without '/' is read as if "application/" came before it, and
// media types compare case-insensitively.
std::string media_type(std::string_view typ) {
  if (typ.find('/') != std::string_view::npos) return std::string(typ);
  return "application/" + std::string(typ);
}

/// A compact JWS that passed every check but the key's: what is left to verify.
struct checked_jws {
  std::string_view signing_input;  ///< base64url(header) '.' base64url(payload)
  std::string payload;
  std::string signature;
  std::optional<std::string> kid;
  std::optional<std::string> typ;
};

domain::result<checked_jws, jws_refusal> check_compact(std::string_view token) {
  if (token.size() > max_compact_jws_bytes) return jws_refusal::too_large;
  const auto first = token.find('.');
  if (first == std::string_view::npos) return jws_refusal::malformed;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return jws_refusal::malformed;
  }
  const auto header_part = token.substr(0, first);
  const auto payload_part = token.substr(first + 1, second - first - 1);
  const auto signature_part = token.substr(second + 1);
  // An empty signature ("alg":"none" tokens end in a dot) is refused below, by its algorithm.
  if (header_part.empty() || payload_part.empty()) return jws_refusal::malformed;
  // Strict base64url: the alphabet only, no padding, no whitespace, canonical trailing bits.
  auto header_json = domain::base64url_decode(header_part);
  auto payload = domain::base64url_decode(payload_part);
  auto signature = domain::base64url_decode(signature_part);
  if (!header_json || !payload || !signature) return jws_refusal::malformed;

  auto parsed = json_body::parse(*header_json);
  if (!parsed) return jws_refusal::bad_header;
  const json_body& header = parsed.value();
  bool wrong_type = false;
  const auto alg = string_member(header, "alg", wrong_type);
  if (wrong_type) return jws_refusal::bad_header;
  // The algorithm is fixed: a token naming any other (none, HS256, RS256, ...) is refused before
  // any key is looked up.
  if (!alg || *alg != es256) return jws_refusal::unsupported_alg;
  if (member_present(header, "crit")) return jws_refusal::critical_header;
  auto kid = string_member(header, "kid", wrong_type);
  auto typ = string_member(header, "typ", wrong_type);
  if (wrong_type) return jws_refusal::bad_header;
  if (signature->size() != signature_bytes) return jws_refusal::bad_signature;
  return checked_jws{token.substr(0, second), std::move(*payload), std::move(*signature),
                     std::move(kid), std::move(typ)};
}

}  // namespace

// ---- keys -----------------------------------------------------------------------------------

struct es256_public_key::impl {
  pkey_ptr pkey;
};

struct es256_key::impl {
  pkey_ptr pkey;
  /// Unique per key pair for the life of the process: what a thread's cached signing context
  /// is for (an address could be reused by a later key).
  std::uint64_t generation = next_generation();

  static std::uint64_t next_generation() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
  }
};

/// Builds the key classes from OpenSSL handles (their constructors are private).
struct es256_access {
  static es256_public_key public_key(pkey_ptr pkey) {
    auto p = std::make_shared<es256_public_key::impl>();
    p->pkey = std::move(pkey);
    return es256_public_key(std::move(p));
  }
  static es256_key key_pair(pkey_ptr pkey) {
    auto p = std::make_unique<es256_key::impl>();
    p->pkey = std::move(pkey);
    return es256_key(std::move(p));
  }
  static EVP_PKEY* handle(const es256_public_key& k) { return k.impl_->pkey.get(); }
  static EVP_PKEY* handle(const es256_key& k) { return k.impl_->pkey.get(); }
  /// The 64-byte JOSE signature (r || s) of `signing_input` into `out`.
  static void sign_into(const es256_key& key, std::string_view signing_input, unsigned char* out);
  /// This thread's signing context for the last key it signed with: EVP_PKEY_sign_init fetches
  /// the algorithm and takes OpenSSL's locks, which is most of the cost of one ES256 signature on
  /// OpenSSL 3.0; a context initialised once signs digest after digest.
  static EVP_PKEY_CTX* signing_context(const es256_key& k) {
    const es256_key::impl& key = *k.impl_;
    struct cached {
      std::uint64_t generation = 0;
      pkey_ctx_ptr ctx;
    };
    thread_local cached cache;
    if (cache.ctx && cache.generation == key.generation) return cache.ctx.get();
    pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey.get(), nullptr));
    if (!ctx) throw std::bad_alloc();
    if (EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) {
      openssl_failure("ES256 signing could not start");
    }
    cache.ctx = std::move(ctx);  // holds its own reference to the key
    cache.generation = key.generation;
    return cache.ctx.get();
  }
};

std::string es256_public_key::to_jwk(std::string_view kid) const {
  coordinate x{};
  coordinate y{};
  if (!coordinate_of(impl_->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, x) ||
      !coordinate_of(impl_->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, y)) {
    openssl_failure("cannot read the EC public key");
  }
  json_writer w;
  w.begin_object()
      .field("kty", "EC")
      .field("crv", "P-256")
      .field("x", domain::base64url_encode(std::span<const std::uint8_t>(x)))
      .field("y", domain::base64url_encode(std::span<const std::uint8_t>(y)))
      .field("kid", kid)
      .field("use", "sig")
      .field("alg", es256)
      .end_object();
  return w.take();
}

bool es256_public_key::verify(std::string_view signing_input, std::string_view signature) const {
  if (signature.size() != signature_bytes) return false;
  // JOSE carries r || s; OpenSSL verifies the DER form (RFC 7518 section 3.4).
  bn_ptr r(BN_bin2bn(bytes(signature), coordinate_bytes, nullptr));
  bn_ptr s(BN_bin2bn(bytes(signature) + coordinate_bytes, coordinate_bytes, nullptr));
  const ecdsa_sig_ptr sig(ECDSA_SIG_new());
  if (!r || !s || !sig) throw std::bad_alloc();
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return refused(false);
  r.release();  // owned by sig now
  s.release();
  unsigned char* der_raw = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig.get(), &der_raw);
  if (der_length <= 0) return refused(false);
  const std::unique_ptr<unsigned char, openssl_free> der(der_raw);

  const md_ctx_ptr md(EVP_MD_CTX_new());
  if (!md) throw std::bad_alloc();
  if (EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, impl_->pkey.get(),
                              nullptr) != 1) {
    openssl_failure("ES256 verification could not start");
  }
  const int ok = EVP_DigestVerify(md.get(), der.get(), static_cast<std::size_t>(der_length),
                                  bytes(signing_input), signing_input.size());
  return ok == 1 ? true : refused(false);
}

bool es256_public_key::operator==(const es256_public_key& other) const {
  return EVP_PKEY_eq(impl_->pkey.get(), other.impl_->pkey.get()) == 1;
}

std::optional<parsed_jwk> parse_es256_jwk(std::string_view jwk_json) {
  auto parsed = json_body::parse(jwk_json);
  if (!parsed) return std::nullopt;
  const json_body& jwk = parsed.value();
  if (jwk.first_unknown_field({"kty", "crv", "x", "y", "kid", "use", "alg"})) return std::nullopt;
  bool wrong_type = false;
  const auto kty = string_member(jwk, "kty", wrong_type);
  const auto crv = string_member(jwk, "crv", wrong_type);
  const auto x = decode_coordinate(string_member(jwk, "x", wrong_type));
  const auto y = decode_coordinate(string_member(jwk, "y", wrong_type));
  auto kid = string_member(jwk, "kid", wrong_type);
  const auto use = string_member(jwk, "use", wrong_type);
  const auto alg = string_member(jwk, "alg", wrong_type);
  if (wrong_type || kty != "EC" || crv != "P-256" || use != "sig" || alg != es256 || !x || !y ||
      !kid || kid->empty() || kid->size() > max_kid_bytes) {
    return std::nullopt;
  }
  auto pkey = public_from_coordinates(*x, *y);
  if (!pkey) return std::nullopt;
  return parsed_jwk{std::move(*kid), es256_access::public_key(std::move(pkey))};
}

es256_key es256_key::generate() {
  // OpenSSL's default DRBG is the CSPRNG behind the private scalar.
  pkey_ptr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) openssl_failure("P-256 key generation failed");
  return es256_access::key_pair(std::move(pkey));
}

std::optional<es256_key> es256_key::from_pkcs8_der(const secret& der) {
  if (der.empty()) return std::nullopt;
  EVP_PKEY* raw = nullptr;
  const std::unique_ptr<OSSL_DECODER_CTX, decoder_ctx_deleter> ctx(OSSL_DECODER_CTX_new_for_pkey(
      &raw, "DER", "PrivateKeyInfo", "EC", EVP_PKEY_KEYPAIR, nullptr, nullptr));
  if (!ctx) throw std::bad_alloc();
  const unsigned char* data = bytes(der.reveal());
  std::size_t left = der.size();
  const bool decoded = OSSL_DECODER_from_data(ctx.get(), &data, &left) == 1;
  pkey_ptr pkey(raw);
  // All of it, and nothing else: a P-256 key pair whose public half matches its private half.
  if (!decoded || left != 0 || !is_p256(pkey.get())) return refused(std::optional<es256_key>());
  const pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check) throw std::bad_alloc();
  if (EVP_PKEY_check(check.get()) != 1) return refused(std::optional<es256_key>());
  return es256_access::key_pair(std::move(pkey));
}

secret es256_key::to_pkcs8_der() const {
  const std::unique_ptr<OSSL_ENCODER_CTX, encoder_ctx_deleter> ctx(OSSL_ENCODER_CTX_new_for_pkey(
      impl_->pkey.get(), EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", nullptr));
  if (!ctx || OSSL_ENCODER_CTX_get_num_encoders(ctx.get()) == 0) {
    openssl_failure("no PKCS#8 encoder for the key");
  }
  unsigned char* data = nullptr;
  std::size_t length = 0;
  if (OSSL_ENCODER_to_data(ctx.get(), &data, &length) != 1) {
    openssl_failure("PKCS#8 encoding failed");
  }
  secret out(std::string(reinterpret_cast<const char*>(data), length));
  // OpenSSL's copy of the private key is wiped before it is freed.
  OPENSSL_clear_free(data, length);
  return out;
}

es256_public_key es256_key::public_key() const {
  // A public-only copy: what verifies never holds the private scalar.
  coordinate x{};
  coordinate y{};
  if (!coordinate_of(impl_->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, x) ||
      !coordinate_of(impl_->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, y)) {
    openssl_failure("cannot read the EC public key");
  }
  auto pkey = public_from_coordinates(x, y);
  if (!pkey) openssl_failure("the key's own public point was refused");
  return es256_access::public_key(std::move(pkey));
}

namespace {

/// The 64-byte JOSE form of OpenSSL's DER ECDSA-Sig-Value (RFC 3279: a SEQUENCE of two
/// positive INTEGERs; for P-256 at most 72 bytes, so every length is in short form). Each
/// INTEGER is written right-aligned in 32 bytes. false for anything else (a negative or
/// over-long integer, trailing bytes), which OpenSSL never writes.
bool jose_signature_of_der(const unsigned char* der, std::size_t size, unsigned char* out) {
  std::size_t at = 0;
  if (size < 8 || der[at++] != 0x30 || der[at++] != size - 2) return false;
  for (std::size_t part = 0; part < 2; ++part) {
    if (at + 2 > size || der[at++] != 0x02) return false;
    std::size_t length = der[at++];
    if (length == 0 || at + length > size) return false;
    const unsigned char* value = der + at;
    at += length;
    if ((value[0] & 0x80) != 0) return false;  // negative
    if (length == coordinate_bytes + 1) {
      // The leading zero of a value whose top bit is set.
      if (value[0] != 0) return false;
      ++value;
      --length;
    }
    if (length > coordinate_bytes) return false;
    unsigned char* field = out + part * coordinate_bytes;
    std::memset(field, 0, coordinate_bytes - length);
    std::memcpy(field + (coordinate_bytes - length), value, length);
  }
  return at == size;
}

}  // namespace

void es256_access::sign_into(const es256_key& key, std::string_view signing_input,
                             unsigned char* out) {
  // ECDSA signs the SHA-256 digest of the input (RFC 7518 3.4), on this thread's context.
  const auto digest = sha256(signing_input);
  EVP_PKEY_CTX* ctx = signing_context(key);
  std::array<unsigned char, 80> der{};  // a P-256 DER signature is at most 72 bytes
  std::size_t der_length = der.size();
  if (EVP_PKEY_sign(ctx, der.data(), &der_length, digest.data(), digest.size()) != 1) {
    openssl_failure("ES256 signing failed");
  }
  // OpenSSL writes DER (SEQUENCE of two INTEGERs); JOSE wants r || s of fixed width.
  if (!jose_signature_of_der(der.data(), der_length, out)) {
    openssl_failure("ES256 signature not DER");
  }
}

std::string es256_key::sign(std::string_view signing_input) const {
  std::string out(signature_bytes, '\0');
  es256_access::sign_into(*this, signing_input, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

es256_key::es256_key(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
es256_key::~es256_key() = default;
es256_key::es256_key(es256_key&&) noexcept = default;
es256_key& es256_key::operator=(es256_key&&) noexcept = default;

// ---- compact serialisation ------------------------------------------------------------------

std::string sign_compact(const es256_key& key, std::string_view kid, std::string_view typ,
                         std::string_view payload) {
  json_writer header;
  header.begin_object().field("alg", es256).field("typ", typ).field("kid", kid).end_object();
  // What base64url_append reserves for n bytes (the padded length: it writes no padding).
  const auto encoded = [](std::size_t n) { return (n + 2) / 3 * 4; };
  std::string token;
  token.reserve(encoded(header.str().size()) + 1 + encoded(payload.size()) + 1 +
                encoded(signature_bytes));
  domain::base64url_append(token, header.str());
  token += '.';
  domain::base64url_append(token, payload);
  std::array<unsigned char, signature_bytes> signature{};
  es256_access::sign_into(key, token, signature.data());
  token += '.';
  domain::base64url_append(
      token, std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size()));
  return token;
}

std::string_view to_string(jws_refusal r) noexcept {
  switch (r) {
    case jws_refusal::too_large:
      return "too_large";
    case jws_refusal::malformed:
      return "malformed";
    case jws_refusal::bad_header:
      return "bad_header";
    case jws_refusal::unsupported_alg:
      return "unsupported_alg";
    case jws_refusal::critical_header:
      return "critical_header";
    case jws_refusal::missing_kid:
      return "missing_kid";
    case jws_refusal::unknown_kid:
      return "unknown_kid";
    case jws_refusal::wrong_typ:
      return "wrong_typ";
    case jws_refusal::bad_signature:
      return "bad_signature";
  }
  return "unknown";
}

domain::result<std::string, jws_refusal> verify_compact(std::string_view token,
                                                        const es256_key_lookup& lookup,
                                                        std::string_view expected_typ) {
  auto checked = check_compact(token);
  if (!checked) return checked.error();
  auto& jws = checked.value();
  if (!jws.kid) return jws_refusal::missing_kid;
  const auto key = lookup(*jws.kid);
  if (!key) return jws_refusal::unknown_kid;
  if (!jws.typ || !domain::iequals_ascii(media_type(*jws.typ), media_type(expected_typ))) {
    return jws_refusal::wrong_typ;
  }
  if (!key->verify(jws.signing_input, jws.signature)) return jws_refusal::bad_signature;
  return std::move(jws.payload);
}

domain::result<std::string, jws_refusal> verify_compact_with_key(std::string_view token,
                                                                 const es256_public_key& key) {
  auto checked = check_compact(token);
  if (!checked) return checked.error();
  auto& jws = checked.value();
  if (!key.verify(jws.signing_input, jws.signature)) return jws_refusal::bad_signature;
  return std::move(jws.payload);
}

}  // namespace keyledger::infra
