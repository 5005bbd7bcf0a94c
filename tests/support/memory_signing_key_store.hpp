#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "infra/core/signing_key_store.hpp"

namespace keyledger::test_support {

/// In-memory fake of infra::signing_key_store with pg_signing_key_store's semantics: a kid is
/// written once (the same bytes again are a repeat, other bytes errc::conflict), a malformed kid
/// or empty bytes are errc::bad_request. Unlike the real store one instance may be shared by
/// threads (every member locks), standing in for the shared database.
class memory_signing_key_store final : public infra::signing_key_store {
 public:
  void put(std::string_view kid, std::string_view sealed) override;
  std::optional<std::string> get(std::string_view kid) override;

  /// Stored rows, for tests.
  std::map<std::string, std::string, std::less<>> rows() const;
  /// How many get() calls were made.
  std::size_t gets() const;
  /// Makes every following put() throw errc::unavailable (false: back to normal).
  void fail_puts(bool fail);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> rows_;
  std::size_t gets_ = 0;
  bool fail_puts_ = false;
};

/// Forwards to a shared store, for code that wants to own one (the ring opens its own).
class signing_key_store_ref final : public infra::signing_key_store {
 public:
  explicit signing_key_store_ref(infra::signing_key_store& inner) : inner_(inner) {}
  void put(std::string_view kid, std::string_view sealed) override { inner_.put(kid, sealed); }
  std::optional<std::string> get(std::string_view kid) override { return inner_.get(kid); }

 private:
  infra::signing_key_store& inner_;
};

}  // namespace keyledger::test_support
