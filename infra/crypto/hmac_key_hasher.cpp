// HMAC-SHA256 (RFC 2104) for the keyed hashes of API keys, client secrets and the other
// credentials: H((K ^ opad) || H((K ^ ipad) || m)).
//
// OpenSSL 3.0's EVP_MAC duplicates a digest context (a heap allocation each) on every
// initialisation and at the end, twice per hash. The hash of a presented key is on every
// verification, so the two keyed SHA-256 states are computed once, when the hasher is made, and
// each hash starts from a copy of them: plain structs (SHA256_CTX), copied on the stack,
// nothing allocated, nothing shared between threads. SHA256_CTX is OpenSSL's low-level
// interface, deprecated (not removed) in 3.0 in favour of EVP; it runs the same SHA-256 code.
// The states are as good as the secret for forging hashes: both are cleansed when the hasher
// goes, and every working copy after use. crypto_test.cpp checks RFC 4231's vectors and the
// equality with OpenSSL's own HMAC.
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "infra/crypto/crypto.hpp"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3.0 (still supported); used here and by
// sha256() in crypto.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace keyledger::infra {
namespace {

constexpr std::size_t block_size = 64;  // SHA-256's block, HMAC's B

struct hmac_template {
  SHA256_CTX inner;  ///< after absorbing K ^ ipad
  SHA256_CTX outer;  ///< after absorbing K ^ opad
  ~hmac_template() { OPENSSL_cleanse(this, sizeof *this); }
};

/// Erases a working copy of key material however the scope is left.
template <class T>
struct cleansed {
  T value;
  ~cleansed() { OPENSSL_cleanse(&value, sizeof value); }
};

}  // namespace

hmac_key_hasher::hmac_key_hasher(secret server_secret) : template_ctx_(nullptr) {
  auto t = std::make_unique<hmac_template>();
  // K: the secret, or its SHA-256 when longer than a block; zero-padded to a block.
  cleansed<std::array<unsigned char, block_size>> key{};
  const std::string_view k = server_secret.empty() ? std::string_view() : server_secret.reveal();
  if (k.size() > block_size) {
    SHA256(reinterpret_cast<const unsigned char*>(k.data()), k.size(), key.value.data());
  } else if (!k.empty()) {
    std::copy(k.begin(), k.end(), key.value.begin());
  }
  cleansed<std::array<unsigned char, block_size>> pad{};
  for (std::size_t i = 0; i < block_size; ++i) pad.value[i] = key.value[i] ^ 0x36;
  SHA256_Init(&t->inner);
  SHA256_Update(&t->inner, pad.value.data(), pad.value.size());
  for (std::size_t i = 0; i < block_size; ++i) pad.value[i] = key.value[i] ^ 0x5c;
  SHA256_Init(&t->outer);
  SHA256_Update(&t->outer, pad.value.data(), pad.value.size());
  template_ctx_ = t.release();
}

hmac_key_hasher::~hmac_key_hasher() { delete static_cast<hmac_template*>(template_ctx_); }

sha256_digest hmac_key_hasher::hash(std::string_view data) const {
  // The template is only read: any number of threads hash at once.
  const auto& t = *static_cast<const hmac_template*>(template_ctx_);
  cleansed<SHA256_CTX> ctx{t.inner};
  cleansed<std::array<unsigned char, SHA256_DIGEST_LENGTH>> inner{};
  SHA256_Update(&ctx.value, data.data(), data.size());
  SHA256_Final(inner.value.data(), &ctx.value);
  ctx.value = t.outer;
  SHA256_Update(&ctx.value, inner.value.data(), inner.value.size());
  sha256_digest out{};
  static_assert(sizeof(out) == SHA256_DIGEST_LENGTH);
  SHA256_Final(out.data(), &ctx.value);
  return out;
}

std::string hmac_key_hasher::hash_hex(std::string_view data) const { return to_hex(hash(data)); }

}  // namespace keyledger::infra

#pragma GCC diagnostic pop
