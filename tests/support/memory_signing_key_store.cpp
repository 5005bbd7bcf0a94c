#include "tests/support/memory_signing_key_store.hpp"

#include "domain/oauth/signing_keys.hpp"
#include "infra/core/error.hpp"

namespace keyledger::test_support {

void memory_signing_key_store::put(std::string_view kid, std::string_view sealed) {
  if (!domain::oauth::valid_signing_key_id(kid) || sealed.empty()) {
    throw infra::error(infra::errc::bad_request, "signing key put: kid malformed or no bytes");
  }
  std::lock_guard lock(mutex_);
  if (fail_puts_) throw infra::error(infra::errc::unavailable, "signing key put: unavailable");
  const auto [it, inserted] = rows_.try_emplace(std::string(kid), std::string(sealed));
  if (!inserted && it->second != sealed) {
    throw infra::error(infra::errc::conflict, "signing key put: another key is stored");
  }
}

std::optional<std::string> memory_signing_key_store::get(std::string_view kid) {
  std::lock_guard lock(mutex_);
  ++gets_;
  const auto it = rows_.find(kid);
  if (it == rows_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, std::string, std::less<>> memory_signing_key_store::rows() const {
  std::lock_guard lock(mutex_);
  return rows_;
}

std::size_t memory_signing_key_store::gets() const {
  std::lock_guard lock(mutex_);
  return gets_;
}

void memory_signing_key_store::fail_puts(bool fail) {
  std::lock_guard lock(mutex_);
  fail_puts_ = fail;
}

}  // namespace keyledger::test_support
