#pragma once

// Zeroing storage that is kept for reuse (pools of bodies, requests, documents): it may have
// held a presented key, an Authorization header or a key shown once. explicit_bzero, because a
// plain memset or fill before the storage is reused or destroyed may be removed by the compiler
// as a dead store; the whole capacity, because a shorter later value leaves the tail of a longer
// earlier one. The same guarantee as infra/crypto's secret (OPENSSL_cleanse), without OpenSSL
// in infra/core.

#include <string.h>  // explicit_bzero (glibc)

#include <cstddef>
#include <string>

namespace keyledger::infra {

/// Zeroes `size` bytes at `p` in a way the compiler keeps.
inline void wipe_bytes(void* p, std::size_t size) noexcept {
  if (p != nullptr && size > 0) ::explicit_bzero(p, size);
}

/// Zeroes all of `s`'s storage (its capacity, not only its size) and empties it; the capacity
/// stays.
inline void wipe_storage(std::string& s) noexcept {
  s.resize(s.capacity());  // no allocation: within the capacity
  wipe_bytes(s.data(), s.size());
  s.clear();
}

}  // namespace keyledger::infra
