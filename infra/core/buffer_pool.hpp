#pragma once

// Strings whose capacity is kept for reuse on the same thread. An answer's body is built in
// one (json_writer takes it) and given back once the server has written it, so that a steady
// stream of answers on an I/O thread allocates no body. Bounded: a thread keeps at most
// `kept` strings of at most `largest_kept` bytes of capacity; anything else is freed as usual.
// A buffer is zeroed when given back (an answer may have shown a secret once) and handed out
// empty.

#include <cstddef>
#include <string>

namespace keyledger::infra {

struct buffer_pool {
  static constexpr std::size_t kept = 32;
  static constexpr std::size_t largest_kept = 16 * 1024;

  /// An empty string with at least `capacity` reserved: this thread's last one given back, or a
  /// new one.
  static std::string take(std::size_t capacity);
  /// Keeps `buffer`'s capacity for this thread's next take() (or frees it when the thread keeps
  /// enough already, or it is too large).
  static void give_back(std::string&& buffer) noexcept;
};

}  // namespace keyledger::infra
