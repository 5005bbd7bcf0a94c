#include "infra/crypto/ecdsa_p256.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace keyledger::infra {

namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct ecdsa_sig_deleter {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

// A DER ECDSA-Sig-Value of P-256 is at most 72 bytes; anything far longer is not one.
constexpr std::size_t max_der_signature = 80;
constexpr std::string_view pem_begin = "-----BEGIN PUBLIC KEY-----";
constexpr std::string_view pem_end = "-----END PUBLIC KEY-----";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Refusals leave their reasons on OpenSSL's error queue: empty it, they are answers here.
template <class T>
T refused(T value) {
  ERR_clear_error();
  return value;
}

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                     &length) != 1) {
    return false;
  }
  return std::string_view(group.data(), length) == "prime256v1";
}

}  // namespace

struct ecdsa_p256_verifier::impl {
  pkey_ptr key;
};

std::optional<ecdsa_p256_verifier> ecdsa_p256_verifier::from_pem(std::string_view pem) {
  // Exactly one PUBLIC KEY block: PEM_read_bio_PUBKEY would skip any text before it.
  const std::string_view text = trim(pem);
  if (!text.starts_with(pem_begin) || !text.ends_with(pem_end) ||
      text.find(pem_begin, 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::unique_ptr<BIO, bio_deleter> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return refused(std::nullopt);
  pkey_ptr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key || !is_p256(key.get())) return refused(std::nullopt);
  auto p = std::make_shared<impl>();
  p->key = std::move(key);
  return ecdsa_p256_verifier(std::move(p));
}

bool ecdsa_p256_verifier::verify(std::string_view message, std::string_view der_signature) const {
  if (!impl_ || der_signature.empty() || der_signature.size() > max_der_signature) return false;
  // Strict DER: the signature must re-encode to exactly the bytes given (no trailing bytes, no
  // alternative encodings of the same (r, s)).
  const auto* p = reinterpret_cast<const unsigned char*>(der_signature.data());
  const std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_signature.size())));
  if (!sig) return refused(false);
  unsigned char* reencoded = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &reencoded);
  const bool canonical = length > 0 && static_cast<std::size_t>(length) == der_signature.size() &&
                         std::memcmp(reencoded, der_signature.data(), der_signature.size()) == 0;
  OPENSSL_free(reencoded);
  if (!canonical) return refused(false);

  const std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr,
                                     impl_->key.get(), nullptr) != 1) {
    return refused(false);
  }
  const int ok = EVP_DigestVerify(
      md.get(), reinterpret_cast<const unsigned char*>(der_signature.data()), der_signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  return ok == 1 ? true : refused(false);
}

}  // namespace keyledger::infra
