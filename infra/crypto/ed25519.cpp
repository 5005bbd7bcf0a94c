#include "infra/crypto/ed25519.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <new>
#include <string>
#include <utility>

#include "infra/core/error.hpp"

namespace keyledger::infra {

namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

constexpr const char* ed25519_name = "ED25519";

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

[[noreturn]] void openssl_failure(const char* what) {
  ERR_clear_error();
  throw error(errc::internal, std::string("OpenSSL: ") + what);
}

// OpenSSL leaves the reasons of a refusal on the thread's error queue; a refused input is an
// answer here, not an error to report later.
template <class T>
T refused(T value) {
  ERR_clear_error();
  return value;
}

}  // namespace

struct ed25519_public_key::impl {
  bytes_type bytes{};
  pkey_ptr pkey;
};

struct ed25519_key::impl {
  pkey_ptr pkey;  // the key pair
  ed25519_public_key public_key;
};

// Builds the key types from OpenSSL handles (friend of both).
struct ed25519_access {
  // A public-only key: what verifies never holds the private half.
  static std::optional<ed25519_public_key> public_key(std::span<const std::uint8_t> bytes) {
    if (bytes.size() != ed25519_public_key_bytes) return std::nullopt;
    pkey_ptr pkey(
        EVP_PKEY_new_raw_public_key_ex(nullptr, ed25519_name, nullptr, bytes.data(), bytes.size()));
    if (!pkey) return refused(std::optional<ed25519_public_key>());
    auto p = std::make_shared<ed25519_public_key::impl>();
    std::copy(bytes.begin(), bytes.end(), p->bytes.begin());
    p->pkey = std::move(pkey);
    return ed25519_public_key(std::move(p));
  }

  static ed25519_key key_pair(pkey_ptr pkey) {
    ed25519_public_key::bytes_type raw{};
    std::size_t length = raw.size();
    if (EVP_PKEY_get_raw_public_key(pkey.get(), raw.data(), &length) != 1 || length != raw.size()) {
      openssl_failure("cannot read the Ed25519 public key");
    }
    auto pub = public_key(raw);
    if (!pub) openssl_failure("the key's own Ed25519 public key was refused");
    return ed25519_key(
        std::make_unique<ed25519_key::impl>(ed25519_key::impl{std::move(pkey), std::move(*pub)}));
  }
};

// ---- public key ------------------------------------------------------------------------------

std::optional<ed25519_public_key> ed25519_public_key::from_bytes(
    std::span<const std::uint8_t> bytes) {
  return ed25519_access::public_key(bytes);
}

const ed25519_public_key::bytes_type& ed25519_public_key::bytes() const noexcept {
  return impl_->bytes;
}

bool ed25519_public_key::verify(std::string_view message,
                                std::span<const std::uint8_t> signature) const {
  if (signature.size() != ed25519_signature_bytes) return false;
  const md_ctx_ptr md(EVP_MD_CTX_new());
  if (!md) throw std::bad_alloc();
  // Ed25519 hashes internally (PureEdDSA): no digest is named.
  if (EVP_DigestVerifyInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, impl_->pkey.get(),
                              nullptr) != 1) {
    openssl_failure("Ed25519 verification could not start");
  }
  const int ok = EVP_DigestVerify(md.get(), signature.data(), signature.size(), bytes_of(message),
                                  message.size());
  // 0 is a wrong signature, a negative value one OpenSSL could not even parse: both refusals.
  return ok == 1 ? true : refused(false);
}

bool ed25519_public_key::operator==(const ed25519_public_key& other) const noexcept {
  return impl_->bytes == other.impl_->bytes;
}

// ---- key pair --------------------------------------------------------------------------------

ed25519_key ed25519_key::generate() {
  // OpenSSL's default DRBG is the CSPRNG behind the seed.
  pkey_ptr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, ed25519_name));
  if (!pkey) openssl_failure("Ed25519 key generation failed");
  return ed25519_access::key_pair(std::move(pkey));
}

std::optional<ed25519_key> ed25519_key::from_seed(const secret& seed) {
  if (seed.size() != ed25519_seed_bytes) return std::nullopt;
  pkey_ptr pkey(EVP_PKEY_new_raw_private_key_ex(nullptr, ed25519_name, nullptr,
                                                bytes_of(seed.reveal()), seed.size()));
  if (!pkey) return refused(std::optional<ed25519_key>());
  return ed25519_access::key_pair(std::move(pkey));
}

secret ed25519_key::seed() const {
  std::string raw(ed25519_seed_bytes, '\0');
  std::size_t length = raw.size();
  if (EVP_PKEY_get_raw_private_key(impl_->pkey.get(), reinterpret_cast<unsigned char*>(raw.data()),
                                   &length) != 1 ||
      length != ed25519_seed_bytes) {
    OPENSSL_cleanse(raw.data(), raw.size());
    openssl_failure("cannot read the Ed25519 private key");
  }
  // secret takes the string's buffer and wipes whatever copy its constructor leaves behind.
  return secret(std::move(raw));
}

const ed25519_public_key& ed25519_key::public_key() const noexcept { return impl_->public_key; }

ed25519_signature ed25519_key::sign(std::string_view message) const {
  const md_ctx_ptr md(EVP_MD_CTX_new());
  if (!md) throw std::bad_alloc();
  if (EVP_DigestSignInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, impl_->pkey.get(),
                            nullptr) != 1) {
    openssl_failure("Ed25519 signing could not start");
  }
  ed25519_signature out{};
  std::size_t length = out.size();
  if (EVP_DigestSign(md.get(), out.data(), &length, bytes_of(message), message.size()) != 1 ||
      length != out.size()) {
    openssl_failure("Ed25519 signing failed");
  }
  return out;
}

ed25519_key::ed25519_key(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
ed25519_key::~ed25519_key() = default;
ed25519_key::ed25519_key(ed25519_key&&) noexcept = default;
ed25519_key& ed25519_key::operator=(ed25519_key&&) noexcept = default;

}  // namespace keyledger::infra
