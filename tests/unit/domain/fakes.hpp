#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "domain/types.hpp"
#include "tests/support/manual_clock.hpp"

namespace keyledger::domain::testing {

/// Stands still at the instant it is given (the one test clock).
using fixed_clock = test_support::manual_clock;

/// A deterministic random_source (splitmix64): the same seed gives the same bytes.
class seeded_random final : public random_source {
 public:
  explicit seeded_random(std::uint64_t seed) : state_(seed) {}

  void fill(std::span<std::uint8_t> out) override {
    std::lock_guard lock(mutex_);
    for (auto& b : out) {
      if (available_ == 0) {
        word_ = next();
        available_ = 8;
      }
      b = static_cast<std::uint8_t>(word_);
      word_ >>= 8;
      --available_;
    }
  }

 private:
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  std::mutex mutex_;
  std::uint64_t state_;
  std::uint64_t word_ = 0;
  int available_ = 0;
};

/// Hands out a fixed byte sequence, cycling, so tests can see exactly which bytes are used.
class scripted_random final : public random_source {
 public:
  explicit scripted_random(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}

  void fill(std::span<std::uint8_t> out) override {
    std::lock_guard lock(mutex_);
    for (auto& b : out) {
      b = bytes_[next_ % bytes_.size()];
      ++next_;
    }
  }

 private:
  std::mutex mutex_;
  std::vector<std::uint8_t> bytes_;
  std::size_t next_ = 0;
};

/// 2026-11-23T19:36:02.123456Z, the instant most tests run "at".
inline timestamp fixed_instant() {
  using namespace std::chrono;
  return timestamp{sys_days{year{2026} / 11 / 23}} + hours{19} + minutes{36} + seconds{2} +
         microseconds{123456};
}

}  // namespace keyledger::domain::testing
