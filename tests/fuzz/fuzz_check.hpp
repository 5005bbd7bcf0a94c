#pragma once

// What every fuzz target shares: the input as a string_view, and an invariant check that
// aborts (libFuzzer reports an abort as a crash and keeps the input).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace keyledger::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits "<head>\n<rest>" at the first newline (no newline: all of it is the head).
inline std::pair<std::string_view, std::string_view> split_line(std::string_view text) noexcept {
  const auto nl = text.find('\n');
  if (nl == std::string_view::npos) return {text, {}};
  return {text.substr(0, nl), text.substr(nl + 1)};
}

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
  std::abort();
}

}  // namespace keyledger::fuzz

/// Aborts when `cond` is false: an invariant of the code under test does not hold.
#define FUZZ_CHECK(cond)                                                         \
  do {                                                                           \
    if (!(cond)) ::keyledger::fuzz::invariant_failed(#cond, __FILE__, __LINE__); \
  } while (false)
