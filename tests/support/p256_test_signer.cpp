#include "tests/support/p256_test_signer.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>

#include "domain/encoding.hpp"

namespace keyledger::test_support {

struct p256_test_signer::impl {
  EVP_PKEY* key = nullptr;
  ~impl() { EVP_PKEY_free(key); }
};

p256_test_signer::p256_test_signer() : impl_(std::make_unique<impl>()) {
  impl_->key = EVP_EC_gen("P-256");
  if (impl_->key == nullptr) throw std::runtime_error("EVP_EC_gen(P-256) failed");
}

p256_test_signer::~p256_test_signer() = default;
p256_test_signer::p256_test_signer(p256_test_signer&&) noexcept = default;
p256_test_signer& p256_test_signer::operator=(p256_test_signer&&) noexcept = default;

std::string p256_test_signer::public_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio, impl_->key) != 1) {
    BIO_free(bio);
    throw std::runtime_error("PEM_write_bio_PUBKEY failed");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return pem;
}

std::string p256_test_signer::sign(std::string_view message) const {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  std::size_t length = 0;
  std::string der;
  bool ok =
      md != nullptr &&
      EVP_DigestSignInit_ex(md, nullptr, "SHA256", nullptr, nullptr, impl_->key, nullptr) == 1 &&
      EVP_DigestSign(md, nullptr, &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) == 1;
  if (ok) {
    der.resize(length);
    ok =
        EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &length,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    der.resize(length);
  }
  EVP_MD_CTX_free(md);
  if (!ok) throw std::runtime_error("EVP_DigestSign failed");
  return der;
}

std::string p256_test_signer::sign_base64(std::string_view message) const {
  return domain::base64_encode(sign(message));
}

}  // namespace keyledger::test_support
