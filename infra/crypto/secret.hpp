#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keyledger::infra {

/// Holds secret bytes (server secret, an API key in flight). No operator<<, no implicit
/// conversion, not copyable; the bytes are wiped (OPENSSL_cleanse) on destruction and move.
class secret {
 public:
  secret() = default;
  explicit secret(std::string bytes) noexcept;
  ~secret();
  secret(secret&& other) noexcept;
  secret& operator=(secret&& other) noexcept;
  secret(const secret&) = delete;
  secret& operator=(const secret&) = delete;

  /// The raw bytes, for the one place that must use them (HMAC key, the create response).
  std::string_view reveal() const noexcept { return bytes_; }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }

  /// Constant-time comparison (CRYPTO_memcmp); lengths are not secret.
  bool equals(std::string_view other) const noexcept;

 private:
  void wipe() noexcept;
  std::string bytes_;
};

/// Constant-time equality of two byte strings of possibly different length.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace keyledger::infra
