#include "infra/crypto/secret.hpp"

#include <openssl/crypto.h>

#include <utility>

namespace keyledger::infra {

namespace {

// Zeroes every byte the string owns, including the unused tail of its capacity (a short string
// lives in the object itself and a moved-from one keeps its old bytes there), then empties it.
// resize() up to capacity() never reallocates, so no copy of the bytes is left behind.
void cleanse_string(std::string& s) noexcept {
  s.resize(s.capacity());
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

secret::secret(std::string bytes) noexcept : bytes_(std::move(bytes)) {
  // A short argument was copied rather than stolen: wipe what the parameter still holds.
  cleanse_string(bytes);
}

secret::~secret() { wipe(); }

secret::secret(secret&& other) noexcept : bytes_(std::move(other.bytes_)) { other.wipe(); }

secret& secret::operator=(secret&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    other.wipe();
  }
  return *this;
}

void secret::wipe() noexcept { cleanse_string(bytes_); }

bool secret::equals(std::string_view other) const noexcept {
  return constant_time_equal(bytes_, other);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Lengths are public (a key's length is fixed by its format); only the content is compared in
  // constant time.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace keyledger::infra
