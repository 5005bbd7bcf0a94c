#include "infra/crypto/aead.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "infra/core/error.hpp"

namespace keyledger::infra {

namespace {

constexpr std::size_t key_bytes = 32;
constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;
// HKDF-SHA256 yields at most 255 blocks of 32 bytes (RFC 5869 section 2.3).
constexpr std::size_t max_hkdf_bytes = 255 * 32;

struct kdf_deleter {
  void operator()(EVP_KDF* k) const noexcept { EVP_KDF_free(k); }
};
struct kdf_ctx_deleter {
  void operator()(EVP_KDF_CTX* c) const noexcept { EVP_KDF_CTX_free(c); }
};
struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

// Fetched once for the process (explicit fetches skip OpenSSL 3's per-call name lookup).
const EVP_CIPHER* aes_256_gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (cipher == nullptr) throw error(errc::internal, "OpenSSL: AES-256-GCM is not available");
  return cipher;
}

unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// EVP lengths are int: every piece must fit (a response is far smaller; this is a guard).
bool fits_int(std::size_t n) noexcept { return n <= static_cast<std::size_t>(INT_MAX) - 64; }

// Wipes and frees plaintext that must not be returned (authentication failed).
void wipe(std::string& s) noexcept {
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

secret derive_key(std::string_view server_secret, std::string_view info, std::size_t length) {
  if (length == 0 || length > max_hkdf_bytes) {
    throw error(errc::internal, "derive_key: length must be 1.." + std::to_string(max_hkdf_bytes));
  }
  if (server_secret.empty()) throw error(errc::internal, "derive_key: empty input key");
  const std::unique_ptr<EVP_KDF, kdf_deleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) throw error(errc::internal, "OpenSSL: HKDF is not available");
  const std::unique_ptr<EVP_KDF_CTX, kdf_ctx_deleter> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) throw std::bad_alloc();

  // No salt parameter: RFC 5869 then uses HashLen zero bytes, the same as an empty salt.
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(server_secret.data()),
                                        server_secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  std::string out(length, '\0');
  if (EVP_KDF_derive(ctx.get(), bytes(out), out.size(), params) != 1) {
    wipe(out);
    throw error(errc::internal, "derive_key: HKDF failed");
  }
  return secret(std::move(out));
}

response_sealer::response_sealer(secret key) : key_(std::move(key)) {
  if (key_.size() != key_bytes) {
    throw error(errc::internal, "response_sealer: the key must be 32 bytes");
  }
}

std::string response_sealer::seal(std::string_view plaintext,
                                  std::string_view associated_data) const {
  if (!fits_int(plaintext.size()) || !fits_int(associated_data.size())) {
    throw error(errc::internal, "response_sealer: input too large");
  }
  std::string out(nonce_bytes + plaintext.size() + tag_bytes, '\0');
  unsigned char* nonce = bytes(out);
  unsigned char* body = nonce + nonce_bytes;
  // A random 96-bit nonce per message (NIST SP 800-38D 8.2.2): fine far beyond the number of
  // responses one key will ever seal.
  if (RAND_bytes(nonce, static_cast<int>(nonce_bytes)) != 1) {
    throw error(errc::internal, "response_sealer: CSPRNG failure");
  }
  const cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::bad_alloc();
  int n = 0;
  bool ok =
      EVP_EncryptInit_ex2(ctx.get(), aes_256_gcm(), bytes(key_.reveal()), nonce, nullptr) == 1;
  ok = ok && (associated_data.empty() ||
              EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(associated_data),
                                static_cast<int>(associated_data.size())) == 1);
  int written = 0;
  ok = ok && (plaintext.empty() || EVP_EncryptUpdate(ctx.get(), body, &written, bytes(plaintext),
                                                     static_cast<int>(plaintext.size())) == 1);
  int final_bytes = 0;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), body + written, &final_bytes) == 1;
  ok = ok && static_cast<std::size_t>(written + final_bytes) == plaintext.size();
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                                 body + plaintext.size()) == 1;
  if (!ok) throw error(errc::internal, "response_sealer: encryption failed");
  return out;
}

std::optional<std::string> response_sealer::open(std::string_view sealed,
                                                 std::string_view associated_data) const {
  if (sealed.size() < nonce_bytes + tag_bytes || !fits_int(sealed.size()) ||
      !fits_int(associated_data.size())) {
    return std::nullopt;
  }
  const unsigned char* nonce = bytes(sealed);
  const unsigned char* body = nonce + nonce_bytes;
  const std::size_t body_size = sealed.size() - nonce_bytes - tag_bytes;
  // OpenSSL takes the expected tag through a non-const pointer; it only reads it.
  std::string tag(sealed.substr(nonce_bytes + body_size));

  const cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::bad_alloc();
  std::string plaintext(body_size, '\0');
  int n = 0;
  int written = 0;
  int final_bytes = 0;
  bool ok =
      EVP_DecryptInit_ex2(ctx.get(), aes_256_gcm(), bytes(key_.reveal()), nonce, nullptr) == 1;
  ok = ok && (associated_data.empty() ||
              EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(associated_data),
                                static_cast<int>(associated_data.size())) == 1);
  ok = ok && (body_size == 0 || EVP_DecryptUpdate(ctx.get(), bytes(plaintext), &written, body,
                                                  static_cast<int>(body_size)) == 1);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                                 tag.data()) == 1;
  // The tag is checked here: on a mismatch nothing decrypted may be used.
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), bytes(plaintext) + written, &final_bytes) == 1;
  ok = ok && static_cast<std::size_t>(written + final_bytes) == body_size;
  if (!ok) {
    wipe(plaintext);
    return std::nullopt;
  }
  return plaintext;
}

}  // namespace keyledger::infra
